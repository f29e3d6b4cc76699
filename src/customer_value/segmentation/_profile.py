"""A readable per-segment table for reports: size, share, mean RFM, revenue, categories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import (
    as_frame,
    describe_row,
    first_bad,
    numeric_column,
    require_columns,
    require_present,
)
from customer_value.errors import InvalidDataError

__all__ = ["segment_profile"]

_DEFAULT_MEANS = ("recency", "frequency", "monetary", "r_score", "f_score", "m_score")


def segment_profile(
    data: Any,
    segment_col: str = "segment",
    *,
    label_col: str | None = "segment_label",
    mean_cols: Sequence[str] | None = None,
    revenue_col: str | None = "monetary",
    transactions: Any = None,
    customer_id_col: str = "customer_id",
    category_col: str | None = None,
    monetary_value_col: str = "amount",
    top_n: int = 3,
) -> pd.DataFrame:
    """One row per segment: size, share, mean RFM, revenue share and top categories.

    Parameters
    ----------
    data : DataFrame or mapping
        One row per customer with a segment column, for example the output of
        :meth:`SegmentMap.assign`.
    segment_col : str, default "segment"
        Segment identifier column.
    label_col : str or None, default "segment_label"
        Chinese label column, copied when present.
    mean_cols : sequence of str, optional
        Columns averaged per segment; by default whichever of ``recency``,
        ``frequency``, ``monetary``, ``r_score``, ``f_score``, ``m_score`` exist.
    revenue_col : str or None, default "monetary"
        Per-customer revenue summed into ``revenue`` and ``revenue_share``; skipped
        when ``None`` or absent.
    transactions : DataFrame, optional
        Transaction log used for ``top_categories`` (with ``category_col``).
    customer_id_col, category_col, monetary_value_col : str
        Columns of ``transactions``; customers are matched on ``data``'s index.
    top_n : int, default 3
        Number of categories listed.

    Returns
    -------
    DataFrame
        Indexed by segment in the segment column's category order (or by decreasing
        size), listing observed segments only: ``segment_label``, ``size``, ``share``,
        ``mean_<col>`` per mean column, ``revenue``, ``revenue_share`` and
        ``top_categories`` (e.g. ``"rock 52%, pop 31%"``, shares of the segment's spend).

    Raises
    ------
    InvalidDataError
        Missing columns, a missing segment, NaN in a mean or revenue column.

    Notes
    -----
    ``share`` is the segment's share of customers and ``revenue_share`` its share of
    the summed revenue: comparing the two shows where value concentrates (the
    Pareto pattern of a customer base).

    References
    ----------
    Kumar, V., & Reinartz, W. (2018). *Customer Relationship Management* (3rd ed.),
    ch. 6: customer segmentation and profiling. Springer.

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> from customer_value.segmentation import CLASSIC_SEGMENTS, rfm_scores
    >>> rfm = CLASSIC_SEGMENTS.assign(rfm_scores(load_cdnow_transactions()))
    >>> table = segment_profile(rfm)
    >>> columns = ["segment_label", "size", "share", "revenue_share"]
    >>> table.loc[["champions", "lost"], columns].round(2)
              segment_label  size  share  revenue_share
    segment
    champions          冠军客户   414   0.18           0.49
    lost              已流失客户   860   0.36           0.11
    """
    frame = as_frame(data, what="data")
    require_columns(frame, [segment_col], what="data")
    segments = frame[segment_col]
    require_present(segments, segment_col, index=frame.index, what="data")
    if mean_cols is None:
        mean_cols = [c for c in _DEFAULT_MEANS if c in frame.columns]
    require_columns(frame, list(mean_cols), what="data")
    grouped = {c: numeric_column(frame, c, what="data") for c in mean_cols}
    size = segments.value_counts(sort=False)
    if isinstance(segments.dtype, pd.CategoricalDtype):
        order = [c for c in segments.cat.categories if size.get(c, 0) > 0]
    else:
        order = list(size.sort_values(ascending=False, kind="stable").index)
    out = pd.DataFrame(index=pd.Index(order, name=segment_col))
    if label_col is not None and label_col in frame.columns:
        labels = pd.Series(frame[label_col].astype(str).to_numpy(), index=segments.to_numpy())
        out["segment_label"] = labels.groupby(level=0, observed=True).first().reindex(order)
    out["size"] = size.reindex(order).astype(int).to_numpy()
    out["share"] = out["size"] / out["size"].sum()
    keys = segments.to_numpy()
    for col, values in grouped.items():
        out[f"mean_{col}"] = pd.Series(values).groupby(keys).mean().reindex(order).to_numpy()
    if revenue_col is not None and revenue_col in frame.columns:
        revenue = numeric_column(frame, revenue_col, what="data")
        # shares from revenue / u (u the largest power of two <= max |revenue|): the sums of
        # huge revenues may overflow, their shares must not become 0 or NaN
        biggest = float(np.max(np.abs(revenue)))
        u = float(np.exp2(np.floor(np.log2(biggest)))) if biggest > 0 else 1.0
        sums = pd.Series(revenue / u).groupby(keys).sum().reindex(order).to_numpy()
        with np.errstate(over="ignore"):  # a total beyond 1.8e308 is inf; its share is not
            out["revenue"] = sums * u
        total = sums.sum()
        out["revenue_share"] = sums / total if total > 0 else np.zeros(len(order))
    if transactions is not None and category_col is not None:
        tx = as_frame(transactions, what="transactions")
        require_columns(
            tx, [customer_id_col, category_col, monetary_value_col], what="transactions"
        )
        spend = numeric_column(tx, monetary_value_col, what="transactions")
        pos = first_bad(frame.index.duplicated())
        if pos is not None:
            raise InvalidDataError(
                "data: customers are matched to transactions on the index, which must be "
                f"unique; {describe_row(frame.index, pos)} repeats customer "
                f"{frame.index[pos]!r}"
            )
        seg_of = pd.Series(keys, index=frame.index)
        tx_seg = seg_of.reindex(tx[customer_id_col].to_numpy()).to_numpy()
        known = pd.notna(tx_seg)
        by = pd.DataFrame(
            {"segment": tx_seg[known], "category": tx[category_col].to_numpy()[known],
             "spend": spend[known]}
        )  # fmt: skip
        table = by.groupby(["segment", "category"], observed=True)["spend"].sum()
        shares = table / table.groupby(level=0).transform("sum")
        tops = {}
        for seg, part in shares.groupby(level=0):
            best = part.droplevel(0).sort_values(ascending=False, kind="stable").head(top_n)
            tops[seg] = ", ".join(f"{cat} {share:.0%}" for cat, share in best.items())
        out["top_categories"] = [tops.get(seg, "") for seg in order]
    return out
