"""Likert items: reverse coding and scale scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from customer_value._validation import check_choice, check_scalar, index_of, scale_answers
from customer_value.errors import InvalidDataError
from customer_value.survey._common import check_scale, item_matrix

__all__ = ["reverse_code", "scale_scores"]


def reverse_code(values: Any, *, scale: tuple[float, float] = (1, 5)) -> Any:
    """Reverse-code Likert answers: ``low + high - x`` (on 1-5, 1 <-> 5 and 2 <-> 4).

    Parameters
    ----------
    values : scalar, array-like, Series or DataFrame
        Answers on ``scale``; NaN (no answer) stays NaN.
    scale : (low, high), default (1, 5)
        The answer scale.

    Returns
    -------
    same kind as ``values``
        A float for a scalar, a float ndarray of the same shape for an array, a
        Series/DataFrame with the same index (and columns) for pandas input.

    Raises
    ------
    InvalidDataError
        For non-numeric or off-scale answers (the message names the row and the value).

    Notes
    -----
    :math:`x' = L + H - x` maps the scale onto itself and reverses its order; applying it
    twice gives back the original answers.

    References
    ----------
    Likert, R. (1932). A technique for the measurement of attitudes. *Archives of
    Psychology* 22(140), 1-55.

    Examples
    --------
    >>> reverse_code([1, 2, 5])
    array([5., 4., 1.])
    >>> reverse_code(3, scale=(0, 10))
    7.0
    """
    low, high = check_scale(scale)
    if isinstance(values, pd.DataFrame):
        out = values.copy()
        for column in values.columns:
            x = scale_answers(
                values[column].to_numpy(),
                str(column),
                low,
                high,
                index=values.index,
                integer=False,
                what="values",
            )
            out[column] = low + high - x
        return out
    if np.ndim(values) == 0:
        x = scale_answers(np.array([values]), "value", low, high, integer=False, what="values")
        return float(low + high - x[0])
    shape = np.shape(values)
    if len(shape) > 1 and not isinstance(values, pd.Series):  # a table of answers
        x = scale_answers(np.asarray(values).reshape(-1), "value", low, high, integer=False)
        return (low + high - x).reshape(shape)
    x = scale_answers(values, "value", low, high, index=index_of(values), integer=False)
    flipped = low + high - x
    if isinstance(values, pd.Series):
        return pd.Series(flipped, index=values.index, name=values.name)
    return flipped


def scale_scores(
    data: Any,
    items: Sequence[str],
    *,
    reverse: Sequence[str] = (),
    scale: tuple[float, float] = (1, 5),
    method: Literal["mean", "sum"] = "mean",
    min_answered: int = 1,
) -> pd.Series:
    """Score a multi-item Likert scale per respondent, reverse-coding negative items first.

    Parameters
    ----------
    data : DataFrame or mapping of column name to array
        One row per respondent.
    items : list of str
        The columns that make up the scale.
    reverse : list of str, default ()
        Items worded in the opposite direction; they are reverse-coded on ``scale``.
    scale : (low, high), default (1, 5)
        The answer scale (every item's answers must lie on it).
    method : {"mean", "sum"}, default "mean"
        ``"mean"``: mean of the answered items. ``"sum"``: the prorated sum, mean times the
        number of items, so respondents with a skipped item stay comparable.
    min_answered : int, default 1
        Respondents who answered fewer items get NaN (the only case of a missing score).

    Returns
    -------
    Series
        One score per respondent, indexed like ``data``, named ``"scale_score"``.

    Raises
    ------
    InvalidDataError
        For a missing column, a ``reverse`` item not in ``items``, non-numeric or off-scale
        answers (row and value named), or a bad ``method``/``min_answered``.

    Notes
    -----
    Score :math:`= \\frac{1}{|A_i|}\\sum_{j \\in A_i} x'_{ij}` over the answered items
    :math:`A_i`, with :math:`x' = L + H - x` for reversed items (times the number of items
    for ``method="sum"``).

    References
    ----------
    Likert, R. (1932). A technique for the measurement of attitudes. *Archives of
    Psychology* 22(140), 1-55.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"q1": [5, 4, 2], "q2": [4, 4, 1], "q3_neg": [1, 2, 5]})
    >>> scale_scores(df, ["q1", "q2", "q3_neg"], reverse=["q3_neg"]).round(2).tolist()
    [4.67, 4.0, 1.33]
    """
    check_choice(method, "method", ("mean", "sum"))
    low, high = check_scale(scale)
    if isinstance(reverse, str):
        raise InvalidDataError(f"reverse must be a list of item names, got {reverse!r}")
    min_ans_f = check_scalar(min_answered, "min_answered", low=1)
    if not float(min_ans_f).is_integer():
        raise InvalidDataError(f"min_answered must be a whole number, got {min_answered!r}")
    min_ans = int(min_ans_f)
    if min_ans > len(items):
        raise InvalidDataError(
            f"min_answered={min_answered!r} exceeds the number of items ({len(items)})"
        )
    unknown = [r for r in reverse if r not in items]
    if unknown:
        raise InvalidDataError(f"reverse names item(s) not in items: {unknown}")
    matrix, names, index = item_matrix(data, items, what="data")
    for j, name in enumerate(names):
        scale_answers(matrix[:, j], name, low, high, index=index, integer=False, what="data")
        if name in reverse:
            matrix[:, j] = low + high - matrix[:, j]
    answered = np.sum(~np.isnan(matrix), axis=1)
    totals = np.nansum(matrix, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(answered >= min_ans, totals / np.maximum(answered, 1), np.nan)
    scores = means * len(names) if method == "sum" else means
    return pd.Series(scores, index=index, name="scale_score")
