"""``customer_report``: the customer base on one self-contained HTML page ([report] extra)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from customer_value._version import __version__
from customer_value.plotting import MissingExtraError
from customer_value.report._analysis import CustomerAnalysis, analyze_customers
from customer_value.report._sections import (
    data_section,
    loyalty_section,
    model_section,
    risk_section,
    segments_section,
    surveys_section,
    value_section,
)
from customer_value.report._text import Words, check_language

__all__ = ["SECTIONS", "customer_report"]

#: Section keys in page order (the page's element ids).
SECTIONS = ("data", "model", "value", "segments", "risk", "surveys", "loyalty")


def _environment() -> Any:
    try:
        import jinja2
    except ImportError as exc:
        raise MissingExtraError(
            'the report needs Jinja2: install the extra with pip install "customer-value[report]"'
        ) from exc
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingExtraError(
            "the report needs matplotlib: install the extra with "
            'pip install "customer-value[report]"'
        ) from exc
    del matplotlib  # imported by the plots; checked here for one clear message
    return jinja2.Environment(
        loader=jinja2.PackageLoader("customer_value.report", "templates"),
        autoescape=True,  # every value from the data (ids, labels, file names) is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def customer_report(
    transactions: Any,
    *,
    path: str | Path | None = None,
    customer_id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = "amount",
    date_format: str | None = None,
    calibration_end: Any = None,
    horizon: float = 52.0,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    currency: str = "USD",
    language: str = "en",
    title: str | None = None,
    nps_answers: Any = None,
    kano_answers: Any = None,
    rating_col: str = "rating",
    survey_date_col: str = "date",
    ledger: Any = None,
    value_per_point: Any = None,
    progress: Callable[[str], None] | None = None,
) -> str:
    """A self-contained HTML report on a customer base: data, model, value, segments, risk.

    The page needs no server and no network: the style is inline and the plots are
    embedded PNG images. It reads on a laptop and a phone and prints section by
    section. A section whose input is missing is kept, with a note saying why it was
    skipped.

    Parameters
    ----------
    transactions : DataFrame, mapping or CustomerAnalysis
        One row per purchase, or the result of :func:`analyze_customers` (the column
        and model options are then ignored).
    path : str or Path, optional
        Also write the page to this file (UTF-8).
    customer_id_col, date_col, amount_col, date_format, calibration_end
        Passed to :func:`analyze_customers`.
    horizon : float, default 52
        Weeks of future value and value at risk.
    discount_rate : float, default 0.10
        Annual discount rate.
    margin : float, default 1.0
        Share of spend that is profit.
    currency : str, default "USD"
        ISO code; shown as a symbol for USD, EUR, GBP, CNY, JPY.
    language : {"en", "zh"}, default "en"
        Language of the page and of the numbers' dates.
    title : str, optional
        Page title (escaped); "Customer base report" by default.
    nps_answers : array-like or DataFrame, optional
        0-10 ratings, or a table with ``rating_col`` (and ``survey_date_col`` for a
        monthly trend).
    kano_answers : DataFrame, optional
        Kano answers for :func:`customer_value.survey.kano_summary`.
    rating_col, survey_date_col : str
        Columns of ``nps_answers`` when it is a table.
    ledger : Ledger, optional
        A loyalty ledger: points flow, outstanding points, breakage and (with
        ``value_per_point``) the liability.
    value_per_point : number or str, optional
        Transaction price allocated per point, for the liability.
    progress : callable, optional
        Called with a short message before each long step.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    InvalidDataError
        As :func:`analyze_customers`, or an unknown ``language``.
    MissingExtraError
        Jinja2 or matplotlib is not installed (``pip install "customer-value[report]"``).

    Examples
    --------
    >>> from customer_value.datasets import load_cdnow_transactions
    >>> from customer_value.report import customer_report
    >>> html = customer_report(load_cdnow_transactions(), language="zh")
    >>> html.startswith("<!DOCTYPE html>") and "购买模型" in html
    True
    """
    words = Words(check_language(language), currency)
    env = _environment()
    say = progress or (lambda message: None)
    if isinstance(transactions, CustomerAnalysis):
        analysis = transactions
    else:
        analysis = analyze_customers(
            transactions,
            customer_id_col=customer_id_col,
            date_col=date_col,
            amount_col=amount_col,
            date_format=date_format,
            calibration_end=calibration_end,
            horizon=horizon,
            discount_rate=discount_rate,
            margin=margin,
            progress=say,
        )
    say("drawing the figures")
    sections = [
        data_section(analysis, words),
        model_section(analysis, words),
        value_section(analysis, words),
        segments_section(analysis, words),
        risk_section(analysis, words),
        surveys_section(nps_answers, kano_answers, words, rating_col, survey_date_col),
        loyalty_section(ledger, value_per_point, words),
    ]
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    html = str(
        env.get_template("report.html.j2").render(
            html_lang="zh-CN" if words.language == "zh" else "en",
            title=title or words("title"),
            generated=words("generated", when=now, version=__version__),
            contents=words("contents"),
            version=__version__,
            sections=sections,
        )
    )
    if path is not None:
        Path(path).write_text(html, encoding="utf-8")
    return html
