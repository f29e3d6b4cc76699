"""The exception and warning hierarchy of customer_value.

Every error raised for bad input is a :class:`CustomerValueError`, itself a
:class:`ValueError`, so ``except ValueError`` keeps working for callers that do
not know this library. Messages name what was expected, what was found and
where (column, first offending row, its value).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConvergenceError",
    "CustomerValueError",
    "CustomerValueWarning",
    "IdempotencyConflictError",
    "InsufficientPointsError",
    "InvalidDataError",
    "InvalidProgramError",
    "MissingExtraError",
    "NotFittedError",
    "StoreError",
]


class CustomerValueError(ValueError):
    """Base class of every error this library raises on purpose."""


class InvalidDataError(CustomerValueError):
    """Input data is malformed: a missing column, a NaN, a value out of range."""


class NotFittedError(CustomerValueError):
    """A prediction or attribute was requested from an estimator before ``fit``."""


class ConvergenceError(CustomerValueError):
    """An optimiser did not converge; ``result`` holds what it returned.

    Parameters
    ----------
    message : str
        What failed and what to try.
    result : object, optional
        The optimiser's result object (for example a ``scipy.optimize.OptimizeResult``).
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class InvalidProgramError(CustomerValueError):
    """A loyalty program configuration failed validation.

    Parameters
    ----------
    problems : list of str
        Every problem found, each prefixed with its path in the configuration.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        joined = "\n  ".join(self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the program:\n  {joined}")


class IdempotencyConflictError(CustomerValueError):
    """An idempotency key was reused with a different request."""


class InsufficientPointsError(CustomerValueError):
    """A redemption asked for more points than the member has available."""


class StoreError(CustomerValueError):
    """A ledger store could not do what was asked; the failed attempt wrote nothing.

    Raised for a lost database connection, a conflict with a concurrent writer
    that the database resolved by aborting this transaction (``retryable`` is
    True: repeat the call with the same idempotency key), a write to a
    read-only store, or a database whose schema this library cannot use.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class MissingExtraError(CustomerValueError, ImportError):
    """An optional dependency is not installed; the message names the extra to install.

    For example ``pip install "customer-value[plot]"`` for plotting or
    ``pip install "customer-value[polars]"`` to pass Polars frames.
    """


class CustomerValueWarning(UserWarning):
    """A doubtful but valid situation (for example an undefined model mean)."""
