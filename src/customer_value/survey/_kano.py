"""Kano model: classify feature requirements from functional/dysfunctional answer pairs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._validation import (
    as_frame,
    describe_row,
    plain,
    require_columns,
    require_present,
)
from customer_value.errors import InvalidDataError

__all__ = ["KANO_TABLE", "kano_category", "kano_summary"]

#: Answer order of the five-point Kano scale (rows/columns of the evaluation table).
KANO_ANSWERS = ("like", "must-be", "neutral", "live-with", "dislike")

#: Standard Kano evaluation table (Berger et al. 1993): row = answer to the
#: functional question, column = answer to the dysfunctional question, both in the order
#: like, must-be, neutral, live-with, dislike.
KANO_TABLE: tuple[tuple[str, ...], ...] = (
    ("Q", "A", "A", "A", "O"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "R", "R", "R", "Q"),
)

_CATEGORY_ORDER = ("M", "O", "A", "I", "R", "Q")  # tie-break: M > O > A > I (Berger et al.)

_NEED_LEVEL = {
    "M": ("basic need", "基本需求"),
    "O": ("expected need", "期望需求"),
    "A": ("surprise need", "惊喜需求"),
    "I": ("indifferent", "无差异需求"),
    "R": ("reverse", "反向需求"),
    "Q": ("questionable", "可疑结果"),
}

_SYNONYMS: dict[str, int] = {}
for _code, _words in {
    1: ("like", "i like it", "i like it that way", "like it", "喜欢", "我喜欢"),
    2: (
        "must-be",
        "must be",
        "mustbe",
        "must-be that way",
        "i expect it",
        "expect",
        "expected",
        "理所当然",
        "必须的",
    ),
    3: ("neutral", "i am neutral", "i'm neutral", "无所谓", "中立"),
    4: (
        "live-with",
        "live with",
        "livewith",
        "i can live with it",
        "can live with it",
        "tolerate",
        "能忍受",
        "可以忍受",
    ),
    5: ("dislike", "i dislike it", "i dislike it that way", "dislike it", "不喜欢", "我不喜欢"),
}.items():
    for _w in _words:
        _SYNONYMS[_w] = _code
    _SYNONYMS[str(_code)] = _code

_TABLE = np.array(KANO_TABLE, dtype=object)


def _answer_codes(values: Any, name: str) -> Any:
    """Map answers (English, Chinese or 1-5) to codes 0-4; raise on the first unknown one."""
    index = values.index if isinstance(values, pd.Series) else None
    raw = pd.Series(np.asarray(values, dtype=object).reshape(-1))
    # normalise each distinct answer once, then broadcast through the factor codes
    factor, uniques = pd.factorize(raw, use_na_sentinel=True)
    unique_codes = np.array([_SYNONYMS.get(_key(u), 0) for u in uniques], dtype=np.int64)
    unique_codes = np.append(unique_codes, 0)  # slot for missing values (factor == -1)
    codes_all = unique_codes[np.where(factor < 0, len(uniques), factor)]
    bad = codes_all == 0
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InvalidDataError(
            f"{name}: unknown Kano answer; {describe_row(index, pos)} has "
            f"{name}={plain(raw.iloc[pos])!r}. Expected one of like, must-be, neutral, live-with, "
            "dislike (or 喜欢, 理所当然, 无所谓, 能忍受, 不喜欢, or 1-5)"
        )
    return codes_all - 1


def _key(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if np.isfinite(value) and value == int(value) else ""
    if isinstance(value, str):
        return " ".join(value.strip().lower().replace("_", "-").split())
    return ""


def kano_category(functional: Any, dysfunctional: Any) -> Any:
    """Kano category of each (functional, dysfunctional) answer pair.

    Parameters
    ----------
    functional : scalar, array-like or Series
        Answers to "How do you feel if the product HAS this feature?".
    dysfunctional : scalar, array-like or Series
        Answers to "How do you feel if the product does NOT have this feature?", same
        length. Answers are ``like``, ``must-be``, ``neutral``, ``live-with``, ``dislike``
        (case-insensitive; "must be", "I expect it", "live with", "I can live with it" are
        accepted), the Chinese 喜欢, 理所当然, 无所谓, 能忍受, 不喜欢, or the codes 1-5.

    Returns
    -------
    str, ndarray of str, or Series
        ``"A"`` attractive, ``"O"`` one-dimensional, ``"M"`` must-be, ``"I"`` indifferent,
        ``"R"`` reverse, ``"Q"`` questionable: a string for scalar input, a Series (index
        of ``functional``) for Series input, an object ndarray otherwise.

    Raises
    ------
    InvalidDataError
        For an unknown answer (naming the argument, the row and the value) or inputs of
        different lengths.

    Notes
    -----
    The standard evaluation table (rows: functional answer, columns: dysfunctional
    answer; order like, must-be, neutral, live-with, dislike)::

                   like  must-be  neutral  live-with  dislike
        like        Q      A        A         A         O
        must-be     R      I        I         I         M
        neutral     R      I        I         I         M
        live-with   R      I        I         I         M
        dislike     R      R        R         R         Q

    References
    ----------
    Kano, N., Seraku, N., Takahashi, F. & Tsuji, S. (1984). Attractive quality and
    must-be quality. *Journal of the Japanese Society for Quality Control* 14(2), 39-48.
    Berger, C. et al. (1993). Kano's methods for understanding customer-defined quality.
    *Center for Quality of Management Journal* 2(4), 3-36 (the evaluation table and the
    better/worse coefficients).

    Examples
    --------
    >>> kano_category("like", "dislike")
    'O'
    >>> kano_category(["喜欢", "neutral", 3], ["无所谓", "dislike", 3]).tolist()
    ['A', 'M', 'I']
    """
    scalar = np.ndim(functional) == 0 and np.ndim(dysfunctional) == 0
    f = _answer_codes([functional] if np.ndim(functional) == 0 else functional, "functional")
    d = _answer_codes(
        [dysfunctional] if np.ndim(dysfunctional) == 0 else dysfunctional, "dysfunctional"
    )
    if f.shape != d.shape:
        raise InvalidDataError(
            f"functional and dysfunctional must have the same length, got {f.size} and {d.size}"
        )
    cats = _TABLE[f, d]
    if scalar:
        return str(cats[0])
    if isinstance(functional, pd.Series):
        return pd.Series(cats, index=functional.index, name="category", dtype=object)
    return cats


def kano_summary(
    data: Any,
    *,
    feature_col: str = "feature",
    functional_col: str = "functional",
    dysfunctional_col: str = "dysfunctional",
) -> pd.DataFrame:
    """Kano table per feature: category counts, dominant category, better/worse, needs level.

    Parameters
    ----------
    data : DataFrame or mapping of column name to array
        One row per respondent and feature (long format).
    feature_col, functional_col, dysfunctional_col : str
        Column names of the feature and the two answers (see :func:`kano_category`).

    Returns
    -------
    DataFrame
        Indexed by feature (sorted): counts ``A, O, M, I, R, Q``, ``n``, ``category`` (the
        most frequent; ties broken M > O > A > I > R > Q), ``better``, ``worse``,
        ``need_level`` (``"basic need"`` for M, ``"expected need"`` for O, ``"surprise
        need"`` for A, ``"indifferent"``, ``"reverse"``, ``"questionable"``) and
        ``need_level_zh`` (基本需求, 期望需求, 惊喜需求, 无差异需求, 反向需求, 可疑结果).

    Raises
    ------
    InvalidDataError
        For a missing column, a missing feature label or an unknown answer (row and value
        named).

    Notes
    -----
    Customer satisfaction coefficients (Berger et al. 1993):

    .. math:: \\text{better} = \\frac{A + O}{A + O + M + I}, \\qquad
              \\text{worse} = -\\frac{O + M}{A + O + M + I}.

    A feature whose answers are all R or Q has no denominator; its better and worse are
    reported as 0.

    References
    ----------
    Berger, C. et al. (1993). Kano's methods for understanding customer-defined quality.
    *Center for Quality of Management Journal* 2(4), 3-36. Kano, N. et al. (1984).
    Attractive quality and must-be quality. *Journal of the Japanese Society for Quality
    Control* 14(2), 39-48.

    Examples
    --------
    >>> import pandas as pd
    >>> answers = pd.DataFrame({
    ...     "feature": ["wifi"] * 3 + ["free_gift"] * 3,
    ...     "functional": ["neutral", "neutral", "like", "like", "like", "neutral"],
    ...     "dysfunctional": ["dislike", "dislike", "dislike", "neutral", "neutral", "neutral"]})
    >>> kano_summary(answers)[["category", "better", "worse", "need_level_zh"]].round(2)
              category  better  worse need_level_zh
    feature
    free_gift        A    0.67   0.00          惊喜需求
    wifi             M    0.33  -1.00          基本需求
    """
    what = "data"
    frame = as_frame(data, what=what)
    require_columns(frame, [feature_col, functional_col, dysfunctional_col], what=what)
    features = frame[feature_col]
    require_present(features, feature_col, index=frame.index, what=what)
    # the frames' own index, so that an unknown answer is reported with its row label
    cats = kano_category(frame[functional_col], frame[dysfunctional_col])
    codes, uniques = pd.factorize(features, sort=True)
    cat_codes = pd.Categorical(np.asarray(cats), categories=list(_CATEGORY_ORDER)).codes
    n_feat = len(uniques)
    counts = np.bincount(
        np.asarray(codes, dtype=np.int64) * 6 + cat_codes, minlength=6 * n_feat
    ).reshape(n_feat, 6)
    table = pd.DataFrame(counts, columns=list(_CATEGORY_ORDER), index=pd.Index(uniques))
    table.index.name = feature_col
    table = table[["A", "O", "M", "I", "R", "Q"]]
    table["n"] = counts.sum(axis=1)
    # argmax over M, O, A, I, R, Q returns the first maximum: the documented tie-break
    dominant = np.asarray(_CATEGORY_ORDER)[np.argmax(counts, axis=1)]
    table["category"] = dominant
    a, o, m, i = (table[c].to_numpy(dtype=np.float64) for c in ("A", "O", "M", "I"))
    denom = a + o + m + i
    safe = np.where(denom > 0, denom, 1.0)
    table["better"] = np.where(denom > 0, (a + o) / safe, 0.0)
    table["worse"] = np.where(denom > 0, -(o + m) / safe, 0.0) + 0.0  # no -0.0
    table["need_level"] = [_NEED_LEVEL[c][0] for c in dominant]
    table["need_level_zh"] = [_NEED_LEVEL[c][1] for c in dominant]
    return table
