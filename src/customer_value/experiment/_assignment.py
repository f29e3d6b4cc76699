"""Deterministic assignment of customers to treatment and hold-out groups."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from customer_value._validation import check_scalar, plain
from customer_value.errors import InvalidDataError

__all__ = ["assign_groups", "hash_uniform"]


def hash_uniform(customer_ids: Sequence[Any], *, salt: str) -> npt.NDArray[np.float64]:
    """A number in [0, 1) per customer from SHA-256 of ``salt`` and the id.

    Parameters
    ----------
    customer_ids : sequence
        Customer ids; each is hashed as its ``str``.
    salt : str
        Non-empty experiment key; another salt gives an independent draw.

    Returns
    -------
    numpy.ndarray
        The first 53 bits of ``sha256(f"{salt}:{id}")`` divided by 2**53.

    Raises
    ------
    InvalidDataError
        A missing or empty salt.

    Examples
    --------
    >>> from customer_value.experiment import hash_uniform
    >>> hash_uniform(["C001", "C002"], salt="spring-2025").round(4).tolist()
    [0.6145, 0.1927]
    """
    key = _check_salt(salt)
    out = np.empty(len(customer_ids), dtype=np.float64)
    for k, cid in enumerate(customer_ids):
        digest = hashlib.sha256(f"{key}:{cid}".encode()).digest()
        out[k] = (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)
    return out


def _check_salt(salt: Any) -> str:
    if not isinstance(salt, str) or not salt.strip():
        raise InvalidDataError(
            f"salt must be a non-empty string naming the experiment, got {plain(salt)!r}; "
            "without it assignments could not be reproduced"
        )
    return salt


def assign_groups(
    customer_ids: Any,
    *,
    salt: str,
    treatment_share: float = 0.5,
    strata: Any = None,
    treatment: str = "treatment",
    control: str = "control",
) -> pd.DataFrame:
    """Assign each customer to treatment or hold-out (control), reproducibly.

    Parameters
    ----------
    customer_ids : sequence or Index
        Customers to assign; duplicates are refused.
    salt : str
        Experiment key (for example ``"2025-spring-coupon"``). Required: the same salt
        gives the same groups, a new one an independent split.
    treatment_share : float, default 0.5
        Share of customers treated, in (0, 1).
    strata : sequence or Series, optional
        A segment per customer (aligned with ``customer_ids``, or a Series indexed by
        id). Within each stratum the treated share is then exact up to rounding.
    treatment, control : str
        Group labels.

    Returns
    -------
    DataFrame
        Indexed by customer id: ``group``, ``u`` (the customer's hash number in
        [0, 1)) and, with strata, ``stratum``.

    Raises
    ------
    InvalidDataError
        Missing salt, share out of range, duplicate or missing ids, strata of the wrong
        length or missing for a customer.

    Notes
    -----
    Without strata a customer is treated when ``u < treatment_share``, where
    ``u = hash_uniform(id, salt)``: the group depends on nothing but the id and the salt,
    so it is stable when the customer list grows or is reordered, and can be recomputed
    anywhere (Kohavi, Tang & Xu 2020, ch. 14). The treated share is then binomial around
    ``treatment_share``.

    With strata, customers are ranked by ``u`` within their stratum and the one at rank
    :math:`r` (from 0) is treated when :math:`\\lfloor (r+1)s \\rfloor > \\lfloor rs
    \\rfloor` for share :math:`s`, which balances each stratum exactly. The price:
    adding customers to a stratum can move others between groups, so assign once,
    store the result, and assign later arrivals with the unstratified rule.

    References
    ----------
    Kohavi, R., Tang, D. & Xu, Y. (2020). *Trustworthy Online Controlled Experiments*.
    Cambridge University Press.

    Examples
    --------
    >>> from customer_value.experiment import assign_groups
    >>> ids = [f"C{k:03d}" for k in range(8)]
    >>> groups = assign_groups(ids, salt="spring-2025")
    >>> groups["group"].value_counts().sort_index().to_dict()
    {'control': 2, 'treatment': 6}
    >>> bigger = assign_groups(ids + ["C100", "C101"], salt="spring-2025")
    >>> bool((bigger.loc[ids, "group"] == groups["group"]).all())  # stable as the list grows
    True
    >>> strat = assign_groups(ids, salt="spring-2025", strata=["a"] * 4 + ["b"] * 4)
    >>> strat.groupby("stratum")["group"].apply(lambda g: (g == "treatment").sum()).tolist()
    [2, 2]
    """
    key = _check_salt(salt)
    share = check_scalar(
        treatment_share,
        "treatment_share",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    ids = pd.Index(list(customer_ids) if not isinstance(customer_ids, pd.Index) else customer_ids)
    missing = ids.isna()
    if missing.any():
        raise InvalidDataError(
            f"customer_ids: position {int(np.flatnonzero(missing)[0])} is missing"
        )
    if ids.has_duplicates:
        dup = ids[ids.duplicated()][0]
        raise InvalidDataError(f"customer_ids: customer {plain(dup)!r} appears more than once")
    u = hash_uniform(list(ids), salt=key)
    out = pd.DataFrame(index=ids)
    if strata is None:
        treated = u < share
    else:
        if isinstance(strata, pd.Series):
            stratum = strata.reindex(ids)
        else:
            values = list(strata)
            if len(values) != len(ids):
                raise InvalidDataError(f"strata has {len(values)} values for {len(ids)} customers")
            stratum = pd.Series(values, index=ids)
        bad = stratum.isna().to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InvalidDataError(
                f"strata: customer {plain(ids[first])!r} (position {first}) has no stratum"
            )
        codes, _ = pd.factorize(stratum, sort=True)
        order = np.lexsort((u, codes))
        sorted_codes = codes[order]
        rank = np.arange(order.size) - np.searchsorted(sorted_codes, sorted_codes)
        pick = np.floor((rank + 1) * share) > np.floor(rank * share)
        treated = np.empty(order.size, dtype=bool)
        treated[order] = pick
        out["stratum"] = stratum.to_numpy()
    out.insert(0, "group", np.where(treated, treatment, control))
    out.insert(1, "u", u)
    out.attrs.update({"salt": key, "treatment_share": share})
    return out
