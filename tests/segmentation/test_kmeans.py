"""k-means kernels: Lloyd's iterations and the silhouette width against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from customer_value.segmentation import ClusterSegmenter
from customer_value.segmentation._kmeans import _kmeans_plusplus, _lloyd, silhouette


def test_lloyd_matches_sklearn_from_the_same_start(cdnow_features):
    KMeans = pytest.importorskip("sklearn.cluster", reason="scikit-learn is the oracle").KMeans
    X = ((cdnow_features - cdnow_features.mean()) / cdnow_features.std(ddof=0)).to_numpy()
    w = np.ones(len(X))
    init = _kmeans_plusplus(X, (X * X).sum(axis=1), w, 5, np.random.default_rng(0))
    centres, labels, inertia, _ = _lloyd(X, init, w, max_iter=500, tol=0.0)
    oracle = KMeans(5, init=init, n_init=1, algorithm="lloyd", tol=0.0, max_iter=500).fit(X)
    assert inertia == pytest.approx(oracle.inertia_, rel=1e-9)
    np.testing.assert_allclose(centres, oracle.cluster_centers_, atol=1e-9)
    np.testing.assert_array_equal(labels, oracle.labels_)


def test_silhouette_matches_sklearn(cdnow_features):
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is the oracle")
    X = cdnow_features.to_numpy()[:800]
    labels = ClusterSegmenter(4, random_state=0).fit(cdnow_features.iloc[:800]).labels_.to_numpy()
    assert silhouette(X, labels) == pytest.approx(metrics.silhouette_score(X, labels), rel=1e-10)
    labels[0] = 9  # a singleton cluster scores 0 in both
    assert silhouette(X, labels) == pytest.approx(metrics.silhouette_score(X, labels), rel=1e-10)
