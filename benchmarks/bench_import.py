"""Start-up cost: how long an application or the command line waits for ``customer_value``.

Each measurement is a fresh interpreter (``python -c "import ..."`` or the console
script) timed from the outside, wall clock, median of ``REPEAT`` runs, so interpreter
start-up is in every row and cancels in the difference to the floor row
``import pandas`` (the library cannot start faster than its data-frame dependency).

Usage: ``python benchmarks/bench_import.py [repeat]`` (default 7). Both wall clock and
CPU time (user + system of the child) are shown: on a shared machine CPU time is the
steadier of the two; the verdict requires both to be within the target.

Targets (issue 20): ``import customer_value`` and ``import customer_value.loyalty``
at most 0.1 s above ``import pandas``; the other rows are reported against the same
floor.
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPEAT = int(sys.argv[1]) if len(sys.argv) > 1 else 7
TARGET_ABOVE_FLOOR = 0.1


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one fresh run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def measure(cases: list[list[str]]) -> list[tuple[float, float]]:
    """Median wall and CPU seconds per case over ``REPEAT`` rounds.

    Rounds interleave the cases (one run of each per round) so that load from other
    processes on a shared machine drifts over all rows alike; one warm-up round fills
    the file cache and the ``.pyc`` files first.
    """
    for argv in cases:
        run_once(argv)
    samples: list[list[tuple[float, float]]] = [[] for _ in cases]
    for _ in range(REPEAT):
        for i, argv in enumerate(cases):
            samples[i].append(run_once(argv))
    return [
        (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for runs in samples
    ]


def console_script() -> str | None:
    """The installed ``customer-value`` script next to this interpreter, if any."""
    here = Path(sys.executable).with_name("customer-value")
    return str(here) if here.exists() else shutil.which("customer-value")


def main() -> None:
    py = sys.executable
    cases: list[tuple[str, list[str], str]] = [
        ("python (interpreter start-up only)", [py, "-c", "pass"], ""),
        ("import pandas (floor)", [py, "-c", "import pandas"], ""),
        ("import customer_value", [py, "-c", "import customer_value"], "<= floor + 0.1 s"),
        (
            "import customer_value.loyalty",
            [py, "-c", "import customer_value.loyalty"],
            "<= floor + 0.1 s",
        ),
        ("import customer_value.clv", [py, "-c", "import customer_value.clv"], "reported"),
        ("import customer_value.churn", [py, "-c", "import customer_value.churn"], "reported"),
    ]
    script = console_script()
    if script is not None:
        cases.append(("customer-value --help", [script, "--help"], "reported"))
        cases.append(
            ("python -m customer_value --help", [py, "-m", "customer_value", "--help"], "reported")
        )
    measured = measure([argv for _, argv, _ in cases])
    floor_wall, floor_cpu = measured[1]
    print(f"Import time, fresh interpreter per run, median of {REPEAT} interleaved rounds")
    print(
        f"| {'case':<36} | {'wall (s)':>8} | {'wall - pandas':>13} "
        f"| {'cpu (s)':>7} | {'cpu - pandas':>12} | target           | verdict"
    )
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 15}|{'-' * 9}|{'-' * 14}|{'-' * 18}|{'-' * 9}")
    for (name, _, target), (w, c) in zip(cases, measured, strict=True):
        verdict = ""
        if target.startswith("<="):
            ok = w - floor_wall <= TARGET_ABOVE_FLOOR and c - floor_cpu <= TARGET_ABOVE_FLOOR
            verdict = "ok" if ok else "MISSED"
        print(
            f"| {name:<36} | {w:8.3f} | {w - floor_wall:+13.3f} "
            f"| {c:7.3f} | {c - floor_cpu:+12.3f} | {target:<16} | {verdict}"
        )
    if script is None:
        print("(customer-value console script not installed: CLI rows omitted)")


if __name__ == "__main__":
    main()
