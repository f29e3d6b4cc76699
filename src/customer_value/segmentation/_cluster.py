"""Behavioural and psychographic clusters: k-means++ with restarts, k chosen by silhouette."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from customer_value._estimator import ParamsMixin, check_is_fitted, deprecated_eager_check
from customer_value._progress import Progress, get_logger
from customer_value._validation import (
    FloatArray,
    IntArray,
    as_frame,
    check_weights,
    numeric_column,
    require_columns,
)
from customer_value.errors import InvalidDataError
from customer_value.segmentation._kmeans import (
    TooFewDistinctError,
    assign,
    kmeans,
    moments,
    pow2_scale,
    silhouette,
)
from customer_value.segmentation._segment_spec import categorical

__all__ = ["ClusterSegmenter"]

_LOG = get_logger("segmentation.cluster")


class ClusterSegmenter(ParamsMixin):
    """k-means segments of behavioural or psychographic features, with personas.

    Parameters
    ----------
    n_segments : int or "auto", default "auto"
        Number of clusters; ``"auto"`` picks the k in ``k_range`` with the highest
        silhouette width, computed on a sample.
    standardize : bool, default True
        Cluster z-scores (weighted mean 0, standard deviation 1 per feature) so that
        features in large units do not dominate; constant features are left at 0.
    random_state : int, optional
        Seed; the same seed gives the same segments. ``None`` draws fresh entropy.
    n_init : int, default 4
        k-means++ restarts; the run with the lowest inertia is kept.
    max_iter : int, default 300
        Lloyd iterations per run.
    tol : float, default 1e-4
        Stop when the total squared centre shift is at most ``tol`` times the mean
        feature variance (or when no label changes).
    k_range : (int, int), default (2, 10)
        Smallest and largest k tried by ``"auto"``.
    restart_sample : int or None, default 100000
        On more rows than this, the ``n_init`` restarts run on a random subsample of
        this size and the best one is refined on all rows (one full Lloyd run
        instead of ``n_init``). ``None`` restarts on all rows.
    selection_sample : int, default 20000
        ``"auto"`` compares the candidate k on a random subsample of this many rows,
        then fits the chosen k on all rows.
    silhouette_sample : int, default 3000
        Rows on which each candidate's silhouette width is computed.
    progress : bool, default False
        Show progress of the k selection on stderr.

    Attributes
    ----------
    labels_ : Series of int
        Cluster of each fitted row (0 is the largest cluster), indexed like the data.
    segments_ : DataFrame
        ``segment`` (``"cluster_1"``...) and ``segment_label`` (``"客群1"``...) per row.
    cluster_centers_ : DataFrame
        Centres in the original units, one row per cluster.
    inertia_ : float
        Weighted within-cluster sum of squares in the clustered (standardised) space.
    n_segments_ : int
        Number of clusters fitted.
    n_iter_ : int
        Lloyd iterations of the kept run.
    silhouette_scores_ : Series or None
        Silhouette width per candidate k (``"auto"`` only).
    columns_ : list of str
        Feature columns used.

    Raises
    ------
    InvalidDataError
        In :meth:`fit` (the constructor only stores its arguments, as in scikit-learn):
        invalid options, missing or non-numeric columns, NaN values, or ``n_segments``
        larger than the number of distinct rows. Until 0.2 the constructor also raises
        for invalid options, with a :class:`DeprecationWarning`.

    Notes
    -----
    k-means minimises the inertia :math:`\\sum_i w_i \\lVert x_i - \\mu_{c(i)}\\rVert^2`
    by Lloyd's alternation (assign to the nearest centre, move centres to the
    weighted means). Seeding is greedy k-means++: the first centre is drawn with
    probability :math:`\\propto w_i`, each next one among :math:`2 + \\ln k` candidates
    drawn with probability :math:`\\propto w_i D(x_i)^2` (Arthur & Vassilvitskii 2007,
    sec. 2.2), keeping the candidate that lowers the potential most. The silhouette
    width of a point is :math:`s = (b - a)/\\max(a, b)` (Rousseeuw 1987, eq. 11).

    On large data the restarts run on ``restart_sample`` rows and only the best
    seeding is iterated on every row: the restarts exist to escape poor local
    optima, which a 100,000-row sample already reveals, and this keeps a million
    rows within seconds. ``"auto"`` likewise compares k on ``selection_sample``
    rows and fits the chosen k on all of them.

    References
    ----------
    Lloyd, S. P. (1982). Least squares quantization in PCM. *IEEE Transactions on
    Information Theory*, 28(2), 129-137.
    Arthur, D., & Vassilvitskii, S. (2007). k-means++: The Advantages of Careful
    Seeding. *Proceedings of SODA 2007*, 1027-1035.
    Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and
    validation of cluster analysis. *Journal of Computational and Applied
    Mathematics*, 20, 53-65.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> data = pd.DataFrame({
    ...     "price_sensitivity": np.r_[rng.normal(0.8, 0.05, 50), rng.normal(0.1, 0.05, 50)],
    ...     "basket_size": np.r_[rng.normal(2, 0.3, 50), rng.normal(6, 0.5, 50)],
    ... })
    >>> model = ClusterSegmenter(random_state=1).fit(data)
    >>> model.n_segments_, model.labels_.value_counts().tolist()
    (2, [50, 50])
    >>> model.profile()[["segment", "segment_label", "size"]]
              segment segment_label  size
    cluster
    0       cluster_1           客群1    50
    1       cluster_2           客群2    50
    """

    def __init__(
        self,
        n_segments: int | str = "auto",
        *,
        standardize: bool = True,
        random_state: int | None = None,
        n_init: int = 4,
        max_iter: int = 300,
        tol: float = 1e-4,
        k_range: tuple[int, int] = (2, 10),
        restart_sample: int | None = 100_000,
        selection_sample: int = 20_000,
        silhouette_sample: int = 3_000,
        progress: bool = False,
    ) -> None:
        # Hyper-parameters only, stored as given (validated in fit; see docs/contributing).
        self.n_segments = n_segments
        self.standardize = standardize
        self.random_state = random_state
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.k_range = k_range
        self.restart_sample = restart_sample
        self.selection_sample = selection_sample
        self.silhouette_sample = silhouette_sample
        self.progress = progress
        # Until 0.2 invalid options still raise here too, with a DeprecationWarning.
        deprecated_eager_check(self, self._check_params, action="fit(data)")

    def _check_params(self) -> None:
        """Validate the hyper-parameters (at the start of ``fit``)."""
        n_segments, n_init, max_iter, tol = (
            self.n_segments,
            self.n_init,
            self.max_iter,
            self.tol,
        )
        k_range, restart_sample = self.k_range, self.restart_sample
        selection_sample, silhouette_sample = self.selection_sample, self.silhouette_sample
        if n_segments != "auto" and (
            isinstance(n_segments, bool)
            or not isinstance(n_segments, (int, np.integer))
            or n_segments < 1
        ):
            raise InvalidDataError(
                f"n_segments must be 'auto' or an integer >= 1, got {n_segments!r}"
            )
        for name, value, low in (
            ("n_init", n_init, 1),
            ("max_iter", max_iter, 1),
            ("selection_sample", selection_sample, 10),
            ("restart_sample", 1000 if restart_sample is None else restart_sample, 1000),
            ("silhouette_sample", silhouette_sample, 10),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise InvalidDataError(f"{name} must be an integer >= {low}, got {value!r}")
        if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
            raise InvalidDataError(f"tol must be a finite number >= 0, got {tol!r}")
        if (
            len(k_range) != 2
            or not all(isinstance(x, (int, np.integer)) for x in k_range)
            or not 2 <= k_range[0] <= k_range[1]
        ):
            raise InvalidDataError(
                f"k_range must be (low, high) with 2 <= low <= high, got {k_range!r}"
            )

    def __repr__(self) -> str:
        base = (
            f"ClusterSegmenter(n_segments={self.n_segments!r}, standardize={self.standardize}, "
            f"random_state={self.random_state!r}, n_init={self.n_init})"
        )
        if hasattr(self, "inertia_"):
            base += f" fitted: k={self.n_segments_}, inertia={self.inertia_:.6g}"
        return base

    def _matrix(self, data: Any, columns: Sequence[str], what: str) -> tuple[pd.Index, FloatArray]:
        frame = as_frame(data, what=what)
        require_columns(frame, columns, what=what)
        X = np.column_stack([numeric_column(frame, c, what=what) for c in columns])
        return frame.index, X

    def fit(
        self, data: Any, *, columns: Sequence[str] | None = None, weights: Any = None
    ) -> ClusterSegmenter:
        """Cluster the rows of ``data``.

        Parameters
        ----------
        data : DataFrame or mapping
            One row per customer.
        columns : sequence of str, optional
            Feature columns; all numeric columns by default.
        weights : array-like, optional
            Case weights (for example the number of customers a row stands for).

        Returns
        -------
        ClusterSegmenter
            ``self``, fitted.

        Raises
        ------
        InvalidDataError
            Missing or non-numeric columns, NaN or infinite values, bad weights, or
            ``n_segments`` larger than the number of distinct rows.

        Examples
        --------
        >>> data = pd.DataFrame({"x": [0.0, 0.1, 5.0, 5.1], "y": [0.0, 0.0, 1.0, 1.0]})
        >>> ClusterSegmenter(2, random_state=0).fit(data).labels_.tolist()
        [0, 0, 1, 1]
        """
        self._check_params()
        frame = as_frame(data, what="data")
        if columns is None:
            columns = [str(c) for c in frame.select_dtypes(include="number").columns]
            if not columns:
                raise InvalidDataError("data has no numeric columns to cluster; pass columns=")
        columns = list(columns)
        index, X = self._matrix(frame, columns, "data")
        n = X.shape[0]
        w = np.ones(n) if weights is None else check_weights(weights, n, index=index)
        # Everything below is invariant to the unit of the weights and (up to the reported
        # inertia and centres) to a power-of-two unit of the features: work in units where
        # the largest weight and the largest |feature| are about 1, so that huge (1e300) or
        # tiny (1e-300) values neither overflow nor underflow.
        w_unit = float(pow2_scale(w))
        w = w / w_unit
        unit, mean_u, sd_u = moments(X, w)
        if self.standardize:
            sd_u[~(sd_u > 0)] = 1.0
            Z = (X / unit - mean_u) / sd_u
            Z[:, X.max(axis=0) == X.min(axis=0)] = 0.0  # constant features stay at 0
            mean, scale = mean_u * unit, sd_u * unit
        else:
            Z = X
            mean, scale = mean_u * unit, np.ones(X.shape[1])
        z_unit = float(pow2_scale(Z))
        Z = Z / z_unit
        rng = np.random.default_rng(self.random_state)
        scores: pd.Series | None = None
        if self.n_segments == "auto":
            k, scores = self._choose_k(Z, w, rng)
        else:
            k = int(self.n_segments)
            if k > n:
                raise InvalidDataError(
                    f"n_segments={k} is larger than the number of rows ({n}) in data"
                )
        try:
            centers, labels, inertia, n_iter = kmeans(
                Z,
                w,
                k,
                rng,
                n_init=self.n_init,
                max_iter=self.max_iter,
                tol=self.tol,
                restart_sample=self.restart_sample,
            )
        except TooFewDistinctError as exc:
            positive = "" if weights is None else " with a positive weight"
            raise InvalidDataError(
                f"n_segments={k} is larger than the number of distinct rows{positive} "
                f"({exc.found}) in data columns {columns!r}"
            ) from None
        # canonical labels whatever the seed: by decreasing size, then by centre coordinates
        size = np.bincount(labels, weights=w, minlength=k)
        if (size <= 0).any():
            raise InvalidDataError(
                f"n_segments={k}: only {int((size > 0).sum())} clusters can be told apart in "
                f"data columns {columns!r}; the other rows differ by less than floating-point "
                "precision after standardisation (treat them as duplicates or lower n_segments)"
            )
        order = np.lexsort((*centers.T[::-1], -size))
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
        labels = rank[labels]
        centers = centers[order]
        self.columns_ = columns
        self.mean_ = mean
        self.scale_ = scale
        self._unit, self._mean_u, self._sd_u, self._z_unit = unit, mean_u, sd_u, z_unit
        self._centers_z = centers  # in the internal unit: Z / z_unit
        self.n_segments_ = k
        self.inertia_ = inertia * z_unit * z_unit * w_unit
        self.n_iter_ = n_iter
        self.silhouette_scores_ = scores
        self.labels_ = pd.Series(labels, index=index, name="cluster")
        self.segments_ = self._segments(labels, index)
        if self.standardize:
            original = (centers * z_unit * sd_u + mean_u) * unit
        else:
            original = centers * z_unit
        self.cluster_centers_ = pd.DataFrame(
            original, columns=columns, index=pd.RangeIndex(k, name="cluster")
        )
        self._X = X
        self._w = w
        self._w_unit = w_unit
        _LOG.info("k-means: k=%d, inertia=%.6g, %d iterations", k, inertia, n_iter)
        return self

    def _segments(self, labels: IntArray, index: pd.Index) -> pd.DataFrame:
        names = [f"cluster_{i + 1}" for i in range(self.n_segments_)]
        chinese = [f"客群{i + 1}" for i in range(self.n_segments_)]
        return pd.DataFrame(
            {"segment": categorical(labels, names), "segment_label": categorical(labels, chinese)},
            index=index,
        )

    def _choose_k(
        self, Z: FloatArray, w: FloatArray, rng: np.random.Generator
    ) -> tuple[int, pd.Series]:
        n = Z.shape[0]
        if n > self.selection_sample:
            pick = rng.choice(n, size=self.selection_sample, replace=False, p=w / w.sum())
            sub, sub_w = Z[pick], np.ones(self.selection_sample)
        else:
            sub, sub_w = Z, w
        m = sub.shape[0]
        sil_rows = rng.choice(m, size=min(self.silhouette_sample, m), replace=False)
        low, high = self.k_range
        high = min(high, sil_rows.shape[0] - 1)
        if high < low:
            raise InvalidDataError(
                f"n_segments='auto' needs at least {low + 1} rows to compare k >= {low}; got {n}"
            )
        results: dict[int, float] = {}
        with Progress("choosing k", total=high - low + 1, enabled=self.progress) as bar:
            for k in range(low, high + 1):
                try:
                    _, labels, _, _ = kmeans(
                        sub, sub_w, k, rng, n_init=self.n_init, max_iter=self.max_iter,
                        tol=self.tol,
                    )  # fmt: skip
                except TooFewDistinctError as exc:
                    if not results:
                        raise InvalidDataError(
                            f"n_segments='auto' needs at least {low} distinct rows; the data "
                            f"has {exc.found}"
                        ) from None
                    break
                sample_labels = labels[sil_rows]
                if np.unique(sample_labels).shape[0] < 2:
                    results[k] = -1.0
                else:
                    results[k] = silhouette(sub[sil_rows], sample_labels)
                _LOG.info("k=%d: silhouette %.4f", k, results[k])
                bar.update(note=f"k={k} silhouette={results[k]:.3f}")
        scores = pd.Series(results, name="silhouette")
        scores.index.name = "k"
        best = int(
            np.asarray(scores.index)[int(np.argmax(scores.to_numpy()))]
        )  # first (smallest) k among equal maxima
        return best, scores

    def _check_fitted(self) -> None:
        check_is_fitted(self, "inertia_")

    def predict(self, data: Any) -> pd.Series:
        """Nearest fitted centre for each row of ``data``.

        Parameters
        ----------
        data : DataFrame or mapping
            Rows with the fitted feature columns.

        Returns
        -------
        Series of int
            Cluster per row, indexed like ``data``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        InvalidDataError
            Missing columns or NaN values.

        Examples
        --------
        >>> data = pd.DataFrame({"x": [0.0, 0.1, 5.0, 5.1]})
        >>> model = ClusterSegmenter(2, random_state=0).fit(data)
        >>> model.predict({"x": [4.0, -1.0]}).tolist()
        [1, 0]
        """
        self._check_fitted()
        index, X = self._matrix(data, self.columns_, "data")
        Z = (X / self._unit - self._mean_u) / self._sd_u if self.standardize else X
        Z = Z / self._z_unit
        labels = assign(Z, np.einsum("ij,ij->i", Z, Z), self._centers_z, np.ones(len(Z)))[0]
        return pd.Series(labels, index=index, name="cluster")

    def profile(self, *, top_n: int = 3) -> pd.DataFrame:
        """Segment sizes, feature means and the most distinctive features, for personas.

        Parameters
        ----------
        top_n : int, default 3
            Number of features named in ``distinctive``.

        Returns
        -------
        DataFrame
            Indexed by cluster: ``segment``, ``segment_label``, ``size``, ``share``,
            the mean of each feature (original units), ``z_<feature>`` (segment mean
            minus overall mean, in overall standard deviations) and ``distinctive``,
            the ``top_n`` features with the largest ``|z|`` such as
            ``"basket_size +1.2σ, price_sensitivity -0.9σ"``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> data = pd.DataFrame({"spend": np.r_[rng.normal(10, 1, 60), rng.normal(50, 5, 40)],
        ...                      "visits": rng.poisson(4, 100)})
        >>> model = ClusterSegmenter(2, random_state=0).fit(data)
        >>> model.profile(top_n=1)[["size", "spend", "distinctive"]].round(1)
                 size  spend  distinctive
        cluster
        0          60   10.1  spend -0.8σ
        1          40   50.4  spend +1.2σ
        """
        self._check_fitted()
        k = self.n_segments_
        labels = self.labels_.to_numpy()
        w = self._w
        size: FloatArray = np.bincount(labels, weights=w, minlength=k).astype(np.float64)
        unit, overall, sd = moments(self._X, w)  # in per-column units: no overflow
        scaled = self._X / unit
        means = np.column_stack(
            [np.bincount(labels, weights=w * scaled[:, j], minlength=k) / size
             for j in range(scaled.shape[1])]
        )  # fmt: skip
        z = np.divide(means - overall, sd, out=np.zeros_like(means), where=sd > 0)
        means = means * unit
        size = size * self._w_unit
        out = pd.DataFrame(index=pd.RangeIndex(k, name="cluster"))
        seg = self._segments(np.arange(k), out.index)
        out["segment"] = seg["segment"].astype(str)
        out["segment_label"] = seg["segment_label"].astype(str)
        whole = bool(np.all(size == np.round(size)) and size.max() < 2.0**53)
        out["size"] = size.astype(np.int64) if whole else size  # counts, or summed weights
        out["share"] = size / size.sum()
        for j, col in enumerate(self.columns_):
            out[col] = means[:, j]
        for j, col in enumerate(self.columns_):
            out[f"z_{col}"] = z[:, j]
        order = np.argsort(-np.abs(z), axis=1, kind="stable")[:, :top_n]
        out["distinctive"] = [
            ", ".join(f"{self.columns_[j]} {z[i, j]:+.1f}σ" for j in order[i]) for i in range(k)
        ]
        return out
