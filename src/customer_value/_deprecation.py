"""Deprecation policy helper.

A public name or option is never removed without warning: it keeps working for one
minor release and emits :class:`DeprecationWarning` naming its replacement and the
release that removes it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["deprecated", "warn_deprecated"]

P = ParamSpec("P")
R = TypeVar("R")


def warn_deprecated(
    what: str, *, since: str, removal: str, instead: str | None = None, stacklevel: int = 3
) -> None:
    """Emit a :class:`DeprecationWarning` pointing at the caller's caller.

    ``stacklevel`` counts from this function (3: the caller of the function that calls
    this one); a helper one call deeper passes 4.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_deprecated("old_option", since="0.2", removal="0.3", instead="new_option")
    >>> str(caught[0].message)
    'old_option is deprecated since 0.2 and will be removed in 0.3; use new_option instead'
    """
    message = f"{what} is deprecated since {since} and will be removed in {removal}"
    if instead:
        message += f"; use {instead} instead"
    warnings.warn(message, DeprecationWarning, stacklevel=stacklevel)


def deprecated(
    *, since: str, removal: str, instead: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function that is kept for one minor release before removal.

    Examples
    --------
    >>> @deprecated(since="0.2", removal="0.3", instead="new_function")
    ... def old_function() -> int:
    ...     return 1
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     old_function()
    1
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            warn_deprecated(f"{func.__qualname__}()", since=since, removal=removal, instead=instead)
            return func(*args, **kwargs)

        return wrapper

    return decorate
