"""The installed ``customer-value`` console script, run as a user would, on small files."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(sys.executable).with_name("customer-value")
pytestmark = pytest.mark.skipif(
    not SCRIPT.exists() and shutil.which("customer-value") is None,
    reason="the console script is installed by pip install -e . (make test does it)",
)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = str(SCRIPT) if SCRIPT.exists() else "customer-value"
    return subprocess.run(
        [command, *args], capture_output=True, text=True, cwd=cwd, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory, cdnow_transactions):
    root = tmp_path_factory.mktemp("cli")
    tx = cdnow_transactions[["customer_id", "date", "amount"]]
    tx.to_csv(root / "cdnow.csv", index=False)
    renamed = tx.rename(columns={"customer_id": "member", "date": "day", "amount": "spend"})
    renamed.assign(day=renamed["day"].dt.strftime("%Y%m%d")).to_csv(
        root / "custom.csv", index=False, sep=";"
    )
    if importlib.util.find_spec("pyarrow") is not None:  # the [polars]/[duckdb] extras bring it
        tx.to_parquet(root / "cdnow.parquet")
    tx.drop(columns="amount").to_csv(root / "no_amount.csv", index=False)
    bad = tx.astype({"date": str}).copy()
    bad["date"] = "not a date"
    bad.to_csv(root / "bad_dates.csv", index=False)
    (root / "empty.csv").write_text("")
    (root / "header_only.csv").write_text("customer_id,date,amount\n")
    return root


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("[")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("customer-value: error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("report", "summary", "score", "segments"):
        assert command in result.stdout


def test_python_dash_m_runs_the_same_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "customer_value", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("customer-value ")


def test_summary(files, cdnow_transactions):
    result = run("summary", str(files / "cdnow.csv"), "-q")
    assert result.returncode == 0, result.stderr
    assert f"customers         {cdnow_transactions['customer_id'].nunique():,}" in result.stdout
    assert f"transactions      {len(cdnow_transactions):,}" in result.stdout
    assert "first purchase    1997-01-01" in result.stdout


def test_summary_with_other_column_names_separator_and_date_format(files, cdnow_transactions):
    result = run(
        "summary",
        str(files / "custom.csv"),
        "--customer-id-col=member",
        "--date-col=day",
        "--amount-col=spend",
        "--date-format=%Y%m%d",
        "--sep=;",
        "-q",
    )
    assert result.returncode == 0, result.stderr
    assert f"customers         {cdnow_transactions['customer_id'].nunique():,}" in result.stdout


@pytest.mark.slow
def test_report_writes_the_page_and_reports_progress(files, tmp_path):
    pytest.importorskip("jinja2", reason="the report needs the [report] extra (Jinja2)")
    pytest.importorskip("matplotlib", reason="the report needs the [report] extra (matplotlib)")
    out = tmp_path / "page.html"
    result = run("report", str(files / "cdnow.csv"), "-o", str(out), "--language", "zh")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {out}"
    assert "fitting BG/NBD" in result.stderr  # progress on the long steps
    html = out.read_text(encoding="utf-8")
    assert "<h2>购买模型</h2>" in html


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_reads_and_writes_csv_and_parquet(files, tmp_path, suffix, cdnow_transactions):
    if suffix == ".parquet" and not (files / "cdnow.parquet").exists():
        pytest.skip("Parquet needs the [polars] or [duckdb] extra (with pyarrow); not installed")
    out = tmp_path / f"scores{suffix}"
    result = run("score", str(files / f"cdnow{suffix}"), "-o", str(out), "-q")
    assert result.returncode == 0, result.stderr
    scores = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert len(scores) == cdnow_transactions["customer_id"].nunique()
    for column in ("customer_id", "p_alive", "clv", "risk_level", "segment", "stage"):
        assert column in scores.columns
    assert scores["clv"].notna().all()


@pytest.mark.slow
def test_score_on_parquet_takes_the_engine_path_with_the_same_numbers(
    files, tmp_path, assert_same_scores
):
    if not (files / "cdnow.parquet").exists():
        pytest.skip("Parquet needs the [polars] or [duckdb] extra (with pyarrow); not installed")
    engine_out, pandas_out = tmp_path / "engine.csv", tmp_path / "pandas.csv"
    engine = run("score", str(files / "cdnow.parquet"), "-o", str(engine_out))
    assert engine.returncode == 0, engine.stderr
    assert "scoring every customer in the engine" in engine.stderr  # not the pandas path
    assert "reading and cleaning" not in engine.stderr
    plain = run("score", str(files / "cdnow.csv"), "-o", str(pandas_out), "-q")
    assert plain.returncode == 0, plain.stderr
    # CSV ids are read as text, Parquet ids keep their integer type: align on the text
    ours, expected = (
        pd.read_csv(f).astype({"customer_id": str}).set_index("customer_id").sort_index()
        for f in (engine_out, pandas_out)
    )
    assert_same_scores(ours, expected)


@pytest.mark.slow
def test_score_on_parquet_with_text_dates_falls_back_to_pandas(files, tmp_path, cdnow_transactions):
    if not (files / "cdnow.parquet").exists():
        pytest.skip("Parquet needs the [polars] or [duckdb] extra (with pyarrow); not installed")
    text = tmp_path / "text_dates.parquet"
    tx = cdnow_transactions[["customer_id", "date", "amount"]]
    tx.assign(date=tx["date"].dt.strftime("%Y-%m-%d")).to_parquet(text)
    out = tmp_path / "scores.csv"
    result = run("score", str(text), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "reading and cleaning" in result.stderr  # the pandas path parses text dates
    assert len(pd.read_csv(out)) == tx["customer_id"].nunique()


def test_segments_table_and_file(files, tmp_path):
    result = run("segments", str(files / "cdnow.csv"), "-q")
    assert result.returncode == 0, result.stderr
    assert "champions" in result.stdout
    assert "revenue_%" in result.stdout
    out = tmp_path / "segments.csv"
    assert run("segments", str(files / "cdnow.csv"), "-o", str(out), "-q").returncode == 0
    assert {"customer_id", "segment", "rfm_code"} <= set(pd.read_csv(out).columns)


def test_missing_column(files):
    line = one_line_error(run("summary", str(files / "no_amount.csv"), "-q"))
    assert "missing column(s) 'amount'" in line


def test_bad_dates(files):
    line = one_line_error(run("summary", str(files / "bad_dates.csv"), "-q"))
    assert "column 'date'" in line
    assert "'not a date'" in line


def test_empty_file(files):
    line = one_line_error(run("summary", str(files / "empty.csv"), "-q"))
    assert "the file is empty" in line


def test_header_only_file(files):
    line = one_line_error(run("score", str(files / "header_only.csv"), "-o", "x.csv", "-q"))
    assert "empty" in line


def test_missing_file(tmp_path):
    line = one_line_error(run("summary", str(tmp_path / "nowhere.csv")))
    assert "no such file" in line


def test_debug_shows_the_traceback(files):
    result = run("--debug", "summary", str(files / "no_amount.csv"), "-q")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "InvalidDataError" in result.stderr


def test_wrong_command_line_is_exit_status_2():
    result = run("score")  # the file and -o are required
    assert result.returncode == 2
    assert "usage:" in result.stderr
