"""Helpers shared by the benchmark scripts: timing and a plain-text table."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any], *, repeat: int = 1) -> tuple[float, Any]:
    """Best wall-clock time of ``repeat`` calls, and the last result."""
    best = float("inf")
    result: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def table(title: str, rows: list[tuple[str, float, float | None, str]]) -> str:
    """Format rows of (case, ours seconds, anchor seconds or None, target) as a table."""
    lines = [
        title,
        f"| {'case':<48} | {'ours (s)':>9} | {'anchor (s)':>10} | {'speed-up':>8} | target",
        f"|{'-' * 50}|{'-' * 11}|{'-' * 12}|{'-' * 10}|{'-' * 30}",
    ]
    for case, ours, anchor, target in rows:
        anchor_s = f"{anchor:10.3f}" if anchor is not None else f"{'-':>10}"
        ratio = f"{anchor / ours:7.1f}x" if anchor is not None else f"{'-':>8}"
        lines.append(f"| {case:<48} | {ours:9.3f} | {anchor_s} | {ratio} | {target}")
    return "\n".join(lines)
