"""Progress output is opt-in; loggers live under customer_value.*."""

from __future__ import annotations

import logging

from customer_value._progress import Progress, get_logger


def test_disabled_progress_prints_nothing(capsys):
    with Progress("work", total=5) as bar:
        for _ in range(5):
            bar.update()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""
    assert bar.count == 5


def test_enabled_progress_writes_to_stderr_only(capsys):
    with Progress("fitting", total=2, enabled=True) as bar:
        bar.update()
        bar.update()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "fitting" in captured.err
    assert "100%" in captured.err
    assert "done in" in captured.err


def test_logger_names():
    assert get_logger("clv").name == "customer_value.clv"
    assert get_logger("customer_value.loyalty").name == "customer_value.loyalty"
    assert isinstance(get_logger("x"), logging.Logger)
