"""The make targets keep one environment per purpose (issue 17, bug 9)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _commands(target: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed; the Makefile cannot be dry-run here")
    return subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), target],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def _venvs(commands: str) -> set[str]:
    return set(re.findall(r"(\.venv[\w-]*)/", commands))


def test_demo_runs_in_its_own_environment_with_the_plain_package() -> None:
    demo = _commands("demo")
    assert _venvs(demo) == {".venv-demo"}
    installs = [line for line in demo.splitlines() if "pip install" in line and " -e" in line]
    assert installs, demo
    # the package alone, as `pip install customer-value` resolves it: no extras, no pins
    assert all("[" not in line and "pandas" not in line for line in installs)


@pytest.mark.parametrize("target", ["docs", "lint", "typecheck", "bench"])
def test_dev_targets_never_touch_the_demo_environment(target: str) -> None:
    assert ".venv-demo" not in _venvs(_commands(target))
