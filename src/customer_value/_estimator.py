"""The estimator idiom shared by every model and segmenter (private).

See ``docs/contributing.rst`` ("Writing an estimator"): hyper-parameters in ``__init__``
stored as given, data facts and validation in ``fit``/``assign``, learned state ending in
an underscore, one :func:`check_is_fitted`, ``get_params`` from the constructor's
signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from customer_value.errors import NotFittedError

__all__ = ["ParamsMixin", "check_is_fitted"]


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
    of the same name (so ``__init__`` must store them unchanged)."""

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
            name: getattr(self, name)
            for name, p in signature.parameters.items()
            if name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        }
