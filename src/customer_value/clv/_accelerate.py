"""Whether the optional compiled kernels run (private).

:mod:`customer_value.clv._compiled` holds numba versions of the hottest per-customer
loops (the covariate Pareto/NBD P(alive) and the bootstrap's order statistics;
:mod:`customer_value.clv._compiled_loglik` the covariate Pareto/NBD likelihood). They run
when numba is installed - ``pip install customer-value[fast]`` - unless the environment
variable ``CUSTOMER_VALUE_NUMBA`` is ``0``; otherwise the numpy code runs, with the same
results (the tests hold the two to 1e-12 relative agreement).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from types import ModuleType

__all__: list[str] = []


def accelerated() -> bool:
    """Whether the compiled kernels run (numba installed, not switched off)."""
    if os.environ.get("CUSTOMER_VALUE_NUMBA", "1").strip().lower() in {"0", "false", "no"}:
        return False
    return _numba_installed()


@functools.cache
def _numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


def compiled(module: str = "_compiled") -> ModuleType:
    """:mod:`customer_value.clv._compiled` or another module of compiled kernels
    (``_compiled_loglik``; imports numba: call after :func:`accelerated`)."""
    return importlib.import_module(f"customer_value.clv.{module}")
