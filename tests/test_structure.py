"""One house: shared helpers live once, subpackages meet only through public names (issue 17)."""

from __future__ import annotations

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


def test_no_private_imports_across_subpackages() -> None:
    pattern = re.compile(r"^\s*from customer_value\.(\w+)((?:\.\w+)*)\s+import\s", re.MULTILINE)
    offenders = []
    for path in _sources():
        home = _subpackage(path)
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            package, rest = match.group(1), match.group(2)
            private = any(part.startswith("_") for part in rest.split(".") if part)
            if package in SUBPACKAGES and package != home and private:
                offenders.append(f"{path.relative_to(SRC)}: {match.group(0).strip()}")
    assert not offenders, offenders


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
