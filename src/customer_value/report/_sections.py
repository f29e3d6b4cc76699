"""The report's sections as plain data (headings, facts, tables, figures) for the template."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from customer_value.report._analysis import CustomerAnalysis
from customer_value.report._text import Words

FIGURE_DPI = 110


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)


@dataclass
class Figure:
    src: str  # a data: URI, so the page needs no other file
    alt: str


@dataclass
class Section:
    key: str
    heading: str
    skipped: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def figure(ax: Any, alt: str) -> Figure:
    """The Axes' figure as an embedded PNG (small and exact for scatter plots)."""
    import matplotlib.pyplot as plt

    fig = ax.figure
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Figure(src=f"data:image/png;base64,{data}", alt=alt)


def _skip(section: Section, words: Words, reason_key: str) -> Section:
    key, _, detail = reason_key.partition(":")
    reason = words(key, reason=detail) if key in ("no_spend_model",) else words(key)
    section.skipped = words("skipped", reason=reason)
    return section


def data_section(analysis: CustomerAnalysis, words: Words) -> Section:
    tx = analysis.transactions
    section = Section("data", words("data"))
    summary = analysis.summary
    section.facts = [
        (words("customers"), words.integer(len(summary))),
        (words("transactions"), words.integer(len(tx))),
        (words("date_range"), f"{words.date(tx['date'].min())} – {words.date(tx['date'].max())}"),
        (words("repeat_rate"), words.percent(float((summary["frequency"] > 0).mean()))),
    ]
    if "amount" in tx.columns:
        section.facts.append((words("revenue"), words.money(float(tx["amount"].sum()), 0)))
    section.notes = [words(n.key, **n.values) for n in analysis.notes] or [words("no_rows_dropped")]
    return section


def _plain_words(analysis: CustomerAnalysis, words: Words) -> list[str]:
    params = analysis.model.params_
    out = [words("buys_every", weeks=words.number(params["alpha"] / params["r"], 1))]
    if analysis.model_name == "Pareto/NBD":
        median = params["beta"] * (2.0 ** (1.0 / params["s"]) - 1.0)
        out.append(words("lifetime_pareto", weeks=words.number(median, 0)))
    else:
        out.append(words("dropout_bg", p=words.percent(params["a"] / (params["a"] + params["b"]))))
    return out


def model_section(analysis: CustomerAnalysis, words: Words) -> Section:
    section = Section("model", words("model"))
    if analysis.model is None:
        return _skip(section, words, analysis.skipped.get("model", "no_model"))
    from customer_value.plotting import plot_calibration_purchases_vs_holdout_purchases

    split = analysis.split
    if split is None or analysis.comparison is None:  # a model is only chosen on a holdout
        return _skip(section, words, analysis.skipped.get("model", "no_model"))
    section.facts = [(words("chosen_model"), str(analysis.model_name))]
    section.paragraphs = _plain_words(analysis, words)
    tx = analysis.transactions
    section.paragraphs.append(
        words(
            "calibration_period",
            start=words.date(tx["date"].min()),
            end=words.date(split.attrs["calibration_end"]),
            stop=words.date(tx["date"].max()),
        )
    )
    section.paragraphs.append(words("criterion"))
    rows = []
    for name, row in analysis.comparison.iterrows():
        rows.append(
            [
                str(name) + (" ✓" if name == analysis.model_name else ""),
                words.integer(float(row["n_params"])),
                words.number(float(row["log_likelihood"]), 1),
                words.number(float(row["aic"]), 1),
                words.number(float(row["bic"]), 1),
                words.number(float(row["holdout_mae"]), 3),
                words.number(float(row["holdout_rmse"]), 3),
                words.integer(float(row["predicted_holdout_total"])),
                words.integer(float(row["actual_holdout_total"])),
            ]
        )
    section.tables.append(
        Table(
            words("comparison"),
            [
                words("model_col"),
                words("n_params"),
                words("log_likelihood"),
                words("aic"),
                words("bic"),
                words("holdout_mae"),
                words("holdout_rmse"),
                words("predicted_total"),
                words("actual_total"),
            ],
            rows,
            [False] + [True] * 8,
        )
    )
    for key, reason in analysis.skipped.items():
        if key.startswith("fit:"):
            section.notes.append(words("fit_failed", model=key[4:], reason=reason))
    ax = plot_calibration_purchases_vs_holdout_purchases(analysis.calibration_model, split)
    section.figures.append(figure(ax, words("model")))
    return section


def value_section(analysis: CustomerAnalysis, words: Words) -> Section:
    section = Section("value", words("value"))
    if "clv" not in analysis.scores.columns:
        reason = analysis.skipped.get("value") or analysis.skipped.get("model", "no_model")
        return _skip(section, words, reason)
    from customer_value.plotting import plot_value_concentration

    clv = analysis.scores["clv"]
    ordered = np.sort(clv.to_numpy())[::-1]
    total = float(ordered.sum())
    n = ordered.size
    top = [float(ordered[: max(1, int(np.ceil(q * n)))].sum()) / total for q in (0.1, 0.2)]
    opts = analysis.options
    section.paragraphs.append(
        words(
            "assumptions",
            horizon=words.number(opts["horizon"], 0),
            rate=words.percent(opts["discount_rate"]),
            margin=words.percent(opts["margin"], 0),
        )
    )
    section.facts = [
        (words("total_clv"), words.money(total, 0)),
        (words("mean_clv"), words.money(total / n)),
        (words("top10"), words.percent(top[0])),
        (words("top20"), words.percent(top[1])),
    ]
    best = analysis.scores.sort_values("clv", ascending=False).head(10)
    section.tables.append(
        Table(
            words("top_customers"),
            [words("customer"), words("frequency"), words("p_alive"), words("clv")],
            [
                [
                    str(idx),
                    words.integer(float(row["frequency"])),
                    words.percent(float(row["p_alive"])),
                    words.money(float(row["clv"])),
                ]
                for idx, row in best.iterrows()
            ],
            [False, True, True, True],
        )
    )
    if "zero_spend" in analysis.skipped:
        section.notes.append(words("zero_spend", n=analysis.skipped["zero_spend"]))
    ax = plot_value_concentration(clv)
    section.figures.append(figure(ax, words("value")))
    return section


def segments_section(analysis: CustomerAnalysis, words: Words) -> Section:
    section = Section("segments", words("segments"))
    if analysis.segments is None:
        return _skip(section, words, "no_amount")
    from customer_value.plotting import plot_segment_sizes, plot_value_loyalty_matrix
    from customer_value.segmentation import segment_profile, value_loyalty_matrix

    segments = analysis.segments
    profile = segment_profile(segments)
    zh = words.language == "zh"
    section.tables.append(
        Table(
            words("segments"),
            [words("segment"), words("count"), words("share_customers"), words("share_revenue")],
            [
                [
                    str(row["segment_label"]) if zh else str(name).replace("_", " "),
                    words.integer(float(row["size"])),
                    words.percent(float(row["share"])),
                    words.percent(float(row["revenue_share"])),
                ]
                for name, row in profile.iterrows()
            ],
            [False, True, True, True],
        )
    )
    section.figures.append(figure(plot_segment_sizes(segments), words("segments")))
    loyalty_threshold = max(float(segments["frequency"].median()), 2.0)
    matrix = value_loyalty_matrix(
        segments, value_col="monetary", loyalty_col="frequency", loyalty_threshold=loyalty_threshold
    )
    counts = matrix.groupby("segment", observed=True).size()
    chinese = matrix.groupby("segment", observed=True)["segment_label"].first().to_dict()
    section.tables.append(
        Table(
            words("matrix"),
            [words("quadrant"), words("count"), words("share")],
            [
                [
                    str(chinese[seg]) if zh else str(seg).replace("_", " "),
                    words.integer(float(c)),
                    words.percent(float(c) / len(matrix)),
                ]
                for seg, c in counts.items()
            ],
            [False, True, True],
        )
    )
    section.notes.append(words("matrix_note"))
    positive = bool((matrix["value"] > 0).all() and (matrix["loyalty"] > 0).all())
    ax = plot_value_loyalty_matrix(matrix, log=positive, s=4, alpha=0.4)
    section.figures.append(figure(ax, words("matrix")))
    return section


def risk_section(analysis: CustomerAnalysis, words: Words) -> Section:
    section = Section("risk", words("risk"))
    if analysis.model is None:
        return _skip(section, words, analysis.skipped.get("model", "no_model"))
    from customer_value.churn import STAGES, cohort_retention, playbook
    from customer_value.plotting import plot_cohort_retention

    scores = analysis.scores
    zh = words.language == "zh"
    if "risk_level" in scores.columns:
        section.paragraphs.append(words("risk_note"))
        grouped = scores.groupby("risk_level", observed=True)
        rows = []
        for level in ("high", "medium", "low"):
            if level not in grouped.groups:
                continue
            part = grouped.get_group(level)
            rows.append(
                [
                    {"high": "高风险", "medium": "中风险", "low": "低风险"}[level] if zh else level,
                    words.integer(len(part)),
                    words.percent(len(part) / len(scores)),
                    words.money(float(part["value_at_risk"].sum()), 0),
                ]
            )
        section.tables.append(
            Table(
                words("risk_level"),
                [words("risk_level"), words("count"), words("share"), words("value_at_risk")],
                rows,
                [False, True, True, True],
            )
        )
    matrix = cohort_retention(analysis.transactions)
    section.figures.append(figure(plot_cohort_retention(matrix), words("cohorts")))
    if "stage" in scores.columns:
        counts = scores["stage"].value_counts()
        rows = []
        for stage in STAGES:
            if stage not in counts.index:
                continue
            book = playbook(stage)
            lang = "zh" if zh else "en"
            rows.append(
                [
                    book["name"][lang],
                    words.integer(float(counts[stage])),
                    book["goal"][lang],
                    "; ".join(action[lang] for action in book["actions"]),
                ]
            )
        section.tables.append(
            Table(
                words("stages"),
                [words("stage"), words("count"), words("goal"), words("actions")],
                rows,
                [False, True, False, False],
            )
        )
    return section


def surveys_section(
    nps_answers: Any, kano_answers: Any, words: Words, rating_col: str, date_col: str
) -> Section:
    section = Section("surveys", words("surveys"))
    if nps_answers is None and kano_answers is None:
        return _skip(section, words, "no_surveys")
    from customer_value.plotting import plot_kano_better_worse, plot_nps_distribution
    from customer_value.survey import kano_summary, net_promoter_score, nps_by

    zh = words.language == "zh"
    if nps_answers is not None:
        frame = (
            nps_answers
            if isinstance(nps_answers, pd.DataFrame)
            else pd.DataFrame({rating_col: np.asarray(nps_answers, dtype=float)})
        )
        result = net_promoter_score(frame[rating_col])
        section.facts.append(
            (
                words("nps"),
                words(
                    "nps_value",
                    score=words.number(result.score, 1),
                    low=words.number(result.ci_low, 1),
                    high=words.number(result.ci_high, 1),
                    n=words.integer(result.n),
                ),
            )
        )
        if date_col in frame.columns:
            months = pd.to_datetime(frame[date_col]).dt.to_period("M").astype(str)
            trend = nps_by(frame.assign(month=months), rating_col, "month")
            section.tables.append(
                Table(
                    words("nps_trend"),
                    [words("month"), words("nps"), "95%", "n"],
                    [
                        [
                            str(month),
                            words.number(float(row["score"]), 1),
                            f"{words.number(float(row['ci_low']), 1)} – "
                            f"{words.number(float(row['ci_high']), 1)}",
                            words.integer(float(row["n"])),
                        ]
                        for month, row in trend.iterrows()
                    ],
                    [False, True, True, True],
                )
            )
        section.figures.append(figure(plot_nps_distribution(frame[rating_col]), words("nps")))
    if kano_answers is not None:
        summary = kano_summary(kano_answers)
        section.tables.append(
            Table(
                words("kano"),
                [words("feature"), words("category")],
                [
                    [str(name), str(row["need_level_zh"] if zh else row["need_level"])]
                    for name, row in summary.iterrows()
                ],
            )
        )
        section.figures.append(figure(plot_kano_better_worse(summary), words("kano")))
    return section


def loyalty_section(ledger: Any, value_per_point: Any, words: Words) -> Section:
    section = Section("loyalty", words("loyalty"))
    if ledger is None:
        return _skip(section, words, "no_ledger")
    from customer_value.errors import CustomerValueError
    from customer_value.loyalty import points_flow
    from customer_value.loyalty.accounting import breakage_rate, points_liability
    from customer_value.plotting import plot_points_flow

    flow = points_flow(ledger)
    outstanding = int(flow["outstanding"].iloc[-1]) if len(flow) else 0
    section.facts.append((words("outstanding"), words.integer(outstanding)))
    try:
        breakage = breakage_rate(ledger.entries())
    except CustomerValueError:
        breakage = float("nan")
    section.facts.append((words("breakage"), words.percent(breakage)))
    if value_per_point is not None and len(flow):
        liability = points_liability(
            ledger,
            flow.index[-1].end_time.normalize(),
            value_per_point=str(value_per_point),
            breakage=0 if not np.isfinite(breakage) else round(breakage, 4),
        )
        section.facts.append((words("liability"), words.money(float(liability.liability))))
    if len(flow):
        section.figures.append(figure(plot_points_flow(flow), words("loyalty")))
    return section
