"""Per-customer scores of a Parquet file without loading its transactions into pandas.

The ``customer-value score`` command's path for Parquet (issue 19; a module of the
command line, kept apart from ``cli.py`` to keep both small): the file is scanned
lazily by Polars (or DuckDB), and everything that grows with transactions runs in that
engine, through the library's engine functions (issue 14) - the same public functions
the pandas path calls, so no step is written twice: the customer summary
(``summarize_transactions``), the calibration summary with the holdout purchase counts
(``calibration_holdout_split``), the sufficient statistics the models are fitted on
(``sufficient_statistics``), RFM scores (``rfm_scores``) and the per-customer scoring
(``churn_risk``, ``customer_lifetime_value``, ``lifecycle_stage``,
``expected_purchases``, mapped over the engine's batches). Only per-customer results
and the compressed tables reach pandas.

The numbers are those of :func:`customer_value.report.analyze_customers` (same
cleaning, same calibration split, same model choice on
:func:`customer_value.clv.compare_models`, candidates that cannot be fitted left out as
there); parameters agree to the optimiser's tolerance because they are fitted on
sufficient statistics.
Files the engine path does not cover exactly - text dates, missing values, too little
history for a model - return ``None`` and the caller uses the pandas path, which also
owns the error messages that name a row.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from customer_value.errors import CustomerValueError

__all__ = ["score_parquet"]

_MIN_WEEKS = 8.0
_MIN_REPEAT = 10
_CANDIDATES = ("BG/NBD", "MBG/NBD", "Pareto/NBD")
_PURCHASES = ("frequency", "recency", "T")
_CALIBRATION = ("frequency_cal", "recency_cal", "T_cal")


def _scan(path: Path) -> Any:
    """A narwhals LazyFrame over the file (Polars preferred, then DuckDB), or None."""
    import narwhals as nw

    try:
        import polars as pl

        return nw.from_native(pl.scan_parquet(path))
    except ImportError:
        pass
    try:
        import duckdb

        return nw.from_native(duckdb.read_parquet(str(path)))
    except ImportError:
        return None


def _materialise(native: Any) -> Any:
    """Compute a lazy engine result once inside its engine and keep it there (native)."""
    if hasattr(native, "collect"):  # Polars LazyFrame
        return native.collect().lazy()
    import duckdb

    # an Arrow table, not a stream: DuckDB 2's ``arrow()`` returns a reader that keeps the
    # connection busy until drained, and the next query on it then fails
    fetch = getattr(native, "to_arrow_table", None) or native.fetch_arrow_table
    return duckdb.from_arrow(fetch())


def _pandas(frame: Any) -> pd.DataFrame:
    """A (per-customer) engine result, native or narwhals, as pandas by customer id."""
    import narwhals as nw

    if not isinstance(frame, (nw.DataFrame, nw.LazyFrame)):
        frame = nw.from_native(frame)
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect(backend="pandas")
    out: pd.DataFrame = frame.to_pandas()
    return out.set_index("customer_id")


def score_parquet(
    path: Path,
    *,
    customer_id_col: str,
    date_col: str,
    amount_col: str | None,
    calibration_end: Any,
    horizon: float,
    discount_rate: float,
    margin: float,
    progress: Callable[[str], None],
) -> pd.DataFrame | None:
    """The ``scores`` of :func:`customer_value.report.analyze_customers` for a Parquet file.

    Parameters
    ----------
    path : Path
        Parquet file, one row per purchase.
    customer_id_col, date_col, amount_col : str
        Columns (the amount is required here; without it, None).
    calibration_end, horizon, discount_rate, margin
        As in :func:`customer_value.report.analyze_customers`.
    progress : callable
        Called with a short message before each long step.

    Returns
    -------
    DataFrame or None
        Indexed by customer id with the columns of ``analyze_customers(...).scores``;
        None when the file needs the pandas path (see the module notes).
    """
    import narwhals as nw

    if amount_col is None:
        return None
    lf = _scan(path)
    if lf is None:
        return None
    schema = lf.collect_schema()
    if any(c not in schema for c in (customer_id_col, date_col, amount_col)):
        return None  # the pandas path names what is missing
    if not (schema[date_col].is_temporal() and schema[amount_col].is_numeric()):
        return None  # text dates: parsed (and refused row by row) by the pandas path
    progress("scanning the transactions")
    date = nw.col(date_col)
    lf = lf.select(
        nw.col(customer_id_col).alias("customer_id"),
        (date.cast(nw.Datetime("us")) if schema[date_col] == nw.Date else date).alias("date"),
        nw.col(amount_col).cast(nw.Float64).alias("amount"),
    )
    amount = nw.col("amount")
    checks = (
        lf.select(
            nw.len().alias("n"),
            nw.col("customer_id").is_null().sum().alias("null_id"),
            nw.col("date").is_null().sum().alias("null_date"),
            (amount.is_null() | ~amount.is_finite()).sum().alias("bad_amount"),
            nw.col("date").min().alias("start"),
            nw.col("date").max().alias("stop"),
        )
        .collect(backend="pandas")
        .to_native()
        .iloc[0]
    )
    if checks["n"] == 0 or checks[["null_id", "null_date", "bad_amount"]].sum() > 0:
        return None  # dropped with a note (or refused) row by row on the pandas path
    lf = lf.filter(amount >= 0)  # returns: dropped, as the pandas path does
    start, stop = pd.Timestamp(checks["start"]), pd.Timestamp(checks["stop"])
    if (stop - start) / pd.Timedelta(weeks=1) < _MIN_WEEKS:
        return None
    end = (
        pd.Timestamp(calibration_end)
        if calibration_end is not None
        else (start + (stop - start) / 2).normalize()
    )
    chosen = _choose(lf, end, stop, progress)
    if chosen is None:
        return None
    return _score(lf, chosen, horizon, discount_rate, margin, progress)


def _choose(lf: Any, end: pd.Timestamp, stop: pd.Timestamp, say: Callable[[str], None]) -> Any:
    """The candidate chosen on the calibration/holdout comparison, as its class.

    Candidates that cannot be fitted are left out of the comparison, as
    :func:`customer_value.report.analyze_customers` leaves them out (it notes why).
    """
    import narwhals as nw

    from customer_value.clv import (
        BetaGeoModel,
        ModifiedBetaGeoModel,
        ParetoNBDModel,
        compare_models,
    )
    from customer_value.data import calibration_holdout_split
    from customer_value.report import choose_model

    say("summarising the calibration and holdout periods")
    split = _materialise(
        calibration_holdout_split(
            nw.to_native(lf), calibration_end=end, observation_end=stop, time_unit="W"
        )
    )
    stats = _stats(split, _CALIBRATION).rename(columns=lambda c: c.removesuffix("_cal"))
    if int(stats.loc[stats["frequency"] > 0, "n_customers"].sum()) < _MIN_REPEAT:
        return None
    classes = dict(
        zip(_CANDIDATES, (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel), strict=True)
    )
    fitted: dict[str, Any] = {}
    for name, cls in classes.items():
        say(f"fitting {name} on the calibration period")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted[name] = cls().fit(stats, weights="n_customers", time_unit="W")
        except CustomerValueError:
            continue  # left out of the comparison, as on the pandas path
    if not fitted:
        return None  # the pandas path reports that no model could be fitted, and why
    return classes[choose_model(compare_models(fitted, _pandas(split)))]


def _stats(summary: Any, columns: tuple[str, ...] = _PURCHASES) -> pd.DataFrame:
    """Sufficient statistics of ``columns`` (computed in the engine) as a pandas table.

    Sorted, as :func:`~customer_value.data.sufficient_statistics` sorts a pandas result:
    an engine's group-by returns its rows in any order, and the warm start of a large fit
    starts from a subset chosen by position, so on data that barely identify a model
    (Pareto/NBD when every customer has nearly the same dropout rate) the order changed
    whether the fit succeeded and how long it took (17-64 s at ten million transactions).
    """
    import narwhals as nw

    from customer_value.data import sufficient_statistics

    stats = nw.from_native(sufficient_statistics(summary, columns=columns))
    if isinstance(stats, nw.LazyFrame):
        stats = stats.collect(backend="pandas")
    out: pd.DataFrame = stats.to_pandas().sort_values(list(columns), ignore_index=True)
    return out


def _score(
    lf: Any,
    model_class: Any,
    horizon: float,
    discount_rate: float,
    margin: float,
    say: Callable[[str], None],
) -> pd.DataFrame | None:
    import narwhals as nw

    from customer_value.churn import RISK_LABELS_ZH, STAGES, churn_risk, lifecycle_stage
    from customer_value.clv import GammaGammaModel, customer_lifetime_value
    from customer_value.data import summarize_transactions
    from customer_value.segmentation import CLASSIC_SEGMENTS, rfm_scores

    say("summarising all customers")
    summary = _materialise(
        summarize_transactions(nw.to_native(lf), monetary_value_col="amount", time_unit="W")
    )
    frequency, spend = nw.col("frequency"), nw.col("monetary_value")
    both = nw.from_native(summary)
    repeat = both.filter((frequency > 0) & (spend > 0))
    paying = nw.to_native(both.filter(~((frequency > 0) & (spend <= 0))))
    say("fitting the chosen model and the spend model on sufficient statistics")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = model_class().fit(_stats(summary), weights="n_customers", time_unit="W")
        spend_table = _stats(nw.to_native(repeat), ("frequency", "monetary_value"))
        if int(spend_table["n_customers"].sum()) < _MIN_REPEAT:
            return None
        try:
            spend_model = GammaGammaModel().fit(spend_table, weights="n_customers")
        except CustomerValueError:
            return None
    say("scoring every customer in the engine")
    scores = _pandas(summary)
    scores["p_alive"] = _pandas(model.probability_alive(summary))["probability_alive"]
    scores["expected_purchases"] = _pandas(model.expected_purchases(horizon, summary))[
        "expected_purchases"
    ]
    clv = customer_lifetime_value(
        model, spend_model, paying, horizon=horizon, discount_rate=discount_rate, margin=margin
    )
    scores["clv"] = _pandas(clv)["clv"].reindex(scores.index).fillna(0.0)
    risk = _pandas(churn_risk(model, summary))
    at_risk = _pandas(churn_risk(model, paying, spend_model=spend_model, horizon=horizon))
    scores["churn_probability"] = risk["churn_probability"]
    levels = pd.CategoricalDtype(list(RISK_LABELS_ZH), ordered=True)
    scores["risk_level"] = risk["risk_level"].astype(levels)
    scores["value_at_risk"] = at_risk["value_at_risk"].reindex(scores.index).fillna(0.0)
    say("scoring RFM segments")
    rfm = _pandas(rfm_scores(nw.to_native(lf), monetary_value_col="amount"))
    segments = CLASSIC_SEGMENTS.assign(rfm)
    scores["segment"] = segments["segment"].reindex(scores.index)
    stages = _pandas(lifecycle_stage(summary, model=model))
    stage_levels = pd.CategoricalDtype(list(STAGES), ordered=True)
    scores["stage"] = stages["stage"].reindex(scores.index).astype(stage_levels)
    return scores.sort_index()
