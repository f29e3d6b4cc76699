"""Engine frames: detect the kind of a frame, collect small results, score partition by partition.

Every function that scales with customers or transactions accepts, besides pandas, the
frame the data already lives in: Polars (eager or lazy), a DuckDB relation, a PySpark or
a Dask DataFrame. Transformations are written once with narwhals and run inside the
engine; per-customer scoring is a vectorised pandas function mapped over the engine's
partitions (Spark ``mapInPandas``, Dask ``map_partitions``, Polars ``map_batches``,
DuckDB Arrow record batches) with only the fitted parameters shipped to the workers.

Private: used by ``data``, ``clv``, ``churn``, ``segmentation`` and ``survey`` alike.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np
import pandas as pd

from customer_value.errors import InvalidDataError, MissingExtraError

__all__ = [
    "SUPPORTED",
    "collect_pandas",
    "column_names",
    "frame_kind",
    "from_pandas_like",
    "is_engine",
    "map_partitions",
    "require",
    "to_narwhals",
]

Kind = Literal["pandas", "polars", "polars-lazy", "duckdb", "spark", "dask"]
ResultType = Literal["float64", "int64", "bool", "string"]

SUPPORTED = (
    "a pandas DataFrame (or a mapping of column name to array), a polars DataFrame or "
    "LazyFrame, a duckdb relation (DuckDBPyRelation), a pyspark.sql.DataFrame or a "
    "dask.dataframe.DataFrame"
)
"""What the functions that scale with data accept, for error messages."""

_EXTRA = {"polars": "polars", "duckdb": "duckdb", "pyspark": "spark", "dask": "dask"}
_BATCH_ROWS = 1_000_000  # rows per batch when an eager frame is scored batch by batch


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f'this needs {module}: install the extra with pip install "customer-value[{extra}]"'
        ) from exc


def frame_kind(data: Any) -> Kind | None:
    """Kind of ``data`` (``"pandas"`` for a pandas DataFrame), or None for anything else.

    Detection reads the type's module, so no engine is imported to ask.
    """
    if isinstance(data, pd.DataFrame):
        return "pandas"
    cls = type(data)
    root = cls.__module__.split(".")[0]
    name = cls.__name__
    if root == "narwhals":
        return frame_kind(data.to_native())
    if root == "polars":
        if name == "DataFrame":
            return "polars"
        if name == "LazyFrame":
            return "polars-lazy"
    elif root in {"duckdb", "_duckdb"} and name == "DuckDBPyRelation":
        return "duckdb"
    elif root == "pyspark" and name == "DataFrame":
        return "spark"
    elif root in {"dask", "dask_expr"} and name == "DataFrame":
        return "dask"
    return None


def is_engine(data: Any) -> bool:
    """True for a Polars, DuckDB, Spark or Dask frame (pandas and mappings are not)."""
    kind = frame_kind(data)
    return kind is not None and kind != "pandas"


def check_supported(data: Any, *, what: str = "data") -> None:
    """Raise unless ``data`` is a pandas or engine frame or a mapping; name what is supported."""
    if frame_kind(data) is None and not isinstance(data, Mapping):
        raise InvalidDataError(
            f"{what}: unsupported frame type {type(data).__module__}.{type(data).__name__}; "
            f"supported are {SUPPORTED}"
        )


def _native(data: Any) -> Any:
    return data.to_native() if type(data).__module__.split(".")[0] == "narwhals" else data


def to_narwhals(data: Any, *, what: str = "data") -> Any:
    """``data`` as a narwhals DataFrame or LazyFrame (pandas, Polars, DuckDB, Spark, Dask)."""
    kind = frame_kind(data)
    if kind is None:
        if isinstance(data, Mapping):
            return to_narwhals(pd.DataFrame(dict(data)), what=what)
        check_supported(data, what=what)
    import narwhals as nw

    return nw.from_native(_native(data))


def from_pandas_like(result: Any) -> Any:
    """The native frame behind a narwhals frame."""
    return result.to_native()


def column_names(data: Any) -> list[str]:
    """Column names of a pandas or engine frame, read from its schema (nothing is computed)."""
    if isinstance(data, pd.DataFrame):
        return [str(c) for c in data.columns]
    return list(to_narwhals(data).collect_schema().names())


def require_engine_columns(data: Any, columns: Sequence[str], *, what: str = "data") -> None:
    """Raise if any of ``columns`` is missing from an engine frame, naming all of them."""
    have = column_names(data)
    missing = [c for c in columns if c not in have]
    if missing:
        shown = ", ".join(repr(c) for c in have[:20])
        raise InvalidDataError(
            f"{what} is missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"it has: {shown or 'no columns'}"
        )


def collect_if_engine(data: Any) -> Any:
    """An engine frame collected to pandas (for fitting on compressed statistics); else as is."""
    return collect_pandas(data) if is_engine(data) else data


def collect_pandas(data: Any) -> pd.DataFrame:
    """Bring an engine frame to the driver as pandas (only for results small by construction)."""
    kind = frame_kind(data)
    if kind == "pandas":
        return data  # type: ignore[no-any-return]
    native = _native(data)
    if kind in {"polars", "polars-lazy"}:
        require("pyarrow", "polars")
        frame = native.collect() if kind == "polars-lazy" else native
        return frame.to_pandas()  # type: ignore[no-any-return]
    if kind == "duckdb":
        return native.df()  # type: ignore[no-any-return]
    if kind == "spark":
        return native.toPandas()  # type: ignore[no-any-return]
    if kind == "dask":
        return native.compute()  # type: ignore[no-any-return]
    check_supported(data)
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------------------- scoring
def _pandas_dtype(kind: ResultType) -> Any:
    return {"float64": np.float64, "int64": np.int64, "bool": np.bool_, "string": object}[kind]


def _finish(out: pd.DataFrame, keep: Sequence[str], results: Mapping[str, ResultType]) -> Any:
    """Keep-columns then result columns with the promised dtypes (categoricals as strings)."""
    frame = out.loc[:, [*keep, *results]].copy()
    for name, kind in results.items():
        column = frame[name]
        if kind == "string":
            frame[name] = np.asarray(column.astype(object), dtype=object)
        else:
            frame[name] = column.to_numpy(dtype=_pandas_dtype(kind))
    return frame.reset_index(drop=True)


def _empty(keep_dtypes: Mapping[str, Any], results: Mapping[str, ResultType]) -> pd.DataFrame:
    columns: dict[str, Any] = {k: pd.Series([], dtype=d) for k, d in keep_dtypes.items()}
    for name, kind in results.items():
        columns[name] = pd.Series([], dtype=_pandas_dtype(kind))
    return pd.DataFrame(columns)


def _wrap(
    fn: Callable[[pd.DataFrame], pd.DataFrame],
    keep: Sequence[str],
    results: Mapping[str, ResultType],
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Apply ``fn`` to one partition; an empty partition gives an empty, typed result."""

    def run(part: pd.DataFrame) -> pd.DataFrame:
        if len(part) == 0:
            return _empty({k: part[k].dtype for k in keep}, results)
        return _finish(fn(part.reset_index(drop=True)), keep, results)  # type: ignore[no-any-return]

    return run


def map_partitions(
    data: Any,
    fn: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    columns: Sequence[str],
    keep: Sequence[str],
    results: Mapping[str, ResultType],
) -> Any:
    """Apply a vectorised pandas function to each partition of an engine frame.

    Parameters
    ----------
    data : engine frame
        Polars (eager or lazy), DuckDB relation, Spark or Dask DataFrame.
    fn : callable
        pandas DataFrame (one partition, default index, the ``columns``) -> pandas
        DataFrame holding the ``keep`` columns unchanged and the ``results`` columns.
        It captures only small state (fitted parameters), which is shipped to workers.
    columns : sequence of str
        Input columns ``fn`` reads (the ``keep`` columns among them); nothing else moves.
    keep : sequence of str
        Input columns carried through unchanged (the customer id), in their input type.
    results : mapping of str to {"float64", "int64", "bool", "string"}
        Output columns ``fn`` adds, with their types.

    Returns
    -------
    engine frame of the same kind
        ``keep`` columns then ``results`` columns, one row per input row. Lazy inputs
        (Polars LazyFrame, Spark, Dask) give lazy outputs: nothing runs until the user
        collects. A DuckDB relation is scored batch by batch (Arrow record batches) into
        an Arrow table exposed as a relation of DuckDB's default connection.
    """
    kind = frame_kind(data)
    native = _native(data)
    cols = list(dict.fromkeys([*keep, *columns]))
    require_engine_columns(native, cols)
    mapper = _MAPPERS.get(kind or "")
    if mapper is None:
        check_supported(data)
        raise InvalidDataError(f"expected an engine frame, got {type(data).__name__}")
    return mapper(native, _Job(_wrap(fn, keep, results), cols, list(keep), dict(results)))


@dataclass(frozen=True)
class _Job:
    """One partition-wise computation: the wrapped function and its columns in and out."""

    run: Callable[[pd.DataFrame], pd.DataFrame]
    cols: list[str]
    keep: list[str]
    results: dict[str, ResultType]


def _map_polars(native: Any, job: _Job, *, lazy: bool) -> Any:
    pl = require("polars", "polars")
    require("pyarrow", "polars")
    kinds = {"float64": pl.Float64, "int64": pl.Int64, "bool": pl.Boolean, "string": pl.String}
    input_schema = native.select(job.cols).collect_schema()
    schema = {k: input_schema[k] for k in job.keep}
    schema.update({name: kinds[kind] for name, kind in job.results.items()})

    def batch(frame: Any) -> Any:
        return pl.from_pandas(job.run(frame.to_pandas())).cast(schema)

    if lazy:
        return native.select(job.cols).map_batches(batch, schema=schema, streamable=True)
    pieces = [batch(piece) for piece in native.select(job.cols).iter_slices(_BATCH_ROWS)]
    return pl.concat(pieces) if pieces else pl.DataFrame(schema=schema)


def _map_duckdb(native: Any, job: _Job) -> Any:
    duckdb = require("duckdb", "duckdb")
    pa = require("pyarrow", "duckdb")
    reader = native.select(*job.cols).to_arrow_reader(_BATCH_ROWS)
    tables = [pa.Table.from_pandas(job.run(b.to_pandas()), preserve_index=False) for b in reader]
    if not tables:  # an empty relation: an empty, typed result
        tables = [pa.Table.from_pandas(job.run(reader.schema.empty_table().to_pandas()))]
    return duckdb.from_arrow(pa.concat_tables(tables, promote_options="permissive"))


def _map_spark(native: Any, job: _Job) -> Any:
    require("pyspark", "spark")
    require("pyarrow", "spark")
    types = {"float64": "double", "int64": "bigint", "bool": "boolean", "string": "string"}
    fields = [f"`{k}` {native.schema[k].dataType.simpleString()}" for k in job.keep]
    fields += [f"`{name}` {types[kind]}" for name, kind in job.results.items()]

    def each(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        # Spark hands over Arrow batches of 10,000 rows; scoring has a fixed cost per
        # call (the interpolants of a model), so the batches of a partition are joined
        # into parts of up to _BATCH_ROWS rows first
        held: list[pd.DataFrame] = []
        rows = 0
        for part in batches:
            held.append(part)
            rows += len(part)
            if rows >= _BATCH_ROWS:
                yield job.run(pd.concat(held, ignore_index=True))
                held, rows = [], 0
        if held:
            yield job.run(pd.concat(held, ignore_index=True))

    return native.select(*job.cols).mapInPandas(each, ", ".join(fields))


def _map_dask(native: Any, job: _Job) -> Any:
    meta = _empty({k: native.dtypes[k] for k in job.keep}, job.results)
    return native[job.cols].map_partitions(job.run, meta=meta)


_MAPPERS: dict[str, Callable[[Any, _Job], Any]] = {
    "polars": lambda native, job: _map_polars(native, job, lazy=False),
    "polars-lazy": lambda native, job: _map_polars(native, job, lazy=True),
    "duckdb": _map_duckdb,
    "spark": _map_spark,
    "dask": _map_dask,
}


def shippable(model: Any) -> Any:
    """A parameters-only copy of a fitted model (no training data) to send to workers."""
    if hasattr(model, "to_json") and hasattr(type(model), "from_json"):
        try:
            return type(model).from_json(model.to_json())
        except Exception:
            return model
    return model


def score(
    data: Any,
    fn: Callable[[pd.DataFrame], Any],
    *,
    customer_id_col: str,
    columns: Sequence[str],
    results: Mapping[str, ResultType],
    what: str = "data",
) -> Any:
    """Per-customer scores of an engine frame, partition by partition, same kind out.

    ``fn`` takes one partition as pandas, indexed by ``customer_id_col`` with ``columns``,
    and returns a Series or DataFrame aligned with it (the pandas path of the public
    function, which validates the partition). The result holds ``customer_id_col`` and
    the ``results`` columns. Missing columns raise here; bad values raise where the engine
    computes the partition (immediately for DuckDB and eager Polars, on collection for
    lazy frames).
    """
    require_engine_columns(data, [customer_id_col, *columns], what=what)
    names = list(results)

    def per_partition(part: pd.DataFrame) -> pd.DataFrame:
        out = fn(part.set_index(customer_id_col))
        frame = out.to_frame() if isinstance(out, pd.Series) else pd.DataFrame(out)
        frame = frame.reset_index(drop=True).loc[:, names]
        frame.insert(0, customer_id_col, part[customer_id_col].to_numpy())
        return frame

    return map_partitions(
        data, per_partition, columns=columns, keep=[customer_id_col], results=results
    )


def totals(data: Any, exprs: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate scalar narwhals aggregations in the engine; one small row comes back."""
    frame = to_narwhals(data).select(**exprs)
    if hasattr(frame, "collect"):
        frame = frame.collect()
    row = frame.to_pandas().iloc[0]
    return {k: row[k] for k in exprs}


# ---------------------------------------------------------------------------- checks
def collect_small(frame: Any) -> pd.DataFrame:
    """A narwhals frame (eager or lazy) that is small by construction, as pandas."""
    if hasattr(frame, "collect"):
        frame = frame.collect(backend="pandas")
    return pd.DataFrame(frame.to_pandas())


def first_row(frame: Any) -> dict[str, Any]:
    """First row of a small narwhals frame as plain values (missing ones as None)."""
    native = collect_small(frame)
    if len(native) == 0:
        return {}
    return {str(k): (None if pd.isna(v) else v) for k, v in native.iloc[0].to_dict().items()}


def raise_first_bad(
    frame: Any,
    problems: Sequence[tuple[Any, str]],
    shown: Sequence[str],
    *,
    what: str,
    also: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Raise for the first ``(mask, message)`` that holds on some row, naming one such row.

    All masks are counted in one pass of the engine, together with the scalar
    aggregations ``also`` (returned by name); only these numbers, and for the first
    failing check one example row, reach the driver.
    """
    import narwhals as nw

    exprs = {f"_bad{i}": m.cast(nw.Int64).sum() for i, (m, _) in enumerate(problems)}
    counts = first_row(frame.select(**exprs, **(also or {})))
    for i, (mask, message) in enumerate(problems):
        found = counts.get(f"_bad{i}")
        if found:
            example = first_row(frame.filter(mask).select(list(shown)).head(1))
            values = ", ".join(f"{c}={example.get(c)!r}" for c in shown)
            raise InvalidDataError(
                f"{what}: {message}; {int(found)} row(s), for example the row with {values}"
            )
    return {name: counts.get(name) for name in also or {}}


def observe_total(frame: Any, column: str) -> tuple[Any, Callable[[], int]]:
    """A Spark frame without ``column`` that sums ``column`` while a job computes it.

    Spark's ``DataFrame.observe`` collects the sum as a side result of the first job
    that computes the returned frame (no job of its own), so checks can ride along with
    an aggregation that is needed anyway. The returned function gives the sum; call it
    only after such a job has run on a non-empty frame (Spark reports nothing on none).
    """
    import narwhals as nw
    from pyspark.sql import Observation
    from pyspark.sql import functions as sf

    observation = Observation()
    native = frame.to_native()
    watched = native.observe(observation, sf.coalesce(sf.sum(column), sf.lit(0)).alias("total"))
    return nw.from_native(watched.drop(column)), lambda: int(observation.get["total"])
