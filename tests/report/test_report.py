"""customer_value.report: the page's content, skips, escaping, languages; the analysis."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from customer_value.errors import InvalidDataError
from customer_value.report import (
    SECTIONS,
    analyze_customers,
    choose_model,
    clean_transactions,
    customer_report,
    holdout_error,
)
from customer_value.report._text import TEXT

HEADINGS_EN = [TEXT[key]["en"] for key in SECTIONS]


def test_every_section_heading_in_page_order(cdnow_report):
    _, html = cdnow_report
    found = re.findall(r'<section id="(\w+)">\s*<h2>([^<]+)</h2>', html)
    assert [key for key, _ in found] == list(SECTIONS)
    assert [heading for _, heading in found] == HEADINGS_EN


def test_missing_inputs_are_skipped_with_a_note(cdnow_report):
    _, html = cdnow_report
    assert "Section skipped: no survey answers were given" in html
    assert "Section skipped: no loyalty ledger was given" in html
    assert html.count('class="skipped"') == 2  # data, model, value, segments, risk are present


def test_page_is_self_contained_and_small(cdnow_report):
    path, html = cdnow_report
    assert path.read_text(encoding="utf-8") == html
    assert len(html.encode()) < 5_000_000
    # every src/href is embedded or a link inside the page
    for attr in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert attr.startswith(("data:", "#")), attr
    assert "default-src 'none'" in html  # the browser refuses any request the page might make
    assert html.count("<img ") == 5  # holdout check, value, segment sizes, matrix, cohorts


def test_user_text_is_escaped(cdnow_report):
    _, html = cdnow_report
    assert "CDNOW &lt;sample&gt; &amp; co" in html
    assert "<sample>" not in html


def test_escaping_of_customer_ids():
    tx = pd.DataFrame(
        {
            "customer_id": ["<script>alert(1)</script>"] * 3 + [f"c{i}" for i in range(30)],
            "date": ["2024-01-01", "2024-02-01", "2024-03-01"] + ["2024-01-15"] * 30,
            "amount": [1000.0, 900.0, 800.0] + [5.0] * 30,
        }
    )
    html = customer_report(tx)
    assert "<script>" not in html


def test_data_section_counts_match_the_data(cdnow_report, cdnow_transactions):
    _, html = cdnow_report
    customers = cdnow_transactions["customer_id"].nunique()
    assert f"<dd>{customers:,}</dd>" in html
    assert f"<dd>{len(cdnow_transactions):,}</dd>" in html


def test_model_is_chosen_on_the_compare_models_table(cdnow_analysis):
    from customer_value.clv import (
        BetaGeoModel,
        ModifiedBetaGeoModel,
        ParetoNBDModel,
        compare_models,
    )

    split = cdnow_analysis.split
    table = cdnow_analysis.comparison
    calibration = split[["frequency_cal", "recency_cal", "T_cal"]].rename(columns=lambda c: c[:-4])
    candidates = {"BG/NBD": BetaGeoModel, "MBG/NBD": ModifiedBetaGeoModel}
    candidates["Pareto/NBD"] = ParetoNBDModel
    expected = compare_models({k: cls().fit(calibration) for k, cls in candidates.items()}, split)
    pd.testing.assert_frame_equal(table, expected, rtol=1e-6)
    assert cdnow_analysis.model_name == table["holdout_mae"].idxmin()
    assert type(cdnow_analysis.model) is type(cdnow_analysis.calibration_model)


def test_choose_model_breaks_ties_by_bic_then_order():
    table = pd.DataFrame(
        {"holdout_mae": [0.5, 0.4, 0.4, 0.4], "bic": [10.0, 12.0, 11.0, 11.0]},
        index=pd.Index(["a", "b", "c", "d"], name="model"),
    )
    assert choose_model(table) == "c"
    assert choose_model(table.drop(index=["b", "c", "d"])) == "a"


def test_comparison_table_is_on_the_page(cdnow_report, cdnow_analysis):
    _, html = cdnow_report
    for header in ("Parameters", "AIC", "BIC", "Holdout MAE", "Holdout RMSE"):
        assert re.search(f"<th[^>]*>{header}", html), header
    assert "compare_models" in html
    assert f"{cdnow_analysis.model_name} ✓" in html


def test_holdout_error_by_hand(cdnow_analysis):
    split, model = cdnow_analysis.split, cdnow_analysis.calibration_model
    calibration = split[["frequency_cal", "recency_cal", "T_cal"]].rename(columns=lambda c: c[:-4])
    predicted = model.expected_purchases(split["duration_holdout"].to_numpy(), calibration)
    total = 0.0
    for k in range(8):
        members = (split["frequency_cal"] == k) if k < 7 else (split["frequency_cal"] >= 7)
        gap = predicted[members].mean() - split.loc[members, "frequency_holdout"].mean()
        total += members.sum() * abs(gap)
    error, predicted_total = holdout_error(model, split)
    assert error == pytest.approx(total / len(split), rel=1e-12)
    assert predicted_total == pytest.approx(predicted.sum(), rel=1e-12)


def test_scores_are_finite_and_consistent(cdnow_analysis):
    scores = cdnow_analysis.scores
    for column in ("p_alive", "expected_purchases", "clv", "churn_probability", "value_at_risk"):
        assert np.isfinite(scores[column]).all(), column
    np.testing.assert_allclose(scores["churn_probability"], 1 - scores["p_alive"], atol=1e-12)
    assert set(scores["risk_level"]) <= {"low", "medium", "high"}
    assert scores["segment"].notna().all()
    assert scores["stage"].notna().all()


def test_chinese_page():
    from customer_value.datasets import load_cdnow_transactions

    html = customer_report(load_cdnow_transactions(), language="zh", currency="CNY")
    for key in SECTIONS:
        assert f"<h2>{TEXT[key]['zh']}</h2>" in html
    assert 'lang="zh-CN"' in html
    assert "¥" in html
    assert "1997年1月1日" in html


def test_unknown_language():
    with pytest.raises(InvalidDataError, match="language must be one of"):
        customer_report(
            {"customer_id": [1], "date": ["2024-01-01"], "amount": [1.0]}, language="fr"
        )


def test_without_amounts_value_and_segments_are_skipped(cdnow_transactions):
    html = customer_report(cdnow_transactions.drop(columns="amount"), amount_col=None)
    assert html.count("Section skipped: no amount column was given") == 2
    assert "<h2>Purchase model</h2>" in html
    assert "Chosen model" in html


def test_short_history_skips_the_model():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "date": ["2024-01-01", "2024-01-10", "2024-01-05", "2024-01-20"],
            "amount": [10.0, 12.0, 5.0, 7.0],
        }
    )
    html = customer_report(tx)
    assert "less than 8 weeks" in html
    assert html.count('class="skipped"') == 5  # model, value, risk, surveys, loyalty


def test_survey_and_loyalty_sections_with_inputs(cdnow_analysis):
    from customer_value.loyalty import Ledger, MemoryStore, Program

    rng = np.random.default_rng(3)
    nps = pd.DataFrame(
        {
            "rating": rng.integers(0, 11, 300),
            "date": pd.date_range("2024-01-01", periods=300, freq="D").astype(str),
        }
    )
    kano = pd.DataFrame(
        {
            "feature": ["delivery"] * 4 + ["gift wrap"] * 4,
            "functional": ["like", "like", "must-be", "like"] * 2,
            "dysfunctional": ["dislike", "dislike", "dislike", "live-with"] * 2,
        }
    )
    ledger = Ledger(Program.from_dict({"name": "p", "base_rate": "1"}), MemoryStore())
    ledger.adjust("a", 100, at="2024-01-05", idempotency_key="a")
    ledger.redeem("a", 40, at="2024-02-05", idempotency_key="r")
    html = customer_report(
        cdnow_analysis, nps_answers=nps, kano_answers=kano, ledger=ledger, value_per_point="0.01"
    )
    assert "skipped" not in re.sub(r"<style>.*?</style>", "", html, flags=re.S).lower()
    assert "NPS by month" in html
    assert "2024-10" in html
    assert "gift wrap" in html
    assert "Kano categories" in html
    assert "Outstanding points" in html
    assert "<dd>60</dd>" in html


def test_clean_transactions_drops_and_notes_a_few_bad_rows():
    n = 100
    tx = pd.DataFrame(
        {
            "id": [None] + [f"c{i % 30}" for i in range(1, n)],
            "when": ["2024-01-01"] * (n - 1) + ["not a date"],
            "spend": [10.0] * (n - 2) + [-5.0, 10.0],
        }
    )
    clean, notes = clean_transactions(
        tx, customer_id_col="id", date_col="when", amount_col="spend", date_format=None
    )
    assert len(clean) == n - 3
    assert [note.key for note in notes] == [
        "dropped_missing_id",
        "dropped_bad_date",
        "dropped_negative",
        "duplicates",
    ]
    assert notes[1].values == {"n": 1, "row": 99, "value": "not a date"}


def test_mostly_unreadable_dates_are_an_error_naming_column_row_value():
    tx = pd.DataFrame({"customer_id": [1, 2, 3], "date": ["2024-01-01", "x", "y"], "amount": 1.0})
    with pytest.raises(InvalidDataError, match=r"column 'date': 2 of 3 dates .* row 1: 'x'"):
        analyze_customers(tx)


def test_missing_column_is_an_error():
    with pytest.raises(InvalidDataError, match="missing column\\(s\\) 'amount'"):
        analyze_customers(pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"]}))


def test_repeat_customers_with_only_free_purchases_are_valued_at_zero(cdnow_transactions):
    tx = cdnow_transactions[["customer_id", "date", "amount"]].copy()
    first = tx["customer_id"].iloc[0]
    tx.loc[tx["customer_id"] == first, "amount"] = 0.0  # three free purchases
    analysis = analyze_customers(tx)
    assert analysis.scores.loc[first, "clv"] == 0.0
    assert analysis.scores.loc[first, "value_at_risk"] == 0.0
    assert analysis.skipped["zero_spend"] == "1"
    assert np.isfinite(analysis.scores["clv"]).all()
