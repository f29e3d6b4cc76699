"""Keeping customers: churn risk, evaluation, survival, cohorts, KPIs, lifecycle, contact caps.

``churn_risk`` turns a fitted customer-base model from :mod:`customer_value.clv` (and a
spend model) into churn probabilities, risk levels and value at risk; ``recency_risk`` is
the rule-based alternative. ``evaluate_churn`` scores a prediction, ``kaplan_meier`` and
``cohort_retention`` describe retention over time, the KPI functions give the standard
CRM rates, ``lifecycle_stage`` and ``playbook`` say what to do with each customer and
``cap_contacts`` keeps a campaign plan within contact-frequency caps.
"""

from customer_value.churn._cohorts import cohort_retention
from customer_value.churn._contacts import ContactPlan, cap_contacts
from customer_value.churn._evaluation import ChurnEvaluation, evaluate_churn
from customer_value.churn._kpi import (
    average_order_value,
    cac_payback_periods,
    churn_rate,
    kpi_table,
    ltv_cac_ratio,
    purchase_frequency,
    referral_share,
    repeat_purchase_rate,
    retention_rate,
)
from customer_value.churn._lifecycle import STAGES, lifecycle_stage, playbook
from customer_value.churn._risk import (
    RISK_LABELS_ZH,
    AliveModel,
    SpendModel,
    churn_risk,
    recency_risk,
)
from customer_value.churn._survival import kaplan_meier

__all__ = [
    "RISK_LABELS_ZH",
    "STAGES",
    "AliveModel",
    "ChurnEvaluation",
    "ContactPlan",
    "SpendModel",
    "average_order_value",
    "cac_payback_periods",
    "cap_contacts",
    "churn_rate",
    "churn_risk",
    "cohort_retention",
    "evaluate_churn",
    "kaplan_meier",
    "kpi_table",
    "lifecycle_stage",
    "ltv_cac_ratio",
    "playbook",
    "purchase_frequency",
    "recency_risk",
    "referral_share",
    "repeat_purchase_rate",
    "retention_rate",
]
