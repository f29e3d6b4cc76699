"""Sphinx configuration for customer_value."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import customer_value

project = "customer_value"
author = "customer_value developers"
copyright = "2026, customer_value developers"
release = customer_value.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
]
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
intersphinx_mapping: dict[str, tuple[str, None]] = {}
templates_path: list[str] = []
exclude_patterns = ["_build"]
html_theme = "pydata_sphinx_theme"
html_title = "customer_value"
html_static_path = ["_static"]

# Gallery: plots are drawn at build time on the bundled data (Agg backend).
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 90)]
plot_pre_code = "import matplotlib\nmatplotlib.use('Agg')\n"


# "Report and command line" page: the CDNOW report, its screenshot and the CLI help are
# generated at build time into _static/generated (not in git).
GENERATED = Path(__file__).parent / "_static" / "generated"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _cli_reference() -> None:
    from customer_value.cli import build_parser

    parser = build_parser()
    (GENERATED / "cli_main.txt").write_text(parser.format_help(), encoding="utf-8")
    for action in parser._subparsers._group_actions:  # the sub-command parsers
        for name, sub in action.choices.items():
            (GENERATED / f"cli_{name}.txt").write_text(sub.format_help(), encoding="utf-8")


def _report_and_screenshot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from customer_value.datasets import load_cdnow_transactions
    from customer_value.report import customer_report

    page = GENERATED / "cdnow_report.html"
    customer_report(load_cdnow_transactions(sample=False), path=page, title="CDNOW customer base")
    shot = GENERATED / "cdnow_report.png"
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is not None:
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                [
                    binary,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    "--window-size=1100,2200",
                    f"--screenshot={shot}",
                    page.as_uri(),
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
        return
    import matplotlib.pyplot as plt  # placeholder that says why there is no screenshot

    fig = plt.figure(figsize=(8, 2))
    fig.text(
        0.5,
        0.5,
        "Screenshot not generated: Chromium was not installed at build time.",
        ha="center",
        va="center",
    )
    fig.savefig(shot)
    plt.close(fig)


def _generate(app: object) -> None:
    GENERATED.mkdir(parents=True, exist_ok=True)
    _cli_reference()
    _report_and_screenshot()


def setup(app: Any) -> None:
    app.connect("builder-inited", _generate)
