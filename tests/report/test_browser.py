"""The CDNOW report opened in headless Chromium, as a person would look at it.

Chromium is driven over the DevTools protocol (``tests/report/chromium.py``); the test
checks the screenshot is not blank, every section heading is on the page, the console
has no errors, no image is broken and no request leaves the file. ``.ci/run`` installs
the Debian package ``chromium`` when it is missing.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from customer_value.report import SECTIONS
from customer_value.report._text import TEXT

from .chromium import find_chromium, render

# .ci/run installs chromium and sets CUSTOMER_VALUE_REQUIRE_BROWSER=1: there the test
# must run; elsewhere (a laptop without Chromium) it skips.
REQUIRED = os.environ.get("CUSTOMER_VALUE_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(
    find_chromium() is None and not REQUIRED,
    reason="Chromium is not installed (.ci/run installs the Debian package chromium)",
)


@pytest.fixture(scope="module")
def rendered(cdnow_report, tmp_path_factory):
    if find_chromium() is None:
        pytest.fail("CUSTOMER_VALUE_REQUIRE_BROWSER=1 but chromium is not installed")
    path, _ = cdnow_report
    result = render(path, width=1100, height=1400)
    shot = tmp_path_factory.mktemp("shot") / "cdnow_report.png"
    shot.write_bytes(result.screenshot)
    return result


def test_screenshot_is_not_blank(rendered):
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(rendered.screenshot)).convert("L"), dtype=float)
    assert image.shape[1] >= 1000  # the viewport, less a scroll bar
    assert image.shape[0] > 3000  # the whole page, not one screen
    assert image.std() > 20  # text, tables and plots, not a blank page
    dark = (image < 128).mean()
    assert 0.01 < dark < 0.5


def test_every_section_heading_is_rendered(rendered):
    assert rendered.headings == [TEXT[key]["en"] for key in SECTIONS]


def test_no_console_errors_and_no_broken_images(rendered):
    assert rendered.console_errors == []
    assert rendered.broken_images == 0


def test_no_request_leaves_the_file(rendered, cdnow_report):
    path, _ = cdnow_report
    outside = [
        url for url in rendered.requests if not (url.startswith("data:") or url == path.as_uri())
    ]
    assert outside == []
    assert path.as_uri() in rendered.requests  # the check saw the page load itself
