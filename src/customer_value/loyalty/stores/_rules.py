"""The lot rules of the ledger, stated once and derived for every backend.

A lot is *live* at an instant when it has points left and has not expired;
live lots are *spendable* once their pending period is over and *pending*
before; spendable lots that expire within a horizon are *expiring*; lots with
points left whose expiry has passed are *due* for an expiry run. Lots are
consumed first-expiring-first (never-expiring last), ties broken by earning
time, then lot id.

Each rule is a small expression tree (:class:`Expr`) over lot columns and
named parameters. The same tree is evaluated in Python by
:class:`~customer_value.loyalty.MemoryStore` (:meth:`Expr.holds`) and rendered
to SQL by the SQLite and PostgreSQL stores (:meth:`Expr.sql`), so the stores
cannot drift apart: a change of rule is one change here.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from customer_value._time import NS_PER_DAY

__all__ = [
    "BALANCE_RULES",
    "DUE",
    "EXPIRES_WITHIN",
    "EXPIRING",
    "EXPIRY_ORDER",
    "HAS_POINTS",
    "HELD",
    "LIVE",
    "PENDING",
    "PENDING_EXPIRING",
    "SPENDABLE",
    "Expr",
    "expiry_day",
    "expiry_key",
    "expiry_window",
    "open_sums_sql",
    "pass_sql",
    "predicate",
]

Getter = Callable[[str], Any]
_Instants = TypeVar("_Instants", int, "npt.NDArray[np.int64]")
ParamStyle = Callable[[str], str]
Predicate = Callable[[Any, Mapping[str, Any]], bool]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Expr:
    """A boolean rule over lot columns (``Col``) and parameters (``Param``).

    Examples
    --------
    >>> from customer_value.loyalty.stores._rules import HAS_POINTS, SPENDABLE
    >>> lot = {"remaining": 5, "expires_at": None, "available_at": 10}
    >>> SPENDABLE.holds(lot.__getitem__, {"at": 12})
    True
    >>> SPENDABLE.sql(lambda name: ":" + name)
    '(remaining > 0 AND (expires_at IS NULL OR expires_at > :at) AND available_at <= :at)'
    >>> SPENDABLE.sql(lambda name: ":" + name, stored={HAS_POINTS: "has_points"})
    '(has_points AND (expires_at IS NULL OR expires_at > :at) AND available_at <= :at)'
    """

    def holds(self, get: Getter, params: Mapping[str, Any]) -> bool:
        """Evaluate for the lot whose column values ``get(name)`` returns."""
        raise NotImplementedError

    def sql(
        self,
        param: ParamStyle,
        rename: Mapping[str, str] | None = None,
        stored: Mapping[Expr, str] | None = None,
    ) -> str:
        """Render as an SQL condition; ``param(name)`` gives a placeholder, ``rename`` a
        column's name, ``stored`` the column a backend keeps a part of the rule in."""
        if stored and self in stored:
            return stored[self]
        return self._sql(param, rename or {}, stored)

    def _sql(
        self, param: ParamStyle, rename: Mapping[str, str], stored: Mapping[Expr, str] | None
    ) -> str:
        raise NotImplementedError

    def compile(self, fixed: Mapping[str, int]) -> Predicate:
        """A function ``(lot, params) -> bool`` (lot columns as attributes).

        ``fixed`` holds columns taken as constants instead of read from the lot.
        """
        raise NotImplementedError


@dataclass(frozen=True)
class _Term:
    kind: str  # "col" | "param" | "const"
    value: Any

    def get(self, get: Getter, params: Mapping[str, Any]) -> Any:
        if self.kind == "col":
            return get(self.value)
        if self.kind == "param":
            return params[self.value]
        return self.value

    def sql(self, param: ParamStyle, rename: Mapping[str, str]) -> str:
        if self.kind == "col":
            return rename.get(self.value, self.value)
        if self.kind == "param":
            return param(self.value)
        return str(int(self.value))

    def reader(self, fixed: Mapping[str, int]) -> Callable[[Any, Mapping[str, Any]], Any]:
        """A function ``(lot, params) -> value`` for this term."""
        name = self.value
        if self.kind == "col" and name not in fixed:
            attr = operator.attrgetter(name)
            return lambda lot, p: attr(lot)
        if self.kind == "param":
            return lambda lot, p: p[name]
        const = fixed[name] if self.kind == "col" else self.value
        return lambda lot, p: const

    def nullable(self, fixed: Mapping[str, int]) -> bool:
        """Whether the term can be ``None`` (a column read from the lot, or a parameter)."""
        return self.kind == "param" or (self.kind == "col" and self.value not in fixed)


def _col(name: str) -> _Term:
    return _Term("col", name)


def _param(name: str) -> _Term:
    return _Term("param", name)


@dataclass(frozen=True)
class _Cmp(Expr):
    op: str
    left: _Term
    right: _Term

    def holds(self, get: Getter, params: Mapping[str, Any]) -> bool:
        a, b = self.left.get(get, params), self.right.get(get, params)
        # SQL semantics: a comparison with NULL is not true
        return a is not None and b is not None and _OPS[self.op](a, b)

    def _sql(
        self, param: ParamStyle, rename: Mapping[str, str], stored: Mapping[Expr, str] | None
    ) -> str:
        return f"{self.left.sql(param, rename)} {self.op} {self.right.sql(param, rename)}"

    def compile(self, fixed: Mapping[str, int]) -> Predicate:
        op, left, right = _OPS[self.op], self.left, self.right
        if left.kind == "col" and left.value not in fixed and right.kind == "param":
            # the shape of every rule's comparisons: a lot column against a parameter
            col, name = operator.attrgetter(left.value), right.value

            def col_param(lot: Any, p: Mapping[str, Any]) -> bool:
                # SQL semantics: a comparison with NULL is not true
                x, y = col(lot), p[name]
                return x is not None and y is not None and op(x, y)

            return col_param
        a, b = left.reader(fixed), right.reader(fixed)
        if not (left.nullable(fixed) or right.nullable(fixed)):
            return lambda lot, p: op(a(lot, p), b(lot, p))

        def held(lot: Any, p: Mapping[str, Any]) -> bool:
            x, y = a(lot, p), b(lot, p)
            return x is not None and y is not None and op(x, y)

        return held


@dataclass(frozen=True)
class _IsNull(Expr):
    term: _Term
    negate: bool = False

    def holds(self, get: Getter, params: Mapping[str, Any]) -> bool:
        return (self.term.get(get, params) is None) != self.negate

    def _sql(
        self, param: ParamStyle, rename: Mapping[str, str], stored: Mapping[Expr, str] | None
    ) -> str:
        return f"{self.term.sql(param, rename)} IS {'NOT ' if self.negate else ''}NULL"

    def compile(self, fixed: Mapping[str, int]) -> Predicate:
        term, negate = self.term, self.negate
        if term.kind == "col" and term.value not in fixed:
            col = operator.attrgetter(term.value)
            if negate:
                return lambda lot, p: col(lot) is not None
            return lambda lot, p: col(lot) is None
        read = term.reader(fixed)
        return lambda lot, p: (read(lot, p) is None) != negate


@dataclass(frozen=True)
class _Junction(Expr):
    word: str  # "AND" | "OR"
    parts: tuple[Expr, ...]

    def holds(self, get: Getter, params: Mapping[str, Any]) -> bool:
        if self.word == "AND":
            return all(p.holds(get, params) for p in self.parts)
        return any(p.holds(get, params) for p in self.parts)

    def _sql(
        self, param: ParamStyle, rename: Mapping[str, str], stored: Mapping[Expr, str] | None
    ) -> str:
        inner = f" {self.word} ".join(p.sql(param, rename, stored) for p in self.parts)
        return f"({inner})"

    def compile(self, fixed: Mapping[str, int]) -> Predicate:
        parts = [part.compile(fixed) for part in self.parts]
        # folded pairwise so evaluation short-circuits without a generator per call
        fn = parts[-1]
        for first in reversed(parts[:-1]):
            fn = _both(first, fn) if self.word == "AND" else _either(first, fn)
        return fn


def _both(f: Predicate, g: Predicate) -> Predicate:
    return lambda lot, p: f(lot, p) and g(lot, p)


def _either(f: Predicate, g: Predicate) -> Predicate:
    return lambda lot, p: f(lot, p) or g(lot, p)


_COMPILED: dict[tuple[Expr, tuple[tuple[str, int], ...]], Predicate] = {}


def predicate(rule: Expr, fixed: Mapping[str, int] | None = None) -> Predicate:
    """``rule`` compiled to a Python function ``(lot, params) -> bool`` (cached).

    The same expression tree as :meth:`Expr.holds` and :meth:`Expr.sql`, composed
    once into closures: the in-memory store and the balance arithmetic evaluate
    rules per lot, so this is their fast path. ``fixed`` takes a column as a
    constant instead of reading it from the lot (``{"remaining": 1}``).
    """
    key = (rule, tuple(sorted((fixed or {}).items())))
    fn = _COMPILED.get(key)
    if fn is None:
        fn = rule.compile(fixed or {})
        _COMPILED[key] = fn
    return fn


def _and(*parts: Expr) -> Expr:
    flat: list[Expr] = []
    for p in parts:
        flat.extend(p.parts if isinstance(p, _Junction) and p.word == "AND" else (p,))
    return _Junction("AND", tuple(flat))


def _or(*parts: Expr) -> Expr:
    return _Junction("OR", parts)


#: points left: the one part of the rules that changes as points are taken from a lot. A
#: backend may keep it in a column of its own (PostgreSQL: generated; its indexes of open
#: lots then hold that column, and taking points from a lot that keeps some changes no
#: indexed value: a heap-only update, no index entries)
HAS_POINTS = _Cmp(">", _col("remaining"), _Term("const", 0))
_HAS_POINTS = HAS_POINTS
_NEVER_EXPIRES = _IsNull(_col("expires_at"))
_HAS_EXPIRY = _IsNull(_col("expires_at"), negate=True)

#: points left and not expired at ``:at``
LIVE = _and(_HAS_POINTS, _or(_NEVER_EXPIRES, _Cmp(">", _col("expires_at"), _param("at"))))
#: live and past the pending period at ``:at``
SPENDABLE = _and(LIVE, _Cmp("<=", _col("available_at"), _param("at")))
#: live and still pending at ``:at``
PENDING = _and(LIVE, _Cmp(">", _col("available_at"), _param("at")))
#: spendable at ``:at`` and expiring by ``:until``
EXPIRING = _and(SPENDABLE, _HAS_EXPIRY, _Cmp("<=", _col("expires_at"), _param("until")))
#: points left whose expiry is at or before ``:at`` (what an expiry run takes)
DUE = _and(_HAS_POINTS, _HAS_EXPIRY, _Cmp("<=", _col("expires_at"), _param("at")))

#: points left, expiring within ``(:lo, :hi]`` (a part of one day: see ``expiry_window``)
EXPIRES_WITHIN = _and(
    _HAS_POINTS,
    _HAS_EXPIRY,
    _Cmp(">", _col("expires_at"), _param("lo")),
    _Cmp("<=", _col("expires_at"), _param("hi")),
)
#: pending at ``:at`` and expiring by ``:until`` (in the window, not spendable yet)
PENDING_EXPIRING = _and(PENDING, _HAS_EXPIRY, _Cmp("<=", _col("expires_at"), _param("until")))

#: live and earned by ``:at`` (what a clawback or reversal may take back)
HELD = _and(LIVE, _Cmp("<=", _col("earned_at"), _param("at")))

#: the three sums of a balance, in the order of ``BalanceParts``
BALANCE_RULES: tuple[tuple[str, Expr], ...] = (
    ("spendable", SPENDABLE),
    ("pending", PENDING),
    ("expiring", EXPIRING),
)

_LAST_NS = 2**63 - 1


def expiry_day(ns: _Instants) -> _Instants:
    """The number of the day holding the instant ``ns`` (days since the epoch, floored).

    Expiry days are program-local days, like every stored instant. ``ns`` is an
    int or an int64 array (the bulk import's totals).
    """
    return ns // NS_PER_DAY


def expiry_window(at: int, until: int) -> dict[str, int]:
    """Parameters of the :data:`EXPIRING` sum from per-day totals (``expiring_sql``).

    With ``T(d)`` the points left in the member's lots expiring on day ``d`` (kept
    on every write) and ``W(lo, hi)`` the :data:`EXPIRES_WITHIN` sum::

        EXPIRING(at, until) = sum(T(d) for first_day < d <= last_day)
                              + W(at, head_end) - W(until, tail_end)
                              - PENDING_EXPIRING(at, until)

    where ``first_day``/``last_day`` are the days of ``at``/``until`` and
    ``head_end``/``tail_end`` the last instants of those days: the days sum the
    lots expiring in ``[first_day + 1, last_day + 1)`` (whole days), the head adds
    the rest of ``at``'s day and the tail takes off the rest of ``until``'s day;
    the pending lots of the window are not spendable. At most the days of the
    window and the lots of two days are read, however long the history.
    """
    first, last = expiry_day(at), expiry_day(until)
    return {
        "first_day": first,
        "last_day": last,
        "head_end": min((first + 1) * NS_PER_DAY - 1, _LAST_NS),
        "tail_end": min((last + 1) * NS_PER_DAY - 1, _LAST_NS),
    }


#: consumption order: first-expiring first, never-expiring last, then earning time, lot id
EXPIRY_ORDER = ("expires_at", "earned_at", "lot_id")


def expiry_key(get: Getter) -> tuple[int, int, int, int]:
    """Sort key of :data:`EXPIRY_ORDER` for the lot whose columns ``get`` returns."""
    expires = get("expires_at")
    return (
        1 if expires is None else 0,
        0 if expires is None else int(expires),
        int(get("earned_at")),
        int(get("lot_id")),
    )


def pass_sql(never_expiring: bool, rename: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Condition and ``ORDER BY`` of one pass of :data:`EXPIRY_ORDER` over a lot index.

    Lots that expire come first, by expiry (then earning time, lot id); lots that
    never expire last. Each pass reads an index on ``(member_id, expires_at,
    earned_at, lot_id)`` in order, whatever the backend's NULL ordering.
    """
    names = rename or {}
    first = names.get(EXPIRY_ORDER[0], EXPIRY_ORDER[0])
    rest = [names.get(c, c) for c in EXPIRY_ORDER[1:]]
    if never_expiring:
        return f"{first} IS NULL", ", ".join(rest)
    return f"{first} IS NOT NULL", ", ".join([first, *rest])


def open_sums_sql(
    param: ParamStyle,
    table: Callable[[str], str] = str,
    ns: Callable[[str], str] = str,
    *,
    horizon: bool = True,
    last_entry: bool = True,
    stored: Mapping[Expr, str] | None = None,
) -> str:
    """One query: ``open_points``, the due and pending sums of a member ``:m``, the four
    terms of the expiring sum (:func:`expiry_window`; per-day totals from the table
    ``expiry_days``) and the member's last entry time: the row of ``_balances.open_sums``.

    Parameters ``:at``, ``:until`` and those of :func:`expiry_window`; ``table``
    qualifies a table name; ``ns`` turns a time column into int nanoseconds. Without
    ``horizon`` (``:until`` equal to ``:at``: nothing can be expiring) the expiring terms
    are zeros and their parameters unused. Without ``last_entry`` the last column is left
    out (a debit's check of the spendable points needs the first three only). ``stored``
    as for :meth:`Expr.sql`.
    """
    member = param("m")

    def total(rule: Expr, names: Mapping[str, str] | None = None) -> str:
        def named(name: str) -> str:
            return param((names or {}).get(name, name))

        return (
            f"(SELECT COALESCE(SUM(remaining), 0) FROM {table('lots')} "
            f"WHERE member_id = {member} AND {rule.sql(named, stored=stored)})"
        )

    # the pending lots of the window, read through the pending lots (few), not the window
    pending_expiring = (
        f"(SELECT COALESCE(SUM(CASE WHEN {PENDING_EXPIRING.sql(param, stored=stored)} "
        "THEN remaining "
        f"ELSE 0 END), 0) FROM {table('lots')} "
        f"WHERE member_id = {member} AND {PENDING.sql(param, stored=stored)})"
    )
    days = (
        f"(SELECT COALESCE(SUM(points), 0) FROM {table('expiry_days')} WHERE member_id = "
        f"{member} AND day > {param('first_day')} AND day <= {param('last_day')})"
    )
    head = total(EXPIRES_WITHIN, {"lo": "at", "hi": "head_end"})
    tail = total(EXPIRES_WITHIN, {"lo": "until", "hi": "tail_end"})
    expiring = f"{days}, {head}, {tail}, {pending_expiring}" if horizon else "0, 0, 0, 0"
    last = f", (SELECT {ns('MAX(at)')} FROM {table('entries')} WHERE member_id = {member})"
    return (
        f"SELECT (SELECT COALESCE(SUM(open_points), 0) FROM {table('balances')} "
        f"WHERE member_id = {member}), {total(DUE)}, {total(PENDING)}, {expiring}"
        + (last if last_entry else "")
    )
