"""Reports built once per session (each takes a few seconds)."""

from __future__ import annotations

import pytest

pytest.importorskip("jinja2", reason="the report needs the [report] extra")
pytest.importorskip("matplotlib", reason="the report needs the [report] extra")


@pytest.fixture(scope="session")
def cdnow_analysis(cdnow_transactions):
    from customer_value.report import analyze_customers

    return analyze_customers(cdnow_transactions)


@pytest.fixture(scope="session")
def cdnow_report(cdnow_analysis, tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    from customer_value.report import customer_report

    path = tmp_path_factory.mktemp("report") / "cdnow.html"
    html = customer_report(cdnow_analysis, path=path, title="CDNOW <sample> & co")
    return path, html
