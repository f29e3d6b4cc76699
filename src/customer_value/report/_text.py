"""Words and number formats of the report in English and Chinese."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from customer_value.errors import InvalidDataError

LANGUAGES = ("en", "zh")

_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥", "JPY": "¥", "RMB": "¥"}

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Customer base report", "zh": "客户群分析报告"},
    "generated": {
        "en": "Generated {when} by customer_value {version}",
        "zh": "由 customer_value {version} 于 {when} 生成",
    },
    "contents": {"en": "Contents", "zh": "目录"},
    "skipped": {"en": "Section skipped: {reason}", "zh": "本节略过：{reason}"},
    # section headings (the browser test looks for these)
    "data": {"en": "The data", "zh": "数据概况"},
    "model": {"en": "Purchase model", "zh": "购买模型"},
    "value": {"en": "Customer value", "zh": "客户价值"},
    "segments": {"en": "Segments", "zh": "客户细分"},
    "risk": {"en": "Churn risk and retention", "zh": "流失风险与留存"},
    "surveys": {"en": "Surveys", "zh": "调研"},
    "loyalty": {"en": "Loyalty programme", "zh": "会员积分计划"},
    # data
    "customers": {"en": "Customers", "zh": "客户数"},
    "transactions": {"en": "Transactions", "zh": "交易笔数"},
    "date_range": {"en": "Date range", "zh": "日期范围"},
    "revenue": {"en": "Revenue", "zh": "收入"},
    "repeat_rate": {
        "en": "Repeat customers (bought on two or more days)",
        "zh": "复购客户占比（两天及以上购买）",
    },
    "quality": {"en": "Data quality", "zh": "数据质量"},
    "no_rows_dropped": {"en": "No rows were dropped.", "zh": "没有删除任何行。"},
    "dropped_missing_id": {
        "en": "{n} rows without a customer id were dropped",
        "zh": "删除了 {n} 行缺少客户编号的记录",
    },
    "dropped_bad_date": {
        "en": "{n} rows with an unreadable date were dropped (first: row {row}, value {value})",
        "zh": "删除了 {n} 行日期无法识别的记录（首个：第 {row} 行，值 {value}）",
    },
    "dropped_bad_amount": {
        "en": "{n} rows with a missing or non-numeric amount were dropped (first: row {row}, value {value})",
        "zh": "删除了 {n} 行金额缺失或非数字的记录（首个：第 {row} 行，值 {value}）",
    },
    "dropped_negative": {
        "en": "{n} rows with a negative amount (returns, refunds) were dropped",
        "zh": "删除了 {n} 行金额为负的记录（退货、退款）",
    },
    "duplicates": {
        "en": "{n} rows repeat another row exactly; they were kept",
        "zh": "{n} 行与其他行完全相同，已保留",
    },
    "no_amount": {"en": "no amount column was given", "zh": "未提供金额列"},
    # model
    "chosen_model": {"en": "Chosen model", "zh": "选用模型"},
    "criterion": {
        "en": "The candidates were fitted on the calibration period and compared on the holdout period (customer_value.clv.compare_models); the model with the smallest mean absolute difference between each customer's predicted and actual holdout purchases was chosen (ties: the smaller BIC) and refitted on all the data. In the table, MAE and RMSE are purchases per customer, the log-likelihood is of the calibration data, and the last two columns are total holdout purchases.",
        "zh": "各候选模型在校准期拟合，并在验证期比较（customer_value.clv.compare_models）；选用每位客户验证期预测与实际购买次数之差的平均绝对值最小的模型（相同时取 BIC 较小者），再用全部数据重新拟合。表中 MAE 与 RMSE 以每位客户购买次数计，对数似然基于校准期数据，最后两列为验证期购买总数。",
    },
    "comparison": {"en": "Candidate models", "zh": "候选模型"},
    "model_col": {"en": "Model", "zh": "模型"},
    "n_params": {"en": "Parameters", "zh": "参数个数"},
    "aic": {"en": "AIC", "zh": "AIC"},
    "bic": {"en": "BIC", "zh": "BIC"},
    "holdout_mae": {"en": "Holdout MAE", "zh": "验证期 MAE"},
    "holdout_rmse": {"en": "Holdout RMSE", "zh": "验证期 RMSE"},
    "predicted_total": {"en": "Predicted holdout", "zh": "预测验证期购买"},
    "actual_total": {"en": "Actual holdout", "zh": "实际验证期购买"},
    "log_likelihood": {"en": "Log-likelihood", "zh": "对数似然"},
    "calibration_period": {
        "en": "Calibration period: {start} to {end}; holdout: to {stop}.",
        "zh": "校准期：{start} 至 {end}；验证期：至 {stop}。",
    },
    "buys_every": {
        "en": "A typical customer buys about every {weeks} weeks while active.",
        "zh": "活跃期间，典型客户大约每 {weeks} 周购买一次。",
    },
    "dropout_bg": {
        "en": "After each repeat purchase a customer becomes inactive with probability {p}.",
        "zh": "每次复购后，客户有 {p} 的概率转为不活跃。",
    },
    "lifetime_pareto": {
        "en": "Half of the customers stay active for at least {weeks} weeks.",
        "zh": "一半客户的活跃期至少为 {weeks} 周。",
    },
    "fit_failed": {
        "en": "{model} could not be fitted: {reason}",
        "zh": "{model} 无法拟合：{reason}",
    },
    "too_short": {
        "en": "the data cover less than 8 weeks, too little for a calibration and a holdout period",
        "zh": "数据覆盖不足 8 周，无法划分校准期和验证期",
    },
    "no_model": {"en": "no purchase model could be fitted", "zh": "没有可拟合的购买模型"},
    "no_repeat": {
        "en": "fewer than 10 customers bought more than once",
        "zh": "复购客户少于 10 位",
    },
    # value
    "assumptions": {
        "en": "Assumptions: horizon {horizon} weeks, annual discount rate {rate}, margin {margin}.",
        "zh": "假设：预测期 {horizon} 周，年折现率 {rate}，利润率 {margin}。",
    },
    "total_clv": {"en": "Total customer value", "zh": "客户总价值"},
    "mean_clv": {"en": "Mean value per customer", "zh": "每位客户平均价值"},
    "top10": {"en": "Share of value in the top 10% of customers", "zh": "前 10% 客户的价值占比"},
    "top20": {"en": "Share of value in the top 20% of customers", "zh": "前 20% 客户的价值占比"},
    "top_customers": {"en": "Top customers by value", "zh": "价值最高的客户"},
    "customer": {"en": "Customer", "zh": "客户"},
    "frequency": {"en": "Repeat purchases", "zh": "复购次数"},
    "p_alive": {"en": "P(active)", "zh": "活跃概率"},
    "clv": {"en": "Value", "zh": "价值"},
    "zero_spend": {
        "en": "{n} repeat customers whose purchases all had an amount of 0 are valued at 0",
        "zh": "{n} 位复购客户的购买金额均为 0，其价值计为 0",
    },
    "no_spend_model": {
        "en": "the spend model could not be fitted: {reason}",
        "zh": "消费金额模型无法拟合：{reason}",
    },
    # segments
    "segment": {"en": "Segment", "zh": "细分群体"},
    "share_customers": {"en": "Share of customers", "zh": "客户占比"},
    "share_revenue": {"en": "Share of revenue", "zh": "收入占比"},
    "matrix": {"en": "Value × loyalty", "zh": "价值 × 忠诚度"},
    "quadrant": {"en": "Quadrant", "zh": "象限"},
    "matrix_note": {
        "en": "Value is a customer's total spend, loyalty the number of purchases; the value threshold is the median, the loyalty threshold two purchases (or the median, if higher).",
        "zh": "价值为客户消费总额，忠诚度为购买次数；价值阈值为中位数，忠诚度阈值为两次购买（若中位数更高则取中位数）。",
    },
    # risk
    "risk_level": {"en": "Risk level", "zh": "风险等级"},
    "value_at_risk": {"en": "Value at risk", "zh": "风险价值"},
    "risk_note": {
        "en": "Churn probability is 1 − P(active) under the chosen model; value at risk is the expected spend over the horizon that is lost if the customer has churned.",
        "zh": "流失概率 = 1 − 活跃概率（所选模型）；风险价值为客户流失时损失的预测期预期消费。",
    },
    "cohorts": {"en": "Cohort retention", "zh": "同期群留存"},
    "stages": {"en": "Lifecycle stages and next actions", "zh": "生命周期阶段与下一步行动"},
    "stage": {"en": "Stage", "zh": "阶段"},
    "goal": {"en": "Goal", "zh": "目标"},
    "actions": {"en": "Next actions", "zh": "下一步行动"},
    # surveys and loyalty
    "nps": {"en": "Net Promoter Score", "zh": "净推荐值"},
    "nps_value": {
        "en": "NPS {score} (95% interval {low} to {high}), {n} answers",
        "zh": "NPS {score}（95% 区间 {low} 至 {high}），{n} 份回答",
    },
    "nps_trend": {"en": "NPS by month", "zh": "各月 NPS"},
    "month": {"en": "Month", "zh": "月份"},
    "kano": {"en": "Kano categories", "zh": "Kano 分类"},
    "feature": {"en": "Feature", "zh": "功能"},
    "category": {"en": "Category", "zh": "类别"},
    "no_surveys": {"en": "no survey answers were given", "zh": "未提供调研数据"},
    "no_ledger": {"en": "no loyalty ledger was given", "zh": "未提供积分账本"},
    "outstanding": {"en": "Outstanding points", "zh": "未兑换积分"},
    "breakage": {
        "en": "Breakage rate (share of issued points that expired)",
        "zh": "积分失效率（已发放积分中过期的比例）",
    },
    "liability": {
        "en": "Liability (value of points expected to be redeemed)",
        "zh": "积分负债（预计兑换积分的价值）",
    },
    "count": {"en": "Customers", "zh": "客户数"},
    "share": {"en": "Share", "zh": "占比"},
}


def check_language(language: Any) -> str:
    """``"en"`` or ``"zh"``; anything else is an :class:`InvalidDataError`."""
    if language not in LANGUAGES:
        raise InvalidDataError(f"language must be one of {LANGUAGES!r}, got {language!r}")
    return str(language)


class Words:
    """Text and number formatting for one language and currency."""

    def __init__(self, language: str, currency: str) -> None:
        self.language = check_language(language)
        self.currency = currency.upper()
        self.symbol = _CURRENCY_SYMBOLS.get(self.currency, "")

    def __call__(self, key: str, **values: Any) -> str:
        return TEXT[key][self.language].format(**values)

    def integer(self, value: float) -> str:
        return f"{round(value):,}"

    def number(self, value: float, digits: int = 2) -> str:
        if not math.isfinite(value):
            return "–"
        return f"{value:,.{digits}f}"

    def percent(self, value: float, digits: int = 1) -> str:
        if not math.isfinite(value):
            return "–"
        return f"{100.0 * value:.{digits}f}%"

    def money(self, value: float, digits: int = 2) -> str:
        if not math.isfinite(value):
            return "–"
        amount = f"{abs(value):,.{digits}f}"
        sign = "-" if value < 0 else ""
        if self.symbol:
            return f"{sign}{self.symbol}{amount}"
        return f"{sign}{amount} {self.currency}"

    def date(self, value: Any) -> str:
        stamp = pd.Timestamp(value)
        if self.language == "zh":
            return f"{stamp.year}年{stamp.month}月{stamp.day}日"
        return f"{stamp.day} {stamp.strftime('%b')} {stamp.year}"
