"""One pass from a transaction table to the numbers the report and the command line show.

Only public names of the other subpackages are used. The purchase model is chosen
between BG/NBD, MBG/NBD and Pareto/NBD on the table of
:func:`customer_value.clv.compare_models` (see :func:`choose_model`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import as_frame, describe_row, plain, require_columns
from customer_value.errors import CustomerValueError, InvalidDataError

__all__ = ["CustomerAnalysis", "analyze_customers"]

#: Share of rows with an unreadable date or amount above which the input is refused
#: (a wrong ``date_format`` or column, not a few bad rows to drop).
MAX_BAD_SHARE = 0.05
CANDIDATES = ("BG/NBD", "MBG/NBD", "Pareto/NBD")
_MIN_WEEKS = 8.0
_MIN_REPEAT = 10


@dataclass(frozen=True)
class DataNote:
    """One data-quality note: a message key of the report and its values.

    Examples
    --------
    >>> DataNote("dropped_missing_id", {"n": 3})
    DataNote(key='dropped_missing_id', values={'n': 3})
    """

    key: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerAnalysis:
    """Everything the customer report shows, computed once.

    Attributes
    ----------
    transactions : DataFrame
        The cleaned input with columns ``customer_id``, ``date`` and (when given)
        ``amount``.
    notes : tuple of DataNote
        Rows dropped and why, duplicates kept.
    summary : DataFrame
        Per-customer ``frequency``, ``recency``, ``T`` (weeks) and ``monetary_value``.
    model_name : str or None
        The chosen purchase model ("BG/NBD", "MBG/NBD" or "Pareto/NBD").
    model : fitted model or None
        The chosen model refitted on the whole period.
    comparison : DataFrame or None
        :func:`customer_value.clv.compare_models` of the candidates that could be
        fitted on the calibration period: parameters, log-likelihood, AIC, BIC, holdout
        MAE and RMSE per customer, predicted and actual holdout purchases.
    split : DataFrame or None
        The calibration/holdout summary the models were compared on.
    calibration_model : fitted model or None
        The chosen model as fitted on the calibration period (for the holdout plot).
    spend_model : GammaGammaModel or None
        Fitted on the repeat customers' average spend.
    scores : DataFrame
        Per customer: summary columns, ``p_alive``, ``expected_purchases``, ``clv``,
        ``churn_probability``, ``risk_level``, ``value_at_risk``, ``stage``, ``segment``.
    segments : DataFrame or None
        RFM scores and classic segments per customer.
    skipped : dict
        Section name -> reason it could not be computed.
    options : dict
        Horizon (weeks), annual discount rate, margin, calibration end.

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> from customer_value.report import analyze_customers
    >>> analysis = analyze_customers(load_cdnow_transactions())
    >>> sorted(analysis.comparison.index)
    ['BG/NBD', 'MBG/NBD', 'Pareto/NBD']
    >>> analysis.options["horizon"]
    52.0
    """

    transactions: pd.DataFrame
    notes: tuple[DataNote, ...]
    summary: pd.DataFrame
    model_name: str | None
    model: Any
    comparison: pd.DataFrame | None
    split: pd.DataFrame | None
    calibration_model: Any
    spend_model: Any
    scores: pd.DataFrame
    segments: pd.DataFrame | None
    skipped: dict[str, str]
    options: dict[str, Any]


def _first_value(raw: pd.Series, bad: np.ndarray[Any, Any]) -> tuple[int, Any]:
    pos = int(np.flatnonzero(bad)[0])
    return pos, plain(raw.iloc[pos])


def clean_transactions(
    transactions: Any,
    *,
    customer_id_col: str,
    date_col: str,
    amount_col: str | None,
    date_format: str | None,
) -> tuple[pd.DataFrame, list[DataNote]]:
    """Standard columns ``customer_id``, ``date``, ``amount``; unusable rows dropped and noted.

    A few unreadable dates or amounts are dropped with a note; more than 5% of the rows
    is an :class:`~customer_value.errors.InvalidDataError` naming the column, the first
    bad row and its value (a wrong column or date format). Rows with a negative amount
    (returns) are dropped and counted; exact duplicate rows are kept and counted.

    Parameters
    ----------
    transactions : DataFrame or mapping
        One row per purchase.
    customer_id_col, date_col : str
        Column names of the customer id and the date.
    amount_col : str or None
        Column name of the amount, or None.
    date_format : str or None
        ``strftime`` format of text dates; inferred when None.

    Returns
    -------
    clean : DataFrame
        Columns ``customer_id``, ``date`` (datetime64) and ``amount`` (float).
    notes : list of DataNote
        What was dropped and why.

    Raises
    ------
    InvalidDataError
        Missing columns, no usable row, or more than 5% unreadable dates or amounts.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.report import clean_transactions
    >>> raw = pd.DataFrame({"id": ["a", "a", "b"],
    ...                     "day": ["2024-01-02", "2024-02-03", "2024-01-05"],
    ...                     "spend": [10.0, -4.0, 7.5]})
    >>> clean, notes = clean_transactions(raw, customer_id_col="id", date_col="day",
    ...                                   amount_col="spend", date_format=None)
    >>> len(clean), [note.key for note in notes]
    (2, ['dropped_negative'])
    """
    frame = as_frame(transactions, what="transactions")
    columns = [customer_id_col, date_col] + ([amount_col] if amount_col else [])
    require_columns(frame, columns, what="transactions")
    n = len(frame)
    notes: list[DataNote] = []
    ids = frame[customer_id_col]
    keep = ids.notna().to_numpy()
    if not keep.all():
        notes.append(DataNote("dropped_missing_id", {"n": int((~keep).sum())}))
    raw_dates = frame[date_col]
    if pd.api.types.is_datetime64_any_dtype(raw_dates):
        dates = pd.to_datetime(raw_dates)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
            dates = pd.to_datetime(raw_dates, errors="coerce", format=date_format)
    bad = dates.isna().to_numpy() & keep
    if bad.any():
        pos, value = _first_value(raw_dates, bad)
        if bad.sum() > MAX_BAD_SHARE * n:
            hint = f" with format {date_format!r}" if date_format else ""
            raise InvalidDataError(
                f"column {date_col!r}: {int(bad.sum())} of {n} dates cannot be read{hint}; "
                f"first at {describe_row(frame.index, pos)}: {value!r} "
                "(check the date column and --date-format)"
            )
        notes.append(
            DataNote("dropped_bad_date", {"n": int(bad.sum()), "row": pos, "value": value})
        )
        keep &= ~bad
    out = pd.DataFrame({"customer_id": ids, "date": dates})
    if amount_col:
        raw_amount = frame[amount_col]
        amount = pd.to_numeric(raw_amount, errors="coerce")
        bad = (amount.isna().to_numpy() | ~np.isfinite(amount.to_numpy(dtype=float))) & keep
        if bad.any():
            pos, value = _first_value(raw_amount, bad)
            if bad.sum() > MAX_BAD_SHARE * n:
                raise InvalidDataError(
                    f"column {amount_col!r}: {int(bad.sum())} of {n} amounts are not numbers; "
                    f"first at {describe_row(frame.index, pos)}: {value!r}"
                )
            notes.append(
                DataNote("dropped_bad_amount", {"n": int(bad.sum()), "row": pos, "value": value})
            )
            keep &= ~bad
        negative = (amount.to_numpy(dtype=float) < 0) & keep
        if negative.any():
            notes.append(DataNote("dropped_negative", {"n": int(negative.sum())}))
            keep &= ~negative
        out["amount"] = amount.astype(float)
    out = out[keep].reset_index(drop=True)
    if len(out) == 0:
        raise InvalidDataError("transactions: no usable rows are left after cleaning")
    duplicates = int(out.duplicated().sum())
    if duplicates:
        notes.append(DataNote("duplicates", {"n": duplicates}))
    return out, notes


def _candidates() -> dict[str, Any]:
    from customer_value.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel

    return {"BG/NBD": BetaGeoModel, "MBG/NBD": ModifiedBetaGeoModel, "Pareto/NBD": ParetoNBDModel}


def holdout_error(model: Any, split: pd.DataFrame, *, top: int = 7) -> tuple[float, float]:
    """Weighted mean absolute error of holdout purchases by calibration frequency, and the
    total predicted holdout purchases.

    Customers are grouped by their number of calibration repeat purchases (``top`` and
    more together); in each group the mean predicted and the mean actual holdout
    purchases are compared, and the absolute differences are averaged with the group
    sizes as weights (the error the calibration/holdout plot shows).

    Parameters
    ----------
    model : fitted purchase model
        Fitted on the calibration columns of ``split``.
    split : DataFrame
        :func:`customer_value.data.calibration_holdout_split` output.
    top : int, default 7
        Customers with ``top`` or more calibration purchases form one group.

    Returns
    -------
    error : float
        Weighted mean absolute error (purchases per customer).
    predicted : float
        Total predicted holdout purchases.

    Examples
    --------
    >>> from customer_value.clv import BetaGeoModel
    >>> from customer_value.data import calibration_holdout_split
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> from customer_value.report import holdout_error
    >>> split = calibration_holdout_split(
    ...     load_cdnow_transactions(), calibration_end="1997-09-30",
    ...     observation_end="1998-06-30", time_unit="W")
    >>> cal = split[["frequency_cal", "recency_cal", "T_cal"]].rename(columns=lambda c: c[:-4])
    >>> error, predicted = holdout_error(BetaGeoModel().fit(cal), split)
    >>> bool(error < 0.2), bool(predicted < split["frequency_holdout"].sum())
    (True, True)
    """
    calibration = pd.DataFrame(
        {"frequency": split["frequency_cal"], "recency": split["recency_cal"], "T": split["T_cal"]}
    )
    predicted = model.expected_purchases(split["duration_holdout"].to_numpy(), calibration)
    groups = split["frequency_cal"].clip(upper=top).astype(int)
    table = pd.DataFrame(
        {"predicted": predicted.to_numpy(), "actual": split["frequency_holdout"].to_numpy()}
    ).groupby(groups.to_numpy())
    means = table.mean()
    sizes = table.size()
    error = float(np.average((means["predicted"] - means["actual"]).abs(), weights=sizes))
    return error, float(predicted.sum())


def choose_model(comparison: pd.DataFrame) -> str:
    """Name of the model with the smallest holdout error per customer.

    Parameters
    ----------
    comparison : DataFrame
        :func:`customer_value.clv.compare_models` output (index: model names).

    Returns
    -------
    str
        The row with the smallest ``holdout_mae``; ties go to the smaller ``bic``, then
        to the earlier row.

    Examples
    --------
    >>> import pandas as pd
    >>> from customer_value.report import choose_model
    >>> table = pd.DataFrame({"holdout_mae": [0.79, 0.75, 0.75], "bic": [19196, 19221, 19195]},
    ...                      index=pd.Index(["BG/NBD", "Pareto/NBD", "MBG/NBD"], name="model"))
    >>> choose_model(table)
    'MBG/NBD'
    """
    order = np.lexsort((comparison["bic"].to_numpy(), comparison["holdout_mae"].to_numpy()))
    return str(comparison.index[order[0]])


def _fit_models(
    clean: pd.DataFrame,
    calibration_end: Any,
    notes: dict[str, str],
    progress: Callable[[str], None],
) -> tuple[str | None, Any, pd.DataFrame | None, pd.DataFrame | None]:
    from customer_value.data import calibration_holdout_split

    start, stop = clean["date"].min(), clean["date"].max()
    if (stop - start) / pd.Timedelta(weeks=1) < _MIN_WEEKS:
        notes["model"] = "too_short"
        return None, None, None, None
    end = (
        pd.Timestamp(calibration_end)
        if calibration_end is not None
        else (start + (stop - start) / 2).normalize()
    )
    split = calibration_holdout_split(
        clean, calibration_end=end, observation_end=stop, time_unit="W"
    )
    if int((split["frequency_cal"] > 0).sum()) < _MIN_REPEAT:
        notes["model"] = "no_repeat"
        return None, None, None, None
    calibration = split[["frequency_cal", "recency_cal", "T_cal"]].rename(
        columns=lambda c: c.removesuffix("_cal")
    )
    fitted: dict[str, Any] = {}
    for name, cls in _candidates().items():
        progress(f"fitting {name} on the calibration period")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted[name] = cls().fit(calibration)
        except CustomerValueError as exc:
            notes[f"fit:{name}"] = str(exc).splitlines()[0]
    if not fitted:
        notes["model"] = "no_model"
        return None, None, None, split
    from customer_value.clv import compare_models

    comparison = compare_models(fitted, split)
    chosen = choose_model(comparison)
    split.attrs["calibration_end"] = end
    return chosen, fitted[chosen], comparison, split


def analyze_customers(
    transactions: Any,
    *,
    customer_id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = "amount",
    date_format: str | None = None,
    calibration_end: Any = None,
    horizon: float = 52.0,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> CustomerAnalysis:
    """Clean a transaction table, fit and choose a purchase model, score every customer.

    Parameters
    ----------
    transactions : DataFrame or mapping
        One row per purchase.
    customer_id_col, date_col : str
        Column names of the customer id and the purchase date.
    amount_col : str or None, default "amount"
        Purchase amount; without it the value sections are skipped.
    date_format : str, optional
        ``strftime`` format of the dates when they are text (``"%Y%m%d"``).
    calibration_end : date, optional
        End of the calibration period for the model check; the middle of the data's
        date range by default.
    horizon : float, default 52
        Forecast horizon in weeks for customer value and value at risk.
    discount_rate : float, default 0.10
        Annual discount rate of customer value.
    margin : float, default 1.0
        Share of spend that is profit (1 = value in revenue).
    progress : callable, optional
        Called with a short message before each long step.

    Returns
    -------
    CustomerAnalysis

    Raises
    ------
    InvalidDataError
        Missing columns, no usable rows, or more than 5% unreadable dates or amounts.

    Notes
    -----
    Candidates BG/NBD (Fader, Hardie & Lee 2005), MBG/NBD (Batislam et al. 2007) and
    Pareto/NBD (Schmittlein et al. 1987) are fitted on the calibration period, compared
    with :func:`customer_value.clv.compare_models`, and the one with the smallest
    holdout error per customer (:func:`choose_model`) is refitted on all data.

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> from customer_value.report import analyze_customers
    >>> result = analyze_customers(load_cdnow_transactions())
    >>> result.model_name in ("BG/NBD", "MBG/NBD", "Pareto/NBD")
    True
    >>> len(result.scores)
    2357
    """
    say = progress or (lambda message: None)
    say("reading and cleaning the transactions")
    clean, note_list = clean_transactions(
        transactions,
        customer_id_col=customer_id_col,
        date_col=date_col,
        amount_col=amount_col,
        date_format=date_format,
    )
    from customer_value.data import summarize_transactions

    has_amount = amount_col is not None
    summary = summarize_transactions(
        clean, monetary_value_col="amount" if has_amount else None, time_unit="W"
    )
    skipped: dict[str, str] = {}
    name, cal_model, comparison, split = _fit_models(clean, calibration_end, skipped, say)
    scores = summary.copy()
    model = spend_model = None
    if name is not None:
        say(f"fitting {name} on all data")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _candidates()[name]().fit(summary[["frequency", "recency", "T"]])
        scores["p_alive"] = model.probability_alive(summary[["frequency", "recency", "T"]])
        scores["expected_purchases"] = model.expected_purchases(
            horizon, summary[["frequency", "recency", "T"]]
        )
    if not has_amount:
        skipped["value"] = "no_amount"
    elif model is not None:
        spend_model = _fit_value(
            summary, model, scores, horizon, discount_rate, margin, skipped, say
        )
    segments = None
    if has_amount:
        say("scoring RFM segments")
        from customer_value.segmentation import CLASSIC_SEGMENTS, rfm_scores

        segments = CLASSIC_SEGMENTS.assign(rfm_scores(clean, monetary_value_col="amount"))
        scores["segment"] = segments["segment"].reindex(scores.index)
    if model is not None:
        from customer_value.churn import lifecycle_stage

        stages = lifecycle_stage(summary[["frequency", "recency", "T"]], model=model)
        scores["stage"] = stages["stage"]
    return CustomerAnalysis(
        transactions=clean,
        notes=tuple(note_list),
        summary=summary,
        model_name=name,
        model=model,
        comparison=comparison,
        split=split,
        calibration_model=cal_model,
        spend_model=spend_model,
        scores=scores,
        segments=segments,
        skipped=skipped,
        options={
            "horizon": float(horizon),
            "discount_rate": float(discount_rate),
            "margin": float(margin),
            "calibration_end": None if split is None else split.attrs.get("calibration_end"),
        },
    )


def _fit_value(
    summary: pd.DataFrame,
    model: Any,
    scores: pd.DataFrame,
    horizon: float,
    discount_rate: float,
    margin: float,
    skipped: dict[str, str],
    say: Callable[[str], None],
) -> Any:
    from customer_value.churn import churn_risk
    from customer_value.clv import GammaGammaModel, customer_lifetime_value

    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) < _MIN_REPEAT:
        skipped["value"] = "no_repeat"
        return None
    say("fitting the spend model and computing customer value")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spend = GammaGammaModel().fit(repeat[["frequency", "monetary_value"]])
    except CustomerValueError as exc:
        skipped["value"] = "no_spend_model:" + str(exc).splitlines()[0]
        return None
    # repeat customers whose purchases were all free (amount 0) spend nothing: value 0
    free = ((summary["frequency"] > 0) & (summary["monetary_value"] <= 0)).to_numpy()
    paying = summary[~free]
    clv = customer_lifetime_value(
        model, spend, paying, horizon=horizon, discount_rate=discount_rate, margin=margin
    )
    scores["clv"] = clv.reindex(summary.index).fillna(0.0)
    risk = churn_risk(model, summary[["frequency", "recency", "T"]])
    at_risk = churn_risk(model, paying, spend_model=spend, horizon=horizon)["value_at_risk"]
    scores["churn_probability"] = risk["churn_probability"]
    scores["risk_level"] = risk["risk_level"]
    scores["value_at_risk"] = at_risk.reindex(summary.index).fillna(0.0)
    if free.any():
        skipped["zero_spend"] = str(int(free.sum()))
    return spend
