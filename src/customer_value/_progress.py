"""Opt-in progress display on stderr and the library's loggers.

Nothing prints by default. Long operations accept ``progress=True`` and report
through :class:`Progress`; all of them also log under ``customer_value.*``.
"""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType

__all__ = ["Progress", "get_logger"]


def get_logger(name: str) -> logging.Logger:
    """Logger ``customer_value.<name>`` (``name`` may already carry the prefix)."""
    if not name.startswith("customer_value"):
        name = f"customer_value.{name}"
    return logging.getLogger(name)


class Progress:
    """A minimal stderr progress line: ``label: 40% (400/1000) 1.2 s``.

    Parameters
    ----------
    label : str
        What is being done.
    total : int, optional
        Number of steps, when known.
    enabled : bool, default False
        Write to stderr only when True; a disabled instance costs nothing.

    Examples
    --------
    >>> with Progress("fitting", total=3) as bar:
    ...     for _ in range(3):
    ...         bar.update()
    >>> bar.count
    3
    """

    def __init__(self, label: str, total: int | None = None, *, enabled: bool = False) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.count = 0
        self._start = time.perf_counter()
        self._last_draw = 0.0

    def __enter__(self) -> Progress:
        self._start = time.perf_counter()
        return self

    def update(self, steps: int = 1, *, note: str = "") -> None:
        """Advance by ``steps`` and redraw at most ten times a second."""
        self.count += steps
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last_draw < 0.1 and (self.total is None or self.count < self.total):
            return
        self._last_draw = now
        elapsed = now - self._start
        if self.total:
            share = min(self.count / self.total, 1.0)
            text = f"{self.label}: {share:4.0%} ({self.count}/{self.total}) {elapsed:.1f} s"
        else:
            text = f"{self.label}: {self.count} {elapsed:.1f} s"
        if note:
            text += f" {note}"
        sys.stderr.write("\r" + text)
        sys.stderr.flush()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.enabled:
            sys.stderr.write(f"\r{self.label}: done in {time.perf_counter() - self._start:.1f} s\n")
            sys.stderr.flush()
