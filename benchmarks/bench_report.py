"""The customer report on the CDNOW master data (23,570 customers, 69,659 purchases).

Rows: ``customer_report`` end to end in a fresh interpreter (imports, analysis, plots,
HTML), the same through the console script from a CSV file, and the page's size.
Each timing is the median of ``REPEAT`` runs (default 3).

Usage: ``python benchmarks/bench_report.py [repeat]``.

Targets (issue 19): report <= 20 s end to end; HTML <= 5 MB.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEAT = int(sys.argv[1]) if len(sys.argv) > 1 else 3
CODE = """
import matplotlib
matplotlib.use("Agg")
from customer_value.datasets import load_cdnow_transactions
from customer_value.report import customer_report
customer_report(load_cdnow_transactions(sample=False), path={path!r})
"""


def median_wall(argv: list[str]) -> tuple[float, float]:
    """Median wall-clock and CPU (user + system of the child) seconds over REPEAT runs."""
    walls, cpus = [], []
    for _ in range(REPEAT):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    from customer_value.datasets import load_cdnow_transactions

    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "cdnow.html"
        csv = Path(tmp) / "cdnow.csv"
        load_cdnow_transactions(sample=False)[["customer_id", "date", "amount"]].to_csv(
            csv, index=False
        )
        api = median_wall([sys.executable, "-c", CODE.format(path=str(page))])
        size = page.stat().st_size / 1e6
        script = Path(sys.executable).with_name("customer-value")
        cli = None
        if script.exists():
            cli = median_wall([str(script), "report", str(csv), "-o", str(page), "-q"])
    rows = [
        ("customer_report, end to end, wall (s)", api[0], 20.0, "s"),
        ("customer_report, end to end, CPU (s)", api[1], 20.0, "s"),
    ]
    if cli is not None:
        rows.append(("customer-value report cdnow.csv, wall (s)", cli[0], 20.0, "s"))
        rows.append(("customer-value report cdnow.csv, CPU (s)", cli[1], 20.0, "s"))
    rows.append(("HTML size (MB)", size, 5.0, "MB"))
    print(f"CDNOW master report, fresh interpreter, median of {REPEAT}")
    print(f"| {'case':<44} | {'value':>8} | target")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 16}")
    for case, value, limit, unit in rows:
        verdict = "ok" if value <= limit else "MISSED"
        print(f"| {case:<44} | {value:8.2f} | <= {limit:g} {unit} {verdict}")


if __name__ == "__main__":
    main()
