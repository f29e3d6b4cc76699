"""Long transaction tables to sparse incidence matrices (rows x items), validated once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from customer_value._validation import (
    as_frame,
    describe_row,
    first_bad,
    numeric_column,
    plain,
    require_columns,
    require_present,
)
from customer_value.errors import InvalidDataError


@dataclass(frozen=True)
class Incidence:
    """A CSR matrix (rows x items, float64) with the labels of its rows and columns."""

    matrix: sp.csr_matrix
    row_labels: pd.Index
    item_labels: pd.Index


def _missing(frame: pd.DataFrame, column: str, what: str) -> None:
    require_present(frame[column], column, index=frame.index, what=what)


def _codes(values: pd.Series) -> tuple[npt.NDArray[np.int64], pd.Index]:
    """Integer codes in sorted label order (deterministic whatever the row order)."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64, copy=False), pd.Index(uniques)


def row_codes(
    frame: pd.DataFrame, columns: Sequence[str]
) -> tuple[npt.NDArray[np.int64], pd.Index]:
    """Codes of the row key (one column, or several such as customer x period)."""
    if len(columns) == 1:
        return _codes(frame[columns[0]])
    keys = pd.MultiIndex.from_frame(frame[list(columns)])
    codes, uniques = pd.factorize(keys, sort=True)
    return codes.astype(np.int64, copy=False), pd.Index(uniques)


def encode(
    data: Any,
    *,
    row_cols: str | Sequence[str],
    item_col: str,
    weight_col: str | None = None,
    binary: bool = True,
    what: str = "transactions",
) -> Incidence:
    """Validate a long table and build its rows x items matrix.

    With ``binary=True`` repeated (row, item) pairs count once (a basket is a set);
    otherwise their weights (1 per line without ``weight_col``) add up.
    """
    frame = as_frame(data, what=what)
    rows = [row_cols] if isinstance(row_cols, str) else list(row_cols)
    if not rows:
        raise InvalidDataError(f"{what}: at least one basket/customer column is needed")
    needed = [*rows, item_col] + ([weight_col] if weight_col is not None else [])
    require_columns(frame, needed, what=what)
    for column in [*rows, item_col]:
        _missing(frame, column, what)
    if weight_col is None:
        weights = np.ones(len(frame), dtype=np.float64)
    else:
        weights = numeric_column(frame, weight_col, what=what)
        pos = first_bad(weights <= 0)
        if pos is not None:
            raise InvalidDataError(
                f"{what}: column {weight_col!r} must be > 0; "
                f"{describe_row(frame.index, pos)} has {weight_col}={plain(weights[pos])!r}"
            )
    r, row_labels = row_codes(frame, rows)
    c, item_labels = _codes(frame[item_col])
    shape = (len(row_labels), len(item_labels))
    matrix = sp.csr_matrix((weights, (r, c)), shape=shape, dtype=np.float64)
    matrix.sum_duplicates()
    if binary:
        matrix.data[:] = 1.0
    matrix.sort_indices()
    return Incidence(matrix=matrix, row_labels=row_labels, item_labels=item_labels)
