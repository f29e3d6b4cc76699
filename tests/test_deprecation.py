"""Deprecations warn with DeprecationWarning, name the replacement and the caller's line."""

from __future__ import annotations

import pytest

from customer_value._deprecation import deprecated, warn_deprecated


def test_deprecated_function_warns_at_call_site_and_still_works():
    @deprecated(since="0.2", removal="0.3", instead="g")
    def f(x: int) -> int:
        return x + 1

    with pytest.warns(
        DeprecationWarning, match=r"f\(\) is deprecated since 0.2.*removed in 0.3.*use g"
    ) as rec:
        assert f(1) == 2
    assert rec[0].filename == __file__


def test_warn_deprecated_without_replacement():
    with pytest.warns(
        DeprecationWarning, match="^opt is deprecated since 1.0 and will be removed in 1.1$"
    ):
        warn_deprecated("opt", since="1.0", removal="1.1")
