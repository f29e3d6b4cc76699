"""A documented, reproducible generator of basket-level transactions with item ids."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from customer_value._time import parse_timestamp
from customer_value._validation import check_scalar
from customer_value.errors import InvalidDataError

__all__ = ["CATEGORIES", "make_basket_transactions"]

#: Categories of the generated shop: English id -> Chinese label.
CATEGORIES = {
    "dairy": "乳制品",
    "bakery": "烘焙",
    "produce": "生鲜果蔬",
    "beverages": "饮料",
    "snacks": "零食",
    "household": "家居日用",
    "personal_care": "个人护理",
    "frozen": "冷冻食品",
}
_ITEMS_PER_CATEGORY = 15


def make_basket_transactions(
    n_customers: int = 2000,
    *,
    start: Any = "2024-01-01",
    end: Any = "2024-12-31",
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate a grocery shop's order lines with item ids, categories and discounts.

    Parameters
    ----------
    n_customers : int, default 2000
        Customers, each acquired on a random day in the first half of the period.
    start, end : date-like
        The period simulated.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``; equal seeds give equal tables.

    Returns
    -------
    DataFrame
        One row per order line: ``customer_id`` (``"C00001"`` ...), ``order_id``,
        ``date``, ``item`` (``"dairy_03"`` ...; 120 items in the 8 :data:`CATEGORIES`),
        ``category``, ``quantity``, ``price``, ``amount`` (quantity x price after
        discount) and ``discount`` (amount off, 0 when none). Sorted by date and order.

    Raises
    ------
    InvalidDataError
        ``n_customers < 1`` or ``end`` not after ``start``.

    Notes
    -----
    Synthetic data, made for the examples and documentation (no public basket data set
    with item ids and a licence that allows redistribution in an MIT wheel was
    available to ship). The generating process, so that results can be judged:

    * each customer has category preferences ~ Dirichlet(0.5), a purchase rate
      ~ Gamma(shape 2, mean 1 order per 3 weeks), a lifetime ~ Exponential (mean 300
      days, so some customers lapse) and a price sensitivity ~ Beta(1.5, 4);
    * each order holds 1 + Poisson(2.5) lines; an item is drawn from a category chosen
      by preference, within it by Zipf-like popularity (weight 1/rank);
    * every item has a complement in another category (``dairy_00`` with
      ``bakery_00`` ...), added to the order with probability 0.45, so association
      rules and item-item neighbours have structure to find;
    * a line is discounted (10-30 % off) with probability equal to the customer's price
      sensitivity, so ``discount_share`` from
      :func:`~customer_value.segmentation.behavioural_features` recovers the trait.

    Examples
    --------
    >>> from customer_value.datasets import make_basket_transactions
    >>> tx = make_basket_transactions(n_customers=50, seed=3)
    >>> list(tx.columns)
    ['customer_id', 'order_id', 'date', 'item', 'category', 'quantity', 'price',
     'amount', 'discount']
    >>> tx.equals(make_basket_transactions(n_customers=50, seed=3))
    True
    """
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)):
        raise InvalidDataError(f"n_customers must be a whole number, got {n_customers!r}")
    check_scalar(n_customers, "n_customers", low=1)
    first = parse_timestamp(start, "start")
    last = parse_timestamp(end, "end")
    days = (last - first).days
    if days < 1:
        raise InvalidDataError(f"end ({last.date()}) must be after start ({first.date()})")
    rng = np.random.default_rng(seed)
    cats = list(CATEGORIES)
    n_cat = len(cats)
    items = np.array([f"{c}_{k:02d}" for c in cats for k in range(_ITEMS_PER_CATEGORY)])
    category_of = np.repeat(np.arange(n_cat), _ITEMS_PER_CATEGORY)
    within = 1.0 / np.arange(1, _ITEMS_PER_CATEGORY + 1)
    within /= within.sum()
    complement = (np.arange(items.size) + _ITEMS_PER_CATEGORY) % items.size
    base_price = np.round(rng.lognormal(np.log(4.0), 0.6, items.size), 2)

    prefs = rng.dirichlet(np.full(n_cat, 0.5), n_customers)
    rate = rng.gamma(2.0, 1.0 / 42.0, n_customers)  # orders per day, mean 1/21
    born = rng.integers(0, max(1, days // 2), n_customers)
    life = rng.exponential(300.0, n_customers)
    sensitivity = rng.beta(1.5, 4.0, n_customers)

    rows_c, rows_o, rows_d, rows_i, rows_disc = [], [], [], [], []
    order_id = 0
    for c in range(n_customers):
        stop = min(days, born[c] + life[c])
        span = max(0.0, stop - born[c])
        n_orders = 1 + rng.poisson(rate[c] * span)
        when = np.sort(np.concatenate([[born[c]], born[c] + rng.uniform(0, span, n_orders - 1)]))
        for t in when.astype(np.int64):
            size = 1 + rng.poisson(2.5)
            cat = rng.choice(n_cat, size, p=prefs[c])
            pick = cat * _ITEMS_PER_CATEGORY + rng.choice(_ITEMS_PER_CATEGORY, size, p=within)
            extra = complement[pick[rng.random(size) < 0.45]]
            basket = np.unique(np.concatenate([pick, extra]))
            rows_c.append(np.full(basket.size, c))
            rows_o.append(np.full(basket.size, order_id))
            rows_d.append(np.full(basket.size, t))
            rows_i.append(basket)
            rows_disc.append(rng.random(basket.size) < sensitivity[c])
            order_id += 1
    cust = np.concatenate(rows_c)
    item = np.concatenate(rows_i)
    discounted = np.concatenate(rows_disc)
    quantity = 1 + rng.poisson(0.3, item.size)
    rate_off = np.where(discounted, rng.choice([0.1, 0.2, 0.3], item.size), 0.0)
    gross = quantity * base_price[item]
    frame = pd.DataFrame(
        {
            "customer_id": np.char.add("C", np.char.zfill(cust.astype(str), 5)),
            "order_id": np.concatenate(rows_o),
            "date": first + pd.to_timedelta(np.concatenate(rows_d), unit="D"),
            "item": items[item],
            "category": np.array(cats)[category_of[item]],
            "quantity": quantity,
            "price": base_price[item],
            "amount": np.round(gross * (1 - rate_off), 2),
            "discount": np.round(gross * rate_off, 2),
        }
    )
    frame = frame.sort_values(["date", "order_id", "item"], kind="stable")
    return frame.reset_index(drop=True)
