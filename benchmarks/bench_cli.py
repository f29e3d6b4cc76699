"""customer-value score on a large Parquet file: the engine path vs the pandas path.

Target (issue 19): ``customer-value score`` on 10,000,000 transactions in Parquet
<= 60 s, using the engine path of the scale-out issue (issue 14). Both cases run the same
data in a fresh process each, as a user would:

* ours: the installed ``customer-value score transactions.parquet -o scores.parquet``,
  which scans the file lazily with Polars (or DuckDB) and keeps the transactions in the
  engine (summaries, holdout counts, sufficient statistics, per-customer scoring);
* anchor: the pandas path the command took before, on the same file in the same run:
  ``read_table`` (Parquet to pandas), ``analyze_customers``, ``write_table``.

Both write one row per customer with the same columns; the script checks that the two
outputs agree (same customers and choices, numbers to 1e-5 relative). "CPU" is the
child's user + system time; the load average is printed with the table (the machine is
shared: compare the ratio, measured in the same run).

The model fits (Pareto/NBD above all: its cost grows with the distinct (frequency,
recency, T) rows) dominate the command at every size; the table splits them out, and
the "data steps only" rows time what the engine path changes - reading, cleaning,
summaries, holdout counts and RFM aggregates - without any fit.

Usage: python benchmarks/bench_cli.py [scale] [data]   (scale 1.0 = 10,000,000
transactions of about 1,500,000 customers over two years; "data" runs only the data
steps, which fit a shared machine at full scale)
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
N_TRANSACTIONS = int(10_000_000 * SCALE)
DAYS = 730
DATA_ONLY = len(sys.argv) > 2 and sys.argv[2] == "data"  # skip the full commands

ANCHOR = """
import sys, time, warnings
from pathlib import Path
from customer_value.cli import read_table, write_table
from customer_value.report import analyze_customers
warnings.simplefilter("ignore")
start = time.perf_counter()
def say(message):
    print(f"[{time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr, flush=True)
say("reading the file into pandas")
tx = read_table(Path(sys.argv[1]))
scores = analyze_customers(tx, progress=say).scores
say("writing")
write_table(scores, Path(sys.argv[2]))
"""


# The data steps alone (no model fit), which is what the engine path changes; the
# calibration end is the middle of the two years, as the command's default.
DATA_ENGINE = """
import sys, warnings
import polars as pl
from customer_value.data import sufficient_statistics, summarize_transactions
warnings.simplefilter("ignore")
tx = pl.scan_parquet(sys.argv[1])
checks = tx.select(pl.len(), pl.col("date").min().alias("a"), pl.col("date").max()).collect()
cal = summarize_transactions(tx, observation_end="2023-12-31", after_end="drop",
                             time_unit="W").collect()
hold = (tx.filter(pl.col("date") >= pl.datetime(2024, 1, 1))
        .group_by("customer_id").agg(pl.col("date").dt.date().n_unique()).collect())
summary = summarize_transactions(tx, monetary_value_col="amount", time_unit="W").collect()
stats = sufficient_statistics(summary)
rfm = tx.group_by("customer_id").agg(pl.col("date").max(), pl.len(),
                                     pl.col("amount").sum()).collect()
"""
DATA_PANDAS = """
import sys, warnings
import pandas as pd
from customer_value.data import calibration_holdout_split, summarize_transactions
from customer_value.report import clean_transactions
from customer_value.segmentation import rfm_scores
warnings.simplefilter("ignore")
clean, _ = clean_transactions(pd.read_parquet(sys.argv[1]), customer_id_col="customer_id",
                              date_col="date", amount_col="amount", date_format=None)
split = calibration_holdout_split(clean, calibration_end="2023-12-31",
                                  observation_end=clean["date"].max(), time_unit="W")
summary = summarize_transactions(clean, monetary_value_col="amount", time_unit="W")
rfm = rfm_scores(clean)
"""


def transactions(seed: int = 0) -> pd.DataFrame:
    """A Pareto/NBD-like base: arrivals over two years, Gamma purchase rates, lifetimes.

    Each customer arrives on a uniform day, buys at a rate ``lambda ~ Gamma(0.8, 0.05)``
    per day while alive for an exponential lifetime of mean 250 days (cut at the end of
    the two years), at uniform times in that window; amounts are log-normal. Customers
    are drawn until there are ``N_TRANSACTIONS`` rows.
    """
    rng = np.random.default_rng(seed)
    n = int(N_TRANSACTIONS / 6.5) + 1_000  # about 6.5 rows per customer
    first = rng.uniform(0, DAYS - 1, n)
    rate = rng.gamma(0.8, 0.05, n)
    alive = np.minimum(rng.exponential(250.0, n), DAYS - first)
    count = 1 + rng.poisson(rate * alive)
    customer = np.repeat(np.arange(n, dtype=np.int64), count)[:N_TRANSACTIONS]
    # first row of each customer is the arrival, the others fall in the alive window
    is_first = np.r_[True, customer[1:] != customer[:-1]]
    offset = np.where(is_first, 0.0, rng.uniform(0, 1, customer.size) * alive[customer])
    seconds = ((first[customer] + offset) * 86_400).astype(np.int64)
    date = np.datetime64("2023-01-01", "s") + seconds.astype("timedelta64[s]")
    amount = np.round(rng.lognormal(3.0, 0.8, customer.size), 2)
    return pd.DataFrame({"customer_id": customer, "date": date, "amount": amount})


def timed(command: list[str]) -> tuple[float, float, float]:
    """Wall and CPU seconds of a child process, and its seconds in model fitting.

    The fitting time is read from the progress lines on standard error
    (``[  12.3s] fitting ...``): a step lasts until the next line.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    steps = [
        (float(line[1 : line.index("s]")]), line[line.index("]") + 2 :])
        for line in done.stderr.splitlines()
        if line.startswith("[")
    ]
    ends = [t for t, _ in steps[1:]] + ([wall] if steps else [])
    fitting = sum(
        end - t
        for (t, message), end in zip(steps, ends, strict=True)
        if message.startswith("fitting")
    )
    return wall, cpu, fitting


def _data_table(d_ours: float, dc_ours: float, d_anchor: float, dc_anchor: float) -> None:
    if DATA_ONLY:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"data steps on {N_TRANSACTIONS:,} transactions (no model fit); load {load}")
        print(f"| {'case':<52} | {'time (s)':>8} | {'CPU (s)':>7} | {'speed-up':>8} |")
        print(f"|{'-' * 54}|{'-' * 10}|{'-' * 9}|{'-' * 10}|")
    for case, wall, cpu in (
        ("  data steps only, Polars (summaries, holdout, RFM)", d_ours, dc_ours),
        ("  data steps only, pandas (clean, split, summary, RFM)", d_anchor, dc_anchor),
    ):
        fit_cols = "" if DATA_ONLY else f"{'-':>11} | {wall:8.1f} | "
        print(f"| {case:<52} | {wall:8.1f} | {cpu:7.1f} | {fit_cols}{d_anchor / wall:7.2f}x |")


def main() -> None:
    script = Path(sys.executable).with_name("customer-value")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "transactions.parquet"
        frame = transactions()
        frame.to_parquet(data, index=False)
        del frame
        d_ours, dc_ours, _ = timed([sys.executable, "-c", DATA_ENGINE, str(data)])
        d_anchor, dc_anchor, _ = timed([sys.executable, "-c", DATA_PANDAS, str(data)])
        if DATA_ONLY:
            _data_table(d_ours, dc_ours, d_anchor, dc_anchor)
            return
        ours_out, anchor_out = root / "ours.parquet", root / "anchor.parquet"
        t_ours, c_ours, f_ours = timed([str(script), "score", str(data), "-o", str(ours_out)])
        t_anchor, c_anchor, f_anchor = timed(
            [sys.executable, "-c", ANCHOR, str(data), str(anchor_out)]
        )
        ours = pd.read_parquet(ours_out).set_index("customer_id").sort_index()
        anchor = pd.read_parquet(anchor_out).set_index("customer_id").sort_index()
    same_rows = ours.index.equals(anchor.index)
    worst = 0.0
    labels_equal = True
    for column in anchor.columns:
        if anchor[column].dtype.kind == "f":
            a, b = anchor[column].to_numpy(), ours[column].to_numpy()
            worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-9))))
        else:
            labels_equal &= ours[column].astype(str).equals(anchor[column].astype(str))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    size = f"{N_TRANSACTIONS:,} transactions, {len(anchor):,} customers"
    print(f"customer-value score on Parquet ({size}); load {load}")
    print(
        f"| {'case':<52} | {'time (s)':>8} | {'CPU (s)':>7} | {'fitting (s)':>11} | "
        f"{'rest (s)':>8} | {'speed-up':>8} |"
    )
    print(f"|{'-' * 54}|{'-' * 10}|{'-' * 9}|{'-' * 13}|{'-' * 10}|{'-' * 10}|")
    cases = (
        ("ours: engine path (customer-value score)", t_ours, c_ours, f_ours),
        ("anchor: pandas path (read, analyze_customers, write)", t_anchor, c_anchor, f_anchor),
    )
    for case, wall, cpu, fit in cases:
        print(
            f"| {case:<52} | {wall:8.1f} | {cpu:7.1f} | {fit:11.1f} | {wall - fit:8.1f} | "
            f"{t_anchor / wall:7.2f}x |"
        )
    _data_table(d_ours, dc_ours, d_anchor, dc_anchor)
    rest = (t_anchor - f_anchor) / max(t_ours - f_ours, 1e-9)
    print(
        "fitting = the model fits (3 candidates on the calibration period, the chosen one and "
        f"Gamma-Gamma on all data); rest = everything else: speed-up {rest:.2f}x"
    )
    print(
        f"same customers: {same_rows}; same labels: {labels_equal}; "
        f"largest relative difference of the numbers: {worst:.1e}; target <= 60 s at 10M"
    )


if __name__ == "__main__":
    main()
