"""The estimator idiom shared by every model and segmenter (private).

See ``docs/contributing.rst`` ("Writing an estimator"): hyper-parameters in ``__init__``
stored as given, data facts and validation in ``fit``/``assign``, learned state ending in
an underscore, one :func:`check_is_fitted`, ``get_params`` from the constructor's
signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from customer_value._deprecation import warn_deprecated
from customer_value.errors import InvalidDataError, NotFittedError

__all__ = ["ParamsMixin", "check_is_fitted", "deprecated_eager_check", "deprecated_view"]


def check_is_fitted(
    estimator: Any, attributes: str | Iterable[str], *, action: str = "fit(data)"
) -> None:
    """Raise :class:`~customer_value.errors.NotFittedError` unless ``estimator`` is fitted.

    Parameters
    ----------
    estimator : object
        The estimator.
    attributes : str or iterable of str
        Attribute(s) set by ``fit`` (a private backing field such as ``"_params"`` or a
        public name ending in ``_``); the estimator is fitted when none is missing or
        ``None``.
    action : str, default "fit(data)"
        What the user must call, for the message.

    Raises
    ------
    NotFittedError
        ``"<Class> is not fitted yet; call <action> first"``.

    Examples
    --------
    >>> class Toy:
    ...     coef_ = None
    >>> check_is_fitted(Toy(), "coef_")
    Traceback (most recent call last):
    ...
    customer_value.errors.NotFittedError: Toy is not fitted yet; call fit(data) first
    """
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    if any(getattr(estimator, name, None) is None for name in names):
        raise NotFittedError(f"{type(estimator).__name__} is not fitted yet; call {action} first")


class ParamsMixin:
    """``get_params``: the constructor's keyword arguments, read back from the attributes
    of the same name (so ``__init__`` must store them unchanged).

    A class whose public attribute of a parameter's name is still a deprecated view (see
    :func:`deprecated_view`) stores that parameter under another attribute and names it
    in ``_param_attrs`` (``{"rules": "_rules"}``).
    """

    _param_attrs: ClassVar[Mapping[str, str]] = {}

    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters as passed to the constructor.

        Returns
        -------
        dict
            ``{name: value}`` for every parameter of ``__init__``; ``type(self)(**params)``
            builds an unfitted copy.

        Examples
        --------
        >>> from customer_value.segmentation import ClusterSegmenter
        >>> ClusterSegmenter(n_segments=4).get_params()["n_segments"]
        4
        """
        signature = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, self._param_attrs.get(name, name))
            for name, p in signature.parameters.items()
            if name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        }


def deprecated_eager_check(
    estimator: Any, check: Callable[[], object], *, action: str, since: str = "0.1",
    removal: str = "0.2",
) -> None:  # fmt: skip
    """Transition of a constructor that used to validate its arguments (issue 17).

    Runs ``check`` (the validation that ``fit`` / ``assign`` now performs); when it
    raises :class:`~customer_value.errors.InvalidDataError`, warns with a
    :class:`DeprecationWarning` that the constructor will stop raising in ``removal``
    and re-raises, so code catching the error at construction keeps working for one
    minor release. Valid arguments pass silently. Delete the call in ``removal``.

    Examples
    --------
    >>> import warnings
    >>> class Toy:
    ...     def __init__(self, k):
    ...         self.k = k
    ...         deprecated_eager_check(self, self._check, action="fit(data)")
    ...     def _check(self):
    ...         if self.k < 1:
    ...             raise InvalidDataError(f"k must be >= 1, got {self.k!r}")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     try:
    ...         Toy(0)
    ...     except InvalidDataError as exc:
    ...         print(exc)
    k must be >= 1, got 0
    >>> print(caught[0].message)  # doctest: +NORMALIZE_WHITESPACE
    raising InvalidDataError from the Toy constructor is deprecated since 0.1 and will be
    removed in 0.2; use the same error from fit(data) instead
    """
    try:
        check()
    except InvalidDataError:
        warn_deprecated(
            f"raising InvalidDataError from the {type(estimator).__name__} constructor",
            since=since,
            removal=removal,
            instead=f"the same error from {action}",
            stacklevel=4,  # the line that calls the constructor
        )
        raise


def deprecated_view(
    name: str, replacement: str, param: str, *, since: str = "0.1", removal: str = "0.2"
) -> property:
    """A public attribute that used to hold parsed state, kept as a deprecated view.

    Reading ``obj.<name>`` warns and returns ``obj.<replacement>`` (the parsed state, as
    before); assigning stores the new value as given under ``param`` (the hyper-parameter
    that ``get_params`` reads), as the plain attribute will do from ``removal`` on.

    Examples
    --------
    >>> import warnings
    >>> class Toy:
    ...     def __init__(self, size):
    ...         self._size = size
    ...     size = deprecated_view("size", "size_", "_size")
    ...     @property
    ...     def size_(self):
    ...         return int(self._size)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     Toy("3").size
    3
    >>> print(caught[0].message)  # doctest: +NORMALIZE_WHITESPACE
    Toy.size (parsed) is deprecated since 0.1 and will be removed in 0.2; use Toy.size_
    (parsed) or get_params()['size'] (as given) instead
    """

    def get(self: Any) -> Any:
        owner = type(self).__name__
        warn_deprecated(
            f"{owner}.{name} (parsed)",
            since=since,
            removal=removal,
            instead=f"{owner}.{replacement} (parsed) or get_params()[{name!r}] (as given)",
        )
        return getattr(self, replacement)

    def put(self: Any, value: Any) -> None:
        setattr(self, param, value)

    return property(get, put, doc=f"Deprecated: use ``{replacement}`` or ``get_params()``.")
