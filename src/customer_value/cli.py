"""The ``customer-value`` command line (also ``python -m customer_value``).

Built on the standard library's :mod:`argparse`: no dependency to install and nothing
to import before ``--help`` answers (issue 20); sub-commands and typed options are all
this command line needs. The library is imported inside each command.

Commands: ``report`` (HTML page), ``summary`` (the data in a few lines), ``score``
(per-customer predictions, value, risk and segment to CSV or Parquet) and ``segments``
(RFM segments). Errors are one line on standard error and exit status 1 (2 for a wrong
command line); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

PROG = "customer-value"


def _out(text: str) -> None:
    """One line of the command's result on standard output (what ``print`` would write)."""
    sys.stdout.write(f"{text}\n")


def _err(text: str) -> None:
    """One line of progress or error on standard error, flushed at once."""
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()


def _columns(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("columns of the transaction file")
    group.add_argument(
        "--customer-id-col",
        default="customer_id",
        metavar="NAME",
        help="customer id column (default: %(default)s)",
    )
    group.add_argument(
        "--date-col",
        default="date",
        metavar="NAME",
        help="purchase date column (default: %(default)s)",
    )
    group.add_argument(
        "--amount-col",
        default="amount",
        metavar="NAME",
        help="purchase amount column (default: %(default)s); 'none' if absent",
    )
    group.add_argument(
        "--date-format",
        default=None,
        metavar="FMT",
        help="strftime format of text dates, e.g. %%Y%%m%%d (default: inferred)",
    )
    group.add_argument(
        "--sep", default=",", metavar="CHAR", help="CSV field separator (default: %(default)r)"
    )


def _model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model and value")
    group.add_argument(
        "--calibration-end",
        default=None,
        metavar="DATE",
        help="end of the calibration period (default: middle of the data)",
    )
    group.add_argument(
        "--horizon",
        type=float,
        default=52.0,
        metavar="WEEKS",
        help="forecast horizon in weeks (default: %(default)g)",
    )
    group.add_argument(
        "--discount-rate",
        type=float,
        default=0.10,
        metavar="RATE",
        help="annual discount rate (default: %(default)g)",
    )
    group.add_argument(
        "--margin",
        type=float,
        default=1.0,
        metavar="SHARE",
        help="profit share of spend (default: %(default)g)",
    )


def _common(parser: argparse.ArgumentParser) -> None:
    # accepted before and after the command; SUPPRESS keeps a later default from
    # overwriting a flag given earlier
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback on errors",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress messages"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for the documentation's CLI reference)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Customer analytics from a transaction file (CSV or Parquet): a report "
        "page, a summary, per-customer scores and RFM segments.",
        epilog=f"Example: {PROG} report transactions.csv -o report.html --language zh",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    _common(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    report = commands.add_parser(
        "report",
        help="write the customer-base report (HTML)",
        description="Write a self-contained HTML report.",
    )
    _common(report)
    report.add_argument("file", type=Path, help="transactions, .csv or .parquet")
    report.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("report.html"),
        help="HTML file to write (default: %(default)s)",
    )
    _columns(report)
    _model_options(report)
    page = report.add_argument_group("page")
    page.add_argument(
        "--language",
        choices=("en", "zh"),
        default="en",
        help="language of the page (default: %(default)s)",
    )
    page.add_argument(
        "--currency", default="USD", metavar="CODE", help="ISO currency code (default: %(default)s)"
    )
    page.add_argument("--title", default=None, help="page title")
    page.add_argument(
        "--nps",
        type=Path,
        default=None,
        metavar="FILE",
        help="survey answers (.csv/.parquet) with a 0-10 rating column",
    )
    page.add_argument(
        "--rating-col",
        default="rating",
        metavar="NAME",
        help="rating column of --nps (default: %(default)s)",
    )

    summary = commands.add_parser(
        "summary",
        help="print customers, transactions, dates, revenue",
        description="Print a summary of the transaction file.",
    )
    _common(summary)
    summary.add_argument("file", type=Path, help="transactions, .csv or .parquet")
    _columns(summary)

    score = commands.add_parser(
        "score",
        help="write per-customer predictions, value, risk, segment",
        description="Write one row per customer: purchases, P(active), "
        "expected purchases, value, churn risk, stage and segment.",
    )
    _common(score)
    score.add_argument("file", type=Path, help="transactions, .csv or .parquet")
    score.add_argument(
        "-o", "--output", type=Path, required=True, help="output file, .csv or .parquet"
    )
    _columns(score)
    _model_options(score)

    segments = commands.add_parser(
        "segments",
        help="RFM segments per customer or as a table",
        description="RFM scores and classic segments.",
    )
    _common(segments)
    segments.add_argument("file", type=Path, help="transactions, .csv or .parquet")
    segments.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="write one row per customer here (.csv or .parquet); "
        "without it, print the segment table",
    )
    _columns(segments)
    return parser


class CommandError(Exception):
    """A problem to report in one line (not a bug)."""


def read_table(path: Path, *, sep: str = ",", id_col: str | None = None) -> Any:
    """A pandas DataFrame from a CSV or Parquet file (Parquet via Polars or DuckDB)."""
    import pandas as pd

    if not path.exists():
        raise CommandError(f"{path}: no such file")
    if _is_parquet(path):
        try:
            import polars

            return polars.read_parquet(path).to_pandas()
        except ImportError:
            pass
        try:
            import duckdb

            return duckdb.read_parquet(str(path)).df()
        except ImportError:
            raise CommandError(
                'reading Parquet needs Polars or DuckDB: pip install "customer-value[polars]"'
            ) from None
    try:
        dtype = {id_col: str} if id_col else None
        return pd.read_csv(path, sep=sep, dtype=dtype)
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise CommandError(f"{path}: not a readable CSV file ({str(exc).strip()})") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not a UTF-8 text file") from None


def write_table(frame: Any, path: Path) -> None:
    """Write ``frame`` (index included as columns) to CSV or Parquet by the file's suffix."""
    flat = frame.reset_index()
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import polars

            polars.from_pandas(flat).write_parquet(path)
            return
        except ImportError:
            pass
        try:
            import duckdb

            duckdb.from_df(flat).write_parquet(str(path))
            return
        except ImportError:
            raise CommandError(
                'writing Parquet needs Polars or DuckDB: pip install "customer-value[polars]"'
            ) from None
    flat.to_csv(path, index=False)


def _amount(args: argparse.Namespace) -> str | None:
    return None if str(args.amount_col).lower() == "none" else str(args.amount_col)


def _load(args: argparse.Namespace) -> Any:
    return read_table(args.file, sep=args.sep, id_col=args.customer_id_col)


def _analysis_options(args: argparse.Namespace, progress: Callable[[str], None]) -> dict[str, Any]:
    return {
        "customer_id_col": args.customer_id_col,
        "date_col": args.date_col,
        "amount_col": _amount(args),
        "date_format": args.date_format,
        "calibration_end": args.calibration_end,
        "horizon": args.horizon,
        "discount_rate": args.discount_rate,
        "margin": args.margin,
        "progress": progress,
    }


def _report(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from customer_value.report import customer_report

    nps = None
    if args.nps is not None:
        nps = read_table(args.nps)
    customer_report(
        _load(args),
        path=args.output,
        language=args.language,
        currency=args.currency,
        title=args.title,
        nps_answers=nps,
        rating_col=args.rating_col,
        **_analysis_options(args, say),
    )
    _out(f"wrote {args.output}")
    return 0


def _summary(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from customer_value.data import summarize_transactions
    from customer_value.report import clean_transactions

    frame = _load(args)
    say("summarising")
    clean, notes = clean_transactions(
        frame,
        customer_id_col=args.customer_id_col,
        date_col=args.date_col,
        amount_col=_amount(args),
        date_format=args.date_format,
    )
    summary = summarize_transactions(clean, time_unit="W")
    lines = [
        ("customers", f"{len(summary):,}"),
        ("transactions", f"{len(clean):,}"),
        ("first purchase", str(clean["date"].min().date())),
        ("last purchase", str(clean["date"].max().date())),
        ("repeat customers", f"{(summary['frequency'] > 0).mean():.1%}"),
    ]
    if "amount" in clean.columns:
        lines.append(("revenue", f"{clean['amount'].sum():,.2f}"))
    for note in notes:
        lines.append(("note", f"{note.key}: {note.values}"))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        _out(f"{key:<{width}}  {value}")
    return 0


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _score(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from customer_value.report import analyze_customers

    scores = None
    if _is_parquet(args.file) and args.file.exists() and args.date_format is None:
        # the engine path: the transactions stay in Polars/DuckDB (None: not covered)
        from customer_value._cli_parquet import score_parquet

        options = _analysis_options(args, say)
        del options["date_format"]
        scores = score_parquet(args.file, **options)
    if scores is None:
        scores = analyze_customers(_load(args), **_analysis_options(args, say)).scores
    say(f"writing {args.output}")
    write_table(scores, args.output)
    _out(f"wrote {args.output} ({len(scores):,} customers)")
    return 0


def _segments(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from customer_value.report import clean_transactions
    from customer_value.segmentation import CLASSIC_SEGMENTS, rfm_scores, segment_profile

    amount = _amount(args)
    if amount is None:
        raise CommandError("segments need an amount column (--amount-col)")
    clean, _ = clean_transactions(
        _load(args),
        customer_id_col=args.customer_id_col,
        date_col=args.date_col,
        amount_col=amount,
        date_format=args.date_format,
    )
    say("scoring RFM segments")
    segments = CLASSIC_SEGMENTS.assign(rfm_scores(clean))
    if args.output is not None:
        write_table(segments, args.output)
        _out(f"wrote {args.output} ({len(segments):,} customers)")
        return 0
    profile = segment_profile(segments)
    table = profile[["size", "share", "revenue_share"]].copy()
    table["share"] = (100 * table["share"]).round(1)
    table["revenue_share"] = (100 * table["revenue_share"]).round(1)
    _out(table.rename(columns={"share": "share_%", "revenue_share": "revenue_%"}).to_string())
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Callable[[str], None]], int]] = {
    "report": _report,
    "summary": _summary,
    "score": _score,
    "segments": _segments,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        0 on success, 1 for an error in the input, 2 for a wrong command line.

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    customer-value ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from customer_value._version import __version__

        _out(f"{PROG} {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    start = time.perf_counter()

    def say(message: str) -> None:
        if not getattr(args, "quiet", False):
            _err(f"[{time.perf_counter() - start:6.1f}s] {message}")

    try:
        return COMMANDS[args.command](args, say)
    except KeyboardInterrupt:
        _err(f"{PROG}: interrupted")
        return 130
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        from customer_value.errors import CustomerValueError

        if isinstance(exc, (CommandError, CustomerValueError)):
            message = str(exc)
        elif isinstance(exc, OSError):
            message = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        else:
            message = f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)"
        _err(f"{PROG}: error: {' '.join(message.split())}")
        return 1
