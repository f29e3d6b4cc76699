"""Helpers shared by the benchmark scripts: timing and a plain-text table."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
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


def _rss_mb() -> float | None:
    """Resident memory of this process in MB (Linux ``/proc``; None elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * 4096 / 2**20


def timed_peak(fn: Callable[[], Any]) -> tuple[float, float | None, Any]:
    """Wall-clock time of one call, the peak resident memory above the level before the
    call in MB (sampled every 5 ms by a thread; None without ``/proc``), and the result."""
    base = _rss_mb()
    peak = [base or 0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            now = _rss_mb()
            if now is not None:
                peak[0] = max(peak[0], now)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start = time.perf_counter()
    try:
        result = fn()
    finally:
        seconds = time.perf_counter() - start
        done.set()
        watcher.join()
    return seconds, None if base is None else peak[0] - base, result


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
