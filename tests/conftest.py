"""Shared fixtures and hypothesis profiles."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

# "default" (make test, CI) is derandomized so that a commit that is green stays green;
# "explore" draws fresh random cases and many more of them, for hunting edge cases:
#     HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest tests
settings.register_profile(
    "default",
    deadline=None,
    max_examples=60,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore", deadline=None, max_examples=600, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    from customer_value.datasets import load_cdnow_transactions

    return load_cdnow_transactions()


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    from customer_value.datasets import load_cdnow_summary

    return load_cdnow_summary()


@pytest.fixture(scope="session")
def donations() -> pd.DataFrame:
    from customer_value.datasets import load_donations

    return load_donations()


def _assert_same_scores(ours: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Per-customer scores of two paths agree: rows, columns, labels, numbers to 1e-5."""
    assert list(ours.columns) == list(expected.columns)
    assert ours.index.equals(expected.index)
    for column in expected.columns:
        if expected[column].dtype.kind == "f":
            # fitted on sufficient statistics: parameters agree to the optimiser's tolerance
            assert ours[column].to_numpy() == pytest.approx(expected[column], rel=1e-5, abs=1e-9)
        else:
            assert ours[column].astype(str).tolist() == expected[column].astype(str).tolist()


@pytest.fixture(scope="session")
def assert_same_scores():
    """``customer-value score`` results of the engine and the pandas path agree."""
    return _assert_same_scores


# --- engine backends -------------------------------------------------------------------
# The same tests run on every frame kind. One Spark session (local[2]) and one Dask
# LocalCluster with worker processes serve the whole test session. A backend that cannot
# start skips with the reason, except when CUSTOMER_VALUE_REQUIRE_ENGINES=1 (set by
# `make test`, whose dev environment installs every engine), where it fails instead.

BACKENDS = ("pandas", "polars", "polars-lazy", "duckdb", "spark", "dask")


def _unavailable(reason: str) -> None:
    if os.environ.get("CUSTOMER_VALUE_REQUIRE_ENGINES") == "1":
        pytest.fail(f"backend required by make test but unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark_session():
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        _unavailable(f"pyspark is not installed ([spark] extra): {exc}")
    import sys

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    try:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("customer_value-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.driver.memory", "1g")
            .config("spark.python.worker.reuse", "true")
            .getOrCreate()
        )
    except Exception as exc:  # Java missing or broken
        _unavailable(f"Spark could not start: {exc}")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def dask_client():
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        _unavailable(f"dask.distributed is not installed ([dask] extra): {exc}")
    try:
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
    except Exception as exc:
        _unavailable(f"a Dask LocalCluster could not start: {exc}")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def _engine_module(name: str):
    import importlib

    try:
        importlib.import_module("pyarrow")
        return importlib.import_module(name)
    except ImportError as exc:
        _unavailable(f"{name} is not installed ([{name}] extra): {exc}")


@pytest.fixture(scope="session")
def require_engine():
    """``require_engine("duckdb")``: the module, or skip (fail under make test) without it."""
    return _engine_module


class Backend:
    """Converts a pandas frame to one engine's frame and back (sorted, default index)."""

    def __init__(self, kind: str, request: pytest.FixtureRequest) -> None:
        self.kind = kind
        self._request = request
        if kind in {"polars", "polars-lazy"}:
            self._engine = _engine_module("polars")
        elif kind == "duckdb":
            self._engine = _engine_module("duckdb")
        elif kind == "spark":
            self._engine = request.getfixturevalue("spark_session")
        elif kind == "dask":
            self.client = request.getfixturevalue("dask_client")
            import dask.dataframe as dd

            self._engine = dd

    def __repr__(self) -> str:
        return f"Backend({self.kind!r})"

    def frame(self, pdf: pd.DataFrame) -> object:
        """The engine's frame holding ``pdf``'s columns (the index is dropped)."""
        pdf = pdf.reset_index(drop=True)
        if self.kind == "pandas":  # pandas results are indexed by customer, as users hold them
            return pdf.set_index("customer_id") if "customer_id" in pdf.columns else pdf
        if self.kind == "polars":
            return self._engine.from_pandas(pdf)
        if self.kind == "polars-lazy":
            return self._engine.from_pandas(pdf).lazy()
        if self.kind == "duckdb":
            return self._engine.from_df(pdf)
        if self.kind == "spark":
            return self._engine.createDataFrame(pdf)
        return self._engine.from_pandas(pdf, npartitions=3)

    def collect(self, native: object, *, sort_by: str | list[str] | None = None) -> pd.DataFrame:
        """Result as pandas; ``sort_by`` puts rows in a definite order."""
        from customer_value._engine import collect_pandas, frame_kind

        if self.kind == "pandas":
            assert isinstance(native, (pd.Series, pd.DataFrame)), type(native)
            out = pd.DataFrame(native)
            out = out.reset_index() if out.index.name == "customer_id" else out
            out = out.astype({c: str for c in out.columns if out[c].dtype == "category"})
        else:
            assert frame_kind(native) == self.kind, f"{type(native)} is not a {self.kind} frame"
            out = collect_pandas(native)
        if sort_by is not None:
            out = out.sort_values(sort_by, kind="stable")
        return out.reset_index(drop=True)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    return Backend(request.param, request)
