"""The README's quickstart is code a newcomer pastes first: it must run as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README.md has no python code block"
    script = tmp_path / "readme_quickstart.py"
    script.write_text(blocks[0] + "print(sorted(summary.columns))\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "estimate" in run.stdout  # the model summary table
    assert "champions" in run.stdout  # the segment counts
    assert "'clv_12m'" in run.stdout
    assert "'next_quarter'" in run.stdout
