"""One house: shared helpers live once, subpackages meet only through public names (issue 17)."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "customer_value"
SUBPACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").exists())


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _subpackage(path: Path) -> str | None:
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else None


def _imported_modules(text: str, path: Path) -> list[str]:
    """Every module the source ``text`` of ``path`` imports (relative imports resolved,
    imports inside functions and ``importlib.import_module("...")`` included)."""
    package = ["customer_value", *path.relative_to(SRC).parent.parts]
    names = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]  # from pkg import _mod
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
    return names


def test_no_private_imports_across_subpackages() -> None:
    # e.g. plotting once imported clv._frequency, clv._sbg and survey._common (issue 17)
    offenders = []
    for path in _sources():
        home = _subpackage(path)
        for name in _imported_modules(path.read_text(encoding="utf-8"), path):
            parts = name.split(".")
            if parts[0] != "customer_value" or len(parts) < 3 or parts[1] not in SUBPACKAGES:
                continue
            if parts[1] != home and any(part.startswith("_") for part in parts[2:]):
                offenders.append(f"{path.relative_to(SRC)}: {name}")
    assert not offenders, offenders


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from customer_value.clv._sbg import x", "customer_value.clv._sbg"),
        ("from ..survey._common import x", "customer_value.survey._common"),
        ("from ..clv import _frequency", "customer_value.clv._frequency"),
        ("def f():\n    import customer_value.clv._sbg as s", "customer_value.clv._sbg"),
        (
            "importlib.import_module('customer_value.survey._common')",
            "customer_value.survey._common",
        ),
    ],
)
def test_the_import_scan_sees_every_form(source: str, expected: str) -> None:
    assert expected in _imported_modules(source, SRC / "plotting" / "_probe.py")


@pytest.mark.parametrize(
    ("pattern", "home"),
    [
        (r"^_?NS_PER_DAY\s*=", "_time.py"),
        (r"norm\.ppf\(0\.5 \+|ndtri\(0\.5 \+", "_validation.py"),  # two-sided z quantile
        (r"def _?parse_dates\b|def _?encode_ids\b|def _?period_numbers\b", "_time.py"),
    ],
)
def test_shared_helpers_are_defined_once(pattern: str, home: str) -> None:
    regex = re.compile(pattern, re.MULTILINE)
    places = [str(p.relative_to(SRC)) for p in _sources() if regex.search(p.read_text("utf-8"))]
    assert places == [home], places


def test_missing_value_check_is_written_once() -> None:
    places = [
        str(p.relative_to(SRC))
        for p in _sources()
        if "must not be missing; " in p.read_text("utf-8")
    ]
    assert places == ["_validation.py"], places


def test_dataset_loaders_have_one_home() -> None:
    import customer_value
    from customer_value import data, datasets

    for name in datasets.__all__:
        if name.startswith("load_"):
            assert getattr(customer_value, name) is getattr(datasets, name)  # front door
        assert name not in data.__all__
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            alias = getattr(data, name)
        assert alias is getattr(datasets, name)
        assert caught[0].category is DeprecationWarning
        assert f"customer_value.datasets.{name}" in str(caught[0].message)


def test_library_code_does_not_print() -> None:
    # the command line writes its output through cli._out / cli._err (issue 17)
    offenders = [
        f"{p.relative_to(SRC)}:{i}"
        for p in _sources()
        if "/_progress" not in str(p)
        for i, line in enumerate(p.read_text("utf-8").splitlines(), 1)
        if re.match(r"\s*print\(", line)
    ]
    assert not offenders, offenders


def test_library_code_does_not_eval() -> None:
    # the loyalty lot rules were compiled with eval(); they are closures now
    offenders = [
        f"{p.relative_to(SRC)}:{i}"
        for p in _sources()
        for i, line in enumerate(p.read_text("utf-8").splitlines(), 1)
        if re.search(r"\b(eval|exec)\(", line)
    ]
    assert not offenders, offenders


def _estimators() -> list[type]:
    import customer_value
    from customer_value._estimator import ParamsMixin

    found = set()
    for package in SUBPACKAGES:
        module = getattr(customer_value, package, None) or __import__(
            f"customer_value.{package}", fromlist=["__all__"]
        )
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, ParamsMixin):
                found.add(obj)
    return sorted(found, key=lambda cls: cls.__name__)


def test_every_estimator_is_found() -> None:
    names = {cls.__name__ for cls in _estimators()}
    assert {"ClusterSegmenter", "RuleSegmenter", "SegmentMap"} <= names, names


@pytest.mark.parametrize("cls", _estimators(), ids=lambda cls: cls.__name__)
def test_constructors_only_store_their_arguments(cls: type) -> None:
    # Issue 17, one estimator idiom: __init__ stores each hyper-parameter as given under
    # its name (or the name _param_attrs gives) and does nothing else; the only call
    # allowed is the deprecation shim of constructors that used to validate (until 0.2).
    import inspect
    import textwrap

    init = ast.parse(textwrap.dedent(inspect.getsource(cls.__init__))).body[0]
    assert isinstance(init, ast.FunctionDef)
    params = [a.arg for a in (*init.args.args, *init.args.kwonlyargs) if a.arg != "self"]
    stored = {}
    for statement in init.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # docstring
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            assert getattr(statement.value.func, "id", None) == "deprecated_eager_check", (
                f"{cls.__name__}.__init__ calls {ast.unparse(statement.value)}"
            )
            continue
        assert isinstance(statement, (ast.Assign, ast.AnnAssign)), ast.unparse(statement)
        target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
        value = statement.value
        what = f"{cls.__name__}.__init__ does more than store an argument: {ast.unparse(statement)}"
        assert isinstance(target, ast.Attribute), what
        assert isinstance(value, ast.Name), what
        stored[value.id] = target.attr
    attrs = getattr(cls, "_param_attrs", {})
    assert stored == {p: attrs.get(p, p) for p in params}, stored
