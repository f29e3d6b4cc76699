"""Every public name of every subpackage is listed on an API reference page."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

API_DIR = Path(__file__).resolve().parents[1] / "docs" / "api"
MODULES = [
    "customer_value.data",
    "customer_value.datasets",
    "customer_value.errors",
    "customer_value.clv",
    "customer_value.segmentation",
    "customer_value.survey",
    "customer_value.loyalty",
    "customer_value.loyalty.accounting",
    "customer_value.churn",
    "customer_value.plotting",
    "customer_value.report",
    "customer_value.recommend",
    "customer_value.experiment",
]


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_is_on_an_api_page(module: str) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(API_DIR.glob("*.rst")))
    names = importlib.import_module(module).__all__
    missing = [n for n in names if not re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", text)]
    assert not missing, f"{module}: not on any docs/api page: {missing}"
