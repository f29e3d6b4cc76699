"""Every script in examples/ runs to completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MPLBACKEND": "Agg"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "an example should print its result"


def test_examples_exist() -> None:
    assert any(p.name == "quickstart.py" for p in EXAMPLES)


def test_quickstart_says_revenue_uses_one_period_and_aligns_columns() -> None:
    """Issue 17: the demo's value is revenue (margin 1), its RFM uses the calibration
    period like the rest, and Chinese labels (two columns wide) do not shift columns."""
    script = Path(__file__).parent.parent / "examples" / "quickstart.py"
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, check=True
    ).stdout
    assert "12-month value" not in out
    assert "revenue, not profit" in out
    assert "RFM segments at the end of the calibration period" in out
    assert "transactions to 1997-09-30" in out
    for title in ("Churn risk at the end", "RFM segments at the end"):
        block = out.split(title, 1)[1].split("\n\n", 1)[0]
        rows = [line for line in block.splitlines() if "%" in line]
        assert len(rows) >= 3
        # the share column ends at the same character (= screen) position in every row,
        # and only the last column holds wide characters
        ends = {line.index("%") for line in rows}
        assert len(ends) == 1, rows
        assert all(line[: line.index("%")].isascii() for line in rows)
