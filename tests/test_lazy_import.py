"""Start-up cost (issue 20): light imports stay light, lazy names behave like eager ones."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import customer_value

HEAVY = ("scipy.stats", "scipy.optimize", "scipy.special", "matplotlib")
ENGINES = ("polars", "duckdb", "pyspark", "dask", "psycopg", "psycopg2", "sqlalchemy")


def loaded_after(statement: str) -> set[str]:
    """Top-level names in ``sys.modules`` of a fresh interpreter after ``statement``."""
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out))


def offenders(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize(
    "statement",
    [
        "import customer_value.loyalty",
        "from customer_value.loyalty import Ledger, Program, SQLiteStore, MemoryStore",
        "import customer_value",
        "from customer_value import Ledger, InvalidDataError, __version__",
    ],
)
def test_ledger_imports_no_scipy_stats_plotting_or_engine(statement: str) -> None:
    modules = loaded_after(statement)
    assert offenders(modules, HEAVY + ENGINES) == []
    # nor the model code a ledger never uses
    assert offenders(modules, ("customer_value.clv", "customer_value.churn")) == []


def test_bare_package_import_loads_no_subpackage() -> None:
    modules = loaded_after("import customer_value")
    subpackages = {m for m in modules if m.startswith("customer_value.")}
    assert subpackages <= {"customer_value._version", "customer_value.errors"}
    assert "pandas" not in modules


@pytest.mark.parametrize(
    "name",
    [
        "customer_value.clv",
        "customer_value.survey",
        "customer_value.experiment",
        "customer_value.recommend",
    ],
)
def test_model_subpackages_defer_scipy_stats(name: str) -> None:
    heavy = ("scipy.stats", "scipy.optimize", "matplotlib")  # scipy.special is theirs
    assert offenders(loaded_after(f"import {name}"), heavy + ENGINES) == []


@pytest.mark.parametrize(
    "call",
    [
        "cv.churn.evaluate_churn([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.4], n_bins=2)",
        "cv.experiment.compare_proportions(30, 100, 20, 100)",
        "cv.experiment.compare_means([1.0, 2.0, 4.0], [1.0, 1.5, 2.0])",
        "cv.experiment.sample_size_proportions(0.10, 0.02)",
        "cv.experiment.mde_means(1.0, 200)",
    ],
)
def test_first_use_loads_scipy_stats_when_needed(call: str) -> None:
    code = f"import customer_value as cv\n{call}\nassert 'scipy.stats' in sys.modules"
    assert "scipy.stats" in loaded_after(code)


@pytest.mark.parametrize("name", customer_value.__all__)
def test_every_public_name_resolves_to_the_subpackage_object(name: str) -> None:
    value = getattr(customer_value, name)
    owner = customer_value._LAZY_NAMES.get(name)
    if owner is not None:
        assert value is getattr(importlib.import_module(f"customer_value.{owner}"), name)
    elif name in customer_value._SUBPACKAGES:
        assert value is importlib.import_module(f"customer_value.{name}")
    else:
        assert value is not None


def test_lazy_table_covers_all_and_nothing_else() -> None:
    eager = {"__version__", "ConvergenceError", "CustomerValueError", "CustomerValueWarning"}
    eager |= {"InvalidDataError", "NotFittedError"}
    lazy = set(customer_value._LAZY_NAMES) | customer_value._SUBPACKAGES
    assert lazy | eager == set(customer_value.__all__)
    assert not lazy & eager


def test_dir_lists_names_before_they_are_loaded() -> None:
    names = json.loads(
        subprocess.run(
            [sys.executable, "-c", "import json, customer_value as c; print(json.dumps(dir(c)))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert set(customer_value.__all__) <= set(names)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'BetaGeoModle'"):
        customer_value.BetaGeoModle
    assert not hasattr(customer_value, "plot_everything")


def test_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from customer_value import *", namespace)
    assert set(customer_value.__all__) <= set(namespace)


@pytest.mark.slow
def test_type_checkers_see_the_lazy_names(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    snippet = tmp_path / "use_api.py"
    snippet.write_text(
        "import customer_value\n"
        "reveal_type(customer_value.BetaGeoModel)\n"
        "reveal_type(customer_value.loyalty.Ledger)\n"
        "customer_value.BetaGeoModle\n"
    )
    stdout, _, status = api.run(["--strict", "--no-incremental", str(snippet)])
    assert "customer_value.clv._bgnbd.BetaGeoModel" in stdout
    assert "customer_value.loyalty._ledger.Ledger" in stdout
    assert 'Module has no attribute "BetaGeoModle"' in stdout
    assert status == 1  # the misspelt name is the only error
    assert stdout.count("error:") == 1
