"""Key driver analysis (Johnson's relative weights) and importance-performance analysis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from customer_value._validation import FloatArray, as_frame, check_choice, require_columns
from customer_value.errors import InvalidDataError
from customer_value.survey._common import item_matrix, pow2_scale

__all__ = ["QUADRANTS", "importance_performance", "key_driver_analysis"]

#: Importance-performance quadrant labels (Martilla & James 1977).
QUADRANTS = {
    (True, False): "concentrate here",
    (True, True): "keep up the good work",
    (False, False): "low priority",
    (False, True): "possible overkill",
}


def _driver_data(
    data: Any, outcome: str, drivers: Sequence[str], *, what: str
) -> tuple[FloatArray, FloatArray, list[str], int]:
    frame = as_frame(data, what=what)
    if isinstance(drivers, str):
        raise InvalidDataError(f"drivers must be a list of column names, got {drivers!r}")
    drivers = list(drivers)
    if len(drivers) < 1:
        raise InvalidDataError("drivers: at least one driver column is needed")
    if outcome in drivers:
        raise InvalidDataError(f"outcome {outcome!r} is also listed among the drivers")
    require_columns(frame, [outcome, *drivers], what=what)
    matrix, names, _ = item_matrix(frame, [outcome, *drivers], what=what)
    complete = ~np.isnan(matrix).any(axis=1)
    matrix = matrix[complete]
    n = matrix.shape[0]
    if n < len(drivers) + 2:
        raise InvalidDataError(
            f"{what}: {n} complete row(s) for {len(drivers)} driver(s); at least "
            f"{len(drivers) + 2} are needed"
        )
    # exact test: the floating-point sd of seven values 0.1 is 1e-17, not 0
    constant = matrix.max(axis=0) == matrix.min(axis=0)
    for j, name in enumerate(names):
        if constant[j]:
            role = "outcome" if j == 0 else "driver"
            raise InvalidDataError(
                f"{what}: {role} {name!r} is constant (every complete row has "
                f"{name}={float(matrix[0, j])!r}); its correlation is undefined"
            )
    return matrix[:, 0], matrix[:, 1:], names[1:], n


def _relative_weights(y: FloatArray, x: FloatArray, names: list[str]) -> tuple[Any, ...]:
    # Correlations ignore each column's unit and origin: scale to [-1, 1], centre, scale
    # again (powers of two, exact), so values like 1e300 or 1e-300 neither overflow nor
    # underflow in the products.
    data = np.column_stack([y, x])
    data = data / pow2_scale(data, axis=0)
    data = data - data.mean(axis=0)
    data = data / pow2_scale(data, axis=0)
    corr = np.asarray(np.corrcoef(data, rowvar=False), dtype=np.float64)
    rxx = corr[1:, 1:]
    rxy = corr[1:, 0]
    evals, evecs = np.linalg.eigh(rxx)
    if evals.min() < 1e-10 * max(evals.max(), 1.0):
        raise InvalidDataError(
            f"drivers {names} are perfectly collinear (their correlation matrix is singular); "
            "drop or combine redundant drivers"
        )
    # Lambda = R_xx^{1/2}: correlations between the drivers and their closest orthogonal set Z
    lam = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    beta = evecs @ np.diag(1.0 / np.sqrt(evals)) @ evecs.T @ rxy  # regression of y on Z
    raw = (lam * lam) @ (beta * beta)
    return rxy, raw


def key_driver_analysis(data: Any, *, outcome: str, drivers: Sequence[str]) -> pd.DataFrame:
    """Which drivers matter most for an outcome (overall satisfaction, NPS rating...).

    Parameters
    ----------
    data : DataFrame or mapping of column name to array
        One row per respondent. Rows with a missing value in ``outcome`` or any driver are
        left out (listwise).
    outcome : str
        The outcome column (for example overall satisfaction or likelihood to recommend).
    drivers : list of str
        The attribute ratings that may drive the outcome.

    Returns
    -------
    DataFrame
        Indexed by driver (in the order given): ``correlation`` with the outcome,
        ``relative_weight`` (Johnson's raw weight; they sum to the model's :math:`R^2`),
        ``share`` (weight / :math:`R^2`, sums to 1) and ``rank`` (1 = most important).
        ``attrs["r_squared"]`` holds :math:`R^2` and ``attrs["n"]`` the rows used.

    Raises
    ------
    InvalidDataError
        For a missing column, non-numeric values (row and value named), a constant driver or
        outcome, perfectly collinear drivers, or too few complete rows.

    Notes
    -----
    Johnson (2000): with driver correlation matrix :math:`R_{xx} = V \\Lambda V^\\top`
    and correlations :math:`r_{xy}` with the outcome, the orthogonal counterparts
    :math:`Z` of the drivers have :math:`\\Lambda_{xz} = V\\Lambda^{1/2}V^\\top` and
    regression weights :math:`\\beta = \\Lambda_{xz}^{-1} r_{xy}`. The raw
    relative weight of driver :math:`j` is
    :math:`\\varepsilon_j = \\sum_k \\lambda_{jk}^2 \\beta_k^2`, and
    :math:`\\sum_j \\varepsilon_j = R^2`. The weights approximate the Shapley decomposition
    of :math:`R^2` (dominance analysis, Budescu 1993) at a fraction of its cost; with
    strongly correlated drivers the two can differ noticeably (Thomas et al. 2014), so
    treat close weights as ties.

    References
    ----------
    Johnson, J. W. (2000). A heuristic method for estimating the relative weight of
    predictor variables in multiple regression. *Multivariate Behavioral Research* 35(1),
    1-19. Budescu, D. V. (1993). Dominance analysis. *Psychological Bulletin* 114(3),
    542-551. Thomas, D. R., Zumbo, B. D., Kwan, E. & Schweitzer, L. (2014). On Johnson's
    (2000) relative weights method for assessing variable importance: a reanalysis.
    *Multivariate Behavioral Research* 49(4), 329-338.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 3))
    >>> df = pd.DataFrame(x, columns=["staff", "price", "speed"])
    >>> df["overall"] = 2 * df["staff"] + df["price"] + rng.normal(size=500)
    >>> kda = key_driver_analysis(df, outcome="overall", drivers=["staff", "price", "speed"])
    >>> kda["rank"].tolist(), round(float(kda["relative_weight"].sum()), 2)
    ([1, 2, 3], 0.83)
    """
    y, x, names, n = _driver_data(data, outcome, drivers, what="data")
    rxy, raw = _relative_weights(y, x, names)
    r2 = float(raw.sum())
    share = raw / r2 if r2 > 0 else np.full_like(raw, 1.0 / raw.size)
    out = pd.DataFrame(
        {
            "correlation": rxy,
            "relative_weight": raw,
            "share": share,
            "rank": pd.Series(-raw).rank(method="min").astype(np.int64).to_numpy(),
        },
        index=pd.Index(names, name="driver"),
    )
    out.attrs["r_squared"] = r2
    out.attrs["n"] = n
    return out


def importance_performance(
    data: Any,
    *,
    outcome: str,
    drivers: Sequence[str],
    importance: Literal["relative_weight", "correlation"] = "relative_weight",
    importance_threshold: float | None = None,
    performance_threshold: float | None = None,
) -> pd.DataFrame:
    """Importance-performance analysis: place each driver in one of four action quadrants.

    Parameters
    ----------
    data : DataFrame or mapping of column name to array
        One row per respondent (rows with a missing value are left out).
    outcome : str
        The outcome column.
    drivers : list of str
        The attribute ratings.
    importance : {"relative_weight", "correlation"}, default "relative_weight"
        Derived importance: the driver's share of :math:`R^2` (Johnson 2000) or its
        correlation with the outcome.
    importance_threshold, performance_threshold : float, optional
        Where the quadrant lines cross; default the mean importance and the mean
        performance over the drivers (the data-centred grid).

    Returns
    -------
    DataFrame
        Indexed by driver: ``importance``, ``performance`` (mean rating of the driver) and
        ``quadrant``: ``"concentrate here"`` (important, under-performing),
        ``"keep up the good work"`` (important, performing), ``"low priority"`` (neither),
        ``"possible overkill"`` (performing but unimportant). Values exactly on a line count
        as high.

    Raises
    ------
    InvalidDataError
        As :func:`key_driver_analysis`, or a bad ``importance`` choice.

    Notes
    -----
    Martilla & James (1977) plot importance against performance and split the plane at
    the grid lines; derived importance replaces stated importance (Johnson 2000).

    References
    ----------
    Martilla, J. A. & James, J. C. (1977). Importance-performance analysis. *Journal of
    Marketing* 41(1), 77-79 (Figure 1, the four quadrants). Johnson, J. W. (2000).
    *Multivariate Behavioral Research* 35(1), 1-19.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"staff": rng.integers(3, 6, 300), "price": rng.integers(1, 4, 300),
    ...                    "decor": rng.integers(4, 6, 300), "parking": rng.integers(1, 3, 300)})
    >>> df["overall"] = df["staff"] + df["price"] + rng.normal(scale=0.5, size=300)
    >>> ipa = importance_performance(df, outcome="overall",
    ...                              drivers=["staff", "price", "decor", "parking"])
    >>> ipa["quadrant"].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'staff': 'keep up the good work', 'price': 'concentrate here',
     'decor': 'possible overkill', 'parking': 'low priority'}
    """
    check_choice(importance, "importance", ("relative_weight", "correlation"))
    kda = key_driver_analysis(data, outcome=outcome, drivers=drivers)
    frame = as_frame(data, what="data")
    require_columns(frame, list(drivers), what="data")
    _, x, names, _ = _driver_data(frame, outcome, drivers, what="data")
    imp = (kda["share"] if importance == "relative_weight" else kda["correlation"]).to_numpy()
    perf = x.mean(axis=0)
    imp_line = float(np.mean(imp)) if importance_threshold is None else float(importance_threshold)
    perf_line = (
        float(np.mean(perf)) if performance_threshold is None else float(performance_threshold)
    )
    quadrant = [
        QUADRANTS[(bool(i >= imp_line), bool(p >= perf_line))]
        for i, p in zip(imp, perf, strict=True)
    ]
    out = pd.DataFrame(
        {"importance": imp, "performance": perf, "quadrant": quadrant},
        index=pd.Index(names, name="driver"),
    )
    out.attrs["importance_threshold"] = imp_line
    out.attrs["performance_threshold"] = perf_line
    out.attrs["importance"] = importance
    return out
