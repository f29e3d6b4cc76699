"""RFM scoring: recency, frequency and monetary value as tie-respecting scores."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from customer_value._engine import is_engine
from customer_value._time import NS_PER_DAY, encode_ids, parse_datetimes, parse_timestamp
from customer_value._validation import (
    FloatArray,
    IntArray,
    as_frame,
    check_choice,
    describe_row,
    first_bad,
    money_column,
    numeric_column,
    require_columns,
    require_present,
)
from customer_value.errors import InvalidDataError
from customer_value.segmentation._engine_features import rfm_engine, spend_key

__all__ = ["percentile_scores", "quintile_from_percentile", "rfm_scores"]

SCORE_COLUMNS = ("r_score", "f_score", "m_score")
# "111" ... "555": rfm_code strings looked up by r * 100 + f * 10 + m (no per-row formatting).
_CODE_LOOKUP = np.array([f"{i:03d}" for i in range(556)], dtype=object)


def percentile_scores(values: FloatArray, *, higher_is_better: bool = True) -> FloatArray:
    """Share (0-100) of the other customers whose value is strictly worse.

    ``100 * (rank_min - 1) / (n - 1)`` with ranks taken in the "better" direction and
    ties given their lowest rank, so equal values always get the same score. The
    worst value scores 0 and a unique best value 100. A single customer, or a column
    in which every value is equal, scores 0.
    """
    from scipy.stats import rankdata  # deferred: scipy.stats costs ~0.5 s to import

    n = values.shape[0]
    if n == 1:
        return np.zeros(1)
    ranks = rankdata(values if higher_is_better else -values, method="min")
    scores: FloatArray = 100.0 * (ranks - 1.0) / (n - 1.0)
    return scores


def quintile_from_percentile(scores: FloatArray) -> IntArray:
    """Map 0-100 percentile scores to 1-5: [0, 20) -> 1, ..., [80, 100] -> 5."""
    out: IntArray = np.minimum(np.floor(scores / 20.0).astype(np.int64) + 1, 5)
    return out


def _score(values: FloatArray, *, higher_is_better: bool, scale: str) -> Any:
    pct = percentile_scores(values, higher_is_better=higher_is_better)
    return quintile_from_percentile(pct) if scale == "quintile" else pct


def _from_transactions(
    frame: pd.DataFrame,
    *,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str,
    observation_end: Any,
    monetary: str,
    date_format: str | None,
) -> tuple[pd.Index, FloatArray, FloatArray, FloatArray]:
    what = "transactions"
    require_columns(frame, [customer_id_col, datetime_col, monetary_value_col], what=what)
    ids = frame[customer_id_col]
    require_present(ids, customer_id_col, index=frame.index, what=what)
    ns = parse_datetimes(
        frame[datetime_col], datetime_col, index=frame.index, what=what, date_format=date_format
    )
    amounts = money_column(frame, monetary_value_col, what=what)
    days = np.floor_divide(ns, NS_PER_DAY)
    if observation_end is None:
        end_day = int(days.max())
    else:
        end = parse_timestamp(observation_end, "observation_end", date_format=date_format)
        end_day = int(np.floor_divide(end.as_unit("ns").value, NS_PER_DAY))
        keep = days <= end_day
        if not keep.all():
            if not keep.any():
                raise InvalidDataError(
                    f"{what}: every transaction is after observation_end={observation_end!r}"
                )
            ids, days, amounts = ids[keep], days[keep], amounts[keep]
    codes, customers = encode_ids(pd.Series(ids))
    n = len(customers)
    count = np.bincount(codes, minlength=n).astype(np.float64)
    total = np.bincount(codes, weights=amounts, minlength=n)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, codes, days)
    recency = (end_day - last).astype(np.float64)
    spend = np.asarray(total if monetary == "total" else total / count, dtype=np.float64)
    return pd.Index(customers, name=customer_id_col), recency, count, spend


def _from_summary(
    frame: pd.DataFrame, *, monetary_col: str | None, customer_id_col: str
) -> tuple[pd.Index, FloatArray, FloatArray, FloatArray]:
    what = "summary"
    if customer_id_col in frame.columns:
        ids = frame[customer_id_col]
        require_present(ids, customer_id_col, index=frame.index, what=what)
        index = pd.Index(ids.to_numpy(), name=customer_id_col)
        where = f"column {customer_id_col!r}"
    else:
        index = frame.index
        where = "the index"
    pos = first_bad(index.duplicated())
    if pos is not None:
        raise InvalidDataError(
            f"{what}: one row per customer is needed, but {where} repeats a customer; "
            f"{describe_row(frame.index, pos)} has {customer_id_col}={index[pos]!r}"
        )
    if monetary_col is None:
        monetary_col = "monetary" if "monetary" in frame.columns else "monetary_value"
    require_columns(frame, ["recency", "frequency", monetary_col], what=what)
    recency = numeric_column(frame, "recency", what=what)
    if "T" in frame.columns:  # a BTYD summary: recency is the age at the last purchase
        recency = numeric_column(frame, "T", what=what) - recency
    frequency = numeric_column(frame, "frequency", what=what)
    spend = numeric_column(frame, monetary_col, what=what)
    for name, values in (("recency", recency), ("frequency", frequency), (monetary_col, spend)):
        pos = first_bad(values < 0)
        if pos is not None:
            shown = "T - recency" if name == "recency" and "T" in frame.columns else name
            raise InvalidDataError(
                f"{what}: {shown!r} must be >= 0; {describe_row(frame.index, pos)} has "
                f"{shown}={float(values[pos])!r}"
            )
    return index, recency, frequency, spend


def rfm_scores(
    transactions: Any,
    *,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str = "amount",
    observation_end: Any = None,
    scale: Literal["quintile", "percentile"] = "quintile",
    monetary: Literal["total", "mean"] = "total",
    monetary_col: str | None = None,
    date_format: str | None = None,
) -> Any:
    """Recency, frequency and monetary value per customer, scored so that higher is better.

    Parameters
    ----------
    transactions : DataFrame, mapping or engine frame
        Either a transaction log (one row per purchase, with ``customer_id_col``,
        ``datetime_col`` and ``monetary_value_col``) or a customer summary that already
        holds ``recency``, ``frequency`` and a monetary column (used when
        ``datetime_col`` is absent). A summary with a ``T`` column is read as a BTYD
        summary (:func:`~customer_value.data.summarize_transactions`), whose
        ``recency`` is the age at the last purchase: ``T - recency`` is then used.
        Summary columns are otherwise used as given (a BTYD ``frequency`` counts
        repeat purchases).
    customer_id_col, datetime_col, monetary_value_col : str
        Columns of the transaction log.
    observation_end : date-like, optional
        Date at which recency is measured; defaults to the last transaction date.
        Transactions after it are ignored.
    scale : {"quintile", "percentile"}, default "quintile"
        ``"quintile"`` gives integer scores 1-5 plus an ``rfm_code`` such as ``"545"``;
        ``"percentile"`` gives scores on 0-100 (as in playbooks saying "R >= 80").
    monetary : {"total", "mean"}, default "total"
        Total spend or mean spend per purchase (transaction input only).
    monetary_col : str, optional
        Monetary column of a summary; defaults to ``monetary`` or else
        ``monetary_value``.
    date_format : str, optional
        ``strftime`` format of the dates when they are numbers or strings with a numeric
        day and month; dates are read as in :func:`customer_value.data.summarize_transactions`.

    Returns
    -------
    DataFrame
        Indexed by customer: ``recency`` (days since the last purchase; in the
        summary's unit for summary input; a summary is indexed by its
        ``customer_id_col`` column when it has one, else keeps its index),
        ``frequency`` (number of purchases, i.e.
        rows), ``monetary``, ``r_score``, ``f_score``, ``m_score`` and, for the
        quintile scale, ``rfm_code``.

    Raises
    ------
    InvalidDataError
        Missing columns, missing ids, unparsable dates, NaN or negative amounts, an
        unknown ``scale`` or ``monetary``, a summary listing a customer twice.

    Notes
    -----
    Each dimension is first turned into a percentile: the share of the *other*
    customers whose value is strictly worse,

    .. math:: p_i = 100 \\, \\frac{\\#\\{j : x_j \\prec x_i\\}}{n - 1}
              = 100 \\, \\frac{r_i^{\\min} - 1}{n - 1},

    where :math:`r_i^{\\min}` is the lowest rank of customer *i*'s value (ascending
    frequency and monetary, descending recency, so that a recent purchase scores
    high). Equal raw values share that rank and therefore always get equal scores; no
    tie is split by row order. Quintile scores are
    :math:`q_i = \\min(\\lfloor p_i / 20 \\rfloor + 1, 5)`, so ``r_score == 5``
    exactly when the customer beats at least 80 % of the others on R; the two scales
    agree.

    Ties make bins uneven: a block of equal values lands as a whole in the bin of its
    lowest rank. On the CDNOW sample half of the customers bought once; they all share
    F percentile 0 and F score 1, the customers with two purchases jump to F score 3,
    and F score 2 stays empty. The worst value always scores 0 (score 1); a unique
    best value scores 100 (score 5), but when more than a fifth of the customers tie
    on the best value nobody reaches score 5. A column in which every value is equal
    scores 0 (score 1) throughout.

    Spend from a transaction log is ranked in whole millionths of the currency unit:
    totals and means depend, in their last bit, on the order in which the amounts are
    added, which differs between pandas and a distributed engine, and equal spends must
    tie everywhere. The ``monetary`` column keeps the unrounded value.

    References
    ----------
    Hughes, A. M. (1994). *Strategic Database Marketing*. Probus (RFM quintiles).
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using Iso-Value
    Curves for Customer Base Analysis. *Journal of Marketing Research*, 42(4), 415-430.

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> rfm = rfm_scores(load_cdnow_transactions())
    >>> rfm.shape
    (2357, 7)
    >>> rfm[["r_score", "f_score", "m_score"]].min().tolist()
    [1, 1, 1]
    >>> int((rfm["rfm_code"] == "555").sum()) > 0
    True
    """
    check_choice(scale, "scale", ("quintile", "percentile"))
    check_choice(monetary, "monetary", ("total", "mean"))
    if is_engine(transactions):
        end = None
        if observation_end is not None:
            end = parse_timestamp(observation_end, "observation_end", date_format=date_format)
        return rfm_engine(
            transactions,
            customer_id_col=customer_id_col,
            datetime_col=datetime_col,
            monetary_value_col=monetary_value_col,
            observation_end=observation_end,
            end=end,
            scale=scale,
            monetary=monetary,
            monetary_col=monetary_col,
        )
    frame = as_frame(transactions, what="data")
    from_log = datetime_col in frame.columns or "recency" not in frame.columns
    if from_log:
        index, recency, frequency, spend = _from_transactions(
            frame,
            customer_id_col=customer_id_col,
            datetime_col=datetime_col,
            monetary_value_col=monetary_value_col,
            observation_end=observation_end,
            monetary=monetary,
            date_format=date_format,
        )
    else:
        index, recency, frequency, spend = _from_summary(
            frame, monetary_col=monetary_col, customer_id_col=customer_id_col
        )
    r = _score(recency, higher_is_better=False, scale=scale)
    f = _score(frequency, higher_is_better=True, scale=scale)
    m = _score(spend_key(spend) if from_log else spend, higher_is_better=True, scale=scale)
    out = pd.DataFrame(
        {
            "recency": recency,
            "frequency": frequency,
            "monetary": spend,
            "r_score": r,
            "f_score": f,
            "m_score": m,
        },
        index=index,
    )
    if scale == "quintile":
        out["rfm_code"] = _CODE_LOOKUP[r * 100 + f * 10 + m]
    out.attrs["scale"] = scale
    return out
