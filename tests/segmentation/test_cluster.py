"""ClusterSegmenter: exact optimum on tiny data, scikit-learn as oracle, determinism."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_value.errors import InvalidDataError, NotFittedError
from customer_value.segmentation import ClusterSegmenter


def blobs(n_per=150, k=4, d=3, spread=0.6, seed=0):
    """k well-separated groups: centres on scaled unit vectors (k <= d + 1) or at random."""
    rng = np.random.default_rng(seed)
    if k <= d + 1:
        centres = np.vstack([np.zeros(d), 8 * np.eye(d)])[:k]
    else:
        centres = rng.normal(0, 5, (k, d))
    X = np.concatenate([c + rng.normal(0, spread, (n_per, d)) for c in centres])
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(d)])


def sse(X, labels):
    return sum(((X[labels == c] - X[labels == c].mean(axis=0)) ** 2).sum() for c in set(labels))


def test_exhaustive_optimum_on_tiny_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(9, 2))
    best = min(
        sse(X, np.array((0, *bits)))
        for bits in itertools.product((0, 1), repeat=8)
        if 0 < sum(bits) < 9
    )
    model = ClusterSegmenter(2, standardize=False, random_state=0, n_init=10).fit(
        pd.DataFrame(X, columns=["a", "b"])
    )
    assert model.inertia_ == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("k", [3, 6])
def test_inertia_matches_or_beats_sklearn(cdnow_features, k):
    KMeans = pytest.importorskip("sklearn.cluster", reason="scikit-learn is the oracle").KMeans
    data = pd.concat([cdnow_features, blobs(n_per=200, k=5, d=3, seed=k).set_axis(
        list(cdnow_features.columns), axis=1)], ignore_index=True)  # fmt: skip
    model = ClusterSegmenter(k, random_state=0, n_init=4).fit(data)
    Z = ((data - data.mean()) / data.std(ddof=0)).to_numpy()
    theirs = [KMeans(k, n_init=4, random_state=s).fit(Z).inertia_ for s in range(3)]
    assert model.inertia_ <= np.median(theirs) * (1 + 1e-6)
    # the reported inertia is what the labels and centres imply
    centres = ((model.cluster_centers_ - data.mean()) / data.std(ddof=0)).to_numpy()
    recomputed = ((Z - centres[model.labels_.to_numpy()]) ** 2).sum()
    assert model.inertia_ == pytest.approx(recomputed, rel=1e-9)


def test_auto_finds_the_number_of_blobs(capsys):
    data = blobs(k=4)
    model = ClusterSegmenter("auto", random_state=0, progress=True).fit(data)
    assert model.n_segments_ == 4
    scores = model.silhouette_scores_
    assert scores.index.tolist() == list(range(2, 11))
    assert scores.idxmax() == 4
    assert "choosing k" in capsys.readouterr().err
    assert model.labels_.value_counts().tolist() == [150] * 4


def test_auto_on_a_subsample_is_deterministic():
    data = blobs(n_per=400, k=3, seed=5)
    a = ClusterSegmenter(random_state=7, selection_sample=300, silhouette_sample=200).fit(data)
    b = ClusterSegmenter(random_state=7, selection_sample=300, silhouette_sample=200).fit(data)
    assert a.n_segments_ == 3
    pd.testing.assert_series_equal(a.silhouette_scores_, b.silhouette_scores_)
    pd.testing.assert_series_equal(a.labels_, b.labels_)


def test_deterministic_for_a_seed(cdnow_features):
    a = ClusterSegmenter(5, random_state=42).fit(cdnow_features)
    b = ClusterSegmenter(5, random_state=42).fit(cdnow_features)
    pd.testing.assert_series_equal(a.labels_, b.labels_)
    pd.testing.assert_frame_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_
    # labels are canonical: cluster 0 is the largest
    sizes = a.labels_.value_counts().sort_index().to_numpy()
    assert (np.diff(sizes) <= 0).all()


def test_predict_fitted_rows_and_index(cdnow_features):
    model = ClusterSegmenter(4, random_state=0).fit(cdnow_features)
    pd.testing.assert_series_equal(model.predict(cdnow_features), model.labels_)
    assert model.labels_.index.equals(cdnow_features.index)
    seg = model.segments_
    assert seg["segment"].iloc[0] == f"cluster_{model.labels_.iloc[0] + 1}"
    assert seg["segment_label"].iloc[0] == f"客群{model.labels_.iloc[0] + 1}"
    assert "fitted: k=4" in repr(model)


def test_weights_equal_duplicated_rows():
    data = blobs(n_per=30, k=3, d=2, seed=2)
    w = np.arange(len(data)) % 3 + 1
    weighted = ClusterSegmenter(3, random_state=0, n_init=5).fit(data, weights=w)
    repeated = ClusterSegmenter(3, random_state=0, n_init=5).fit(data.loc[data.index.repeat(w)])
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-9)
    np.testing.assert_allclose(
        weighted.cluster_centers_.to_numpy(), repeated.cluster_centers_.to_numpy(), atol=1e-9
    )


def test_standardize_matters():
    rng = np.random.default_rng(0)
    # two groups separated on a small-unit feature; noise on a large-unit one
    data = pd.DataFrame(
        {"share": np.r_[np.zeros(50), np.ones(50)] + rng.normal(0, 0.05, 100),
         "amount": rng.normal(1000, 300, 100)}
    )  # fmt: skip
    truth = np.r_[np.zeros(50), np.ones(50)]
    z = ClusterSegmenter(2, random_state=0).fit(data).labels_.to_numpy()
    raw = ClusterSegmenter(2, standardize=False, random_state=0).fit(data).labels_.to_numpy()
    assert abs(np.corrcoef(z, truth)[0, 1]) == pytest.approx(1.0)
    assert abs(np.corrcoef(raw, truth)[0, 1]) < 0.5


def test_profile_tables(cdnow_rfm):
    data = np.log1p(cdnow_rfm[["recency", "frequency", "monetary"]])
    model = ClusterSegmenter(4, random_state=0).fit(data)
    prof = model.profile(top_n=2)
    assert prof["size"].sum() == len(data)
    assert prof["share"].sum() == pytest.approx(1.0)
    for c in prof.index:
        members = data[model.labels_ == c]
        assert prof.loc[c, "monetary"] == pytest.approx(members["monetary"].mean())
        z = (members["frequency"].mean() - data["frequency"].mean()) / data["frequency"].std(ddof=0)
        assert prof.loc[c, "z_frequency"] == pytest.approx(z)
        assert prof.loc[c, "distinctive"].count("σ") == 2


@settings(max_examples=30)
@given(
    st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=4, max_size=40),
    st.integers(1, 3),
)
def test_property_finite_results(rows, k):
    data = pd.DataFrame(rows, columns=["a", "b"])
    distinct = len(data.drop_duplicates())
    model = ClusterSegmenter(k, random_state=0, n_init=2)
    if k > distinct:
        with pytest.raises(InvalidDataError, match="distinct rows"):
            model.fit(data)
        return
    z = ((data - data.mean()) / data.std(ddof=0).replace(0.0, 1.0)).to_numpy()
    gaps = np.abs(z[:, None, :] - z[None, :, :]).max(axis=2)
    near_duplicates = ((gaps > 0) & (gaps < 1e-6)).any()
    if near_duplicates:
        # rows closer than float precision may or may not be told apart; either a fit
        # or the clear error, never NaN
        message = ""
        try:
            model.fit(data)
        except InvalidDataError as exc:
            message = str(exc)
        if message:
            assert "floating-point precision" in message or "distinct rows" in message
            return
    else:
        model.fit(data)
    assert np.isfinite(model.inertia_)
    assert model.inertia_ >= 0
    assert np.isfinite(model.cluster_centers_.to_numpy()).all()
    assert model.labels_.between(0, k - 1).all()
    assert np.isfinite(
        model.profile()
        .drop(columns=["segment", "segment_label", "distinctive"])
        .to_numpy(dtype=float)
    ).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_segments": 0}, "n_segments must be 'auto' or an integer >= 1, got 0"),
        ({"n_segments": "many"}, "n_segments must be 'auto'"),
        ({"n_init": 0}, "n_init must be an integer >= 1"),
        ({"tol": -1.0}, "tol must be a finite number >= 0"),
        ({"k_range": (1, 5)}, "k_range must be"),
        ({"max_iter": 1.5}, "max_iter must be an integer"),
    ],
)
def test_bad_options(kwargs, match):
    # Issue 17, one estimator idiom: hyper-parameters are stored unchanged (get_params
    # returns them) and fit validates them.
    model = ClusterSegmenter()
    for name, value in kwargs.items():
        setattr(model, name, value)
    assert {k: model.get_params()[k] for k in kwargs} == kwargs
    with pytest.raises(InvalidDataError, match=match):
        model.fit({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
    # Old usage (the error at construction) keeps working until 0.2, with a warning
    # that points at the caller's line.
    with (
        pytest.warns(
            DeprecationWarning, match="ClusterSegmenter constructor.*fit\\(data\\)"
        ) as rec,
        pytest.raises(InvalidDataError, match=match),
    ):
        ClusterSegmenter(**kwargs)
    assert rec[0].filename == __file__


def test_valid_options_construct_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ClusterSegmenter(3, n_init=2, k_range=[2, 4], tol=1)
    clone = type(model)(**model.get_params())
    assert clone.get_params() == model.get_params()
    assert clone.k_range == [2, 4]  # stored as given


def test_bad_data():
    dup = pd.DataFrame({"a": [1.0, 1.0, 2.0, 3.0, 3.0], "b": [0.0, 0.0, 1.0, 1.0, 1.0]})
    with pytest.raises(
        InvalidDataError, match=r"n_segments=4 is larger than the number of distinct rows \(3\)"
    ):
        ClusterSegmenter(4, random_state=0).fit(dup)
    with pytest.raises(
        InvalidDataError, match=r"n_segments=6 is larger than the number of rows \(5\)"
    ):
        ClusterSegmenter(6).fit(dup)
    with pytest.raises(InvalidDataError, match=r"'b' must be finite.*row 1"):
        ClusterSegmenter(2).fit({"a": [1.0, 2.0], "b": [0.0, np.nan]})
    with pytest.raises(InvalidDataError, match=r"missing column\(s\) 'c'"):
        ClusterSegmenter(2).fit(dup, columns=["a", "c"])
    with pytest.raises(InvalidDataError, match=r"'g' must be numeric; row 1"):
        ClusterSegmenter(2).fit({"g": ["1", "x"]}, columns=["g"])
    with pytest.raises(InvalidDataError, match="no numeric columns"):
        ClusterSegmenter(2).fit({"g": ["a", "b"]})
    with pytest.raises(InvalidDataError, match="at least 2 distinct rows; the data has 1"):
        ClusterSegmenter("auto").fit({"a": [1.0] * 20})
    with pytest.raises(InvalidDataError, match="weights"):
        ClusterSegmenter(2).fit(dup, weights=[1, 1, -1, 1, 1])
    with pytest.raises(NotFittedError, match="not fitted"):
        ClusterSegmenter(2).predict(dup)
    with pytest.raises(NotFittedError, match="not fitted"):
        ClusterSegmenter(2).profile()


def test_restarts_on_a_subsample_then_refined_on_all_rows():
    KMeans = pytest.importorskip("sklearn.cluster", reason="scikit-learn is the oracle").KMeans
    data = blobs(n_per=1500, k=6, d=4, spread=1.5, seed=11)
    model = ClusterSegmenter(6, random_state=0, restart_sample=1000).fit(data)
    full = ClusterSegmenter(6, random_state=0, restart_sample=None).fit(data)
    Z = ((data - data.mean()) / data.std(ddof=0)).to_numpy()
    theirs = [KMeans(6, n_init=4, random_state=s).fit(Z).inertia_ for s in range(3)]
    assert model.inertia_ <= np.median(theirs) * (1 + 1e-6)
    assert model.inertia_ == pytest.approx(full.inertia_, rel=1e-3)


def test_subsample_missing_distinct_rows_falls_back_to_all_rows():
    data = pd.DataFrame({"a": np.r_[np.zeros(3000), np.arange(1.0, 4.0)]})
    model = ClusterSegmenter(4, random_state=0, restart_sample=1000).fit(data)
    assert model.labels_.nunique() == 4
    assert model.inertia_ == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("unit", [1e-300, 1e-150, 1e150])
@pytest.mark.parametrize("standardize", [True, False])
def test_features_and_weights_at_extreme_scales(unit, standardize):
    # squared distances of 1e150-sized features overflowed (NaN profile, an empty cluster)
    # and 1e-300-sized ones underflowed to "1 distinct row"; the clustering must not
    # depend on the unit
    data = blobs(n_per=40, k=3, d=2, seed=4)
    w = np.arange(len(data)) % 4 + 1.0
    ref = ClusterSegmenter(3, standardize=standardize, random_state=0).fit(data, weights=w)
    got = ClusterSegmenter(3, standardize=standardize, random_state=0).fit(
        data * unit, weights=w * unit
    )
    pd.testing.assert_series_equal(got.labels_, ref.labels_)
    np.testing.assert_allclose(got.cluster_centers_, ref.cluster_centers_ * unit, rtol=1e-9)
    expected = ref.inertia_ * unit * (1.0 if standardize else unit * unit)
    assert got.inertia_ == pytest.approx(expected, rel=1e-9)
    prof, ref_prof = got.profile(), ref.profile()
    np.testing.assert_allclose(prof["x0"], ref_prof["x0"] * unit, rtol=1e-9)
    np.testing.assert_allclose(prof["z_x0"], ref_prof["z_x0"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(prof["size"], ref_prof["size"] * unit, rtol=1e-9)
    pd.testing.assert_series_equal(got.predict(data * unit), ref.labels_)


def test_constant_feature_with_inexact_mean_stays_at_zero():
    data = blobs(n_per=20, k=2, d=2, seed=1).assign(const=0.1)
    model = ClusterSegmenter(2, random_state=0).fit(data)
    prof = model.profile()
    assert (prof["z_const"] == 0.0).all()
    assert "const" not in prof["distinctive"].iloc[0].split(",")[0]
    with pytest.raises(InvalidDataError, match="distinct rows with a positive weight"):
        ClusterSegmenter(2).fit({"a": [1.0, 2.0, 3.0]}, weights=[0, 0, 1])
