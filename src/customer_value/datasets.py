"""Bundled public datasets (CDNOW, donations, gzip-compressed in the wheel) and a basket generator.

This module is their one home: ``customer_value`` re-exports the loaders at the top
level, and ``customer_value.data.load_*``, ``.make_basket_transactions`` and
``.CATEGORIES`` are deprecated aliases.

Provenance
----------
CDNOW: purchases of CDs by the 23,570 customers who made their first purchase at the
online retailer CDNOW in the first quarter of 1997, followed to the end of June 1998;
the 1/10 sample holds 2,357 of them. Made public by Bruce Hardie and Peter Fader
(brucehardie.com/datasets) and redistributed in the ``lifetimes`` package (MIT).
Reference: Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting Your
Customers" the Easy Way: An Alternative to the Pareto/NBD Model. Marketing Science,
24(2), 275-284.

Donations: repeat donations of the 11,104 members of the 1995 cohort of a non-profit
over the six following annual opportunities (1996-2001), aggregated to the 22
possible (frequency, recency) patterns. Reference: Fader, P. S., Hardie, B. G. S., &
Shang, J. (2010). Customer-Base Analysis in a Discrete-Time Noncontractual Setting.
Marketing Science, 29(6), 1086-1108.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from customer_value._synthetic import CATEGORIES, make_basket_transactions

__all__ = [
    "CATEGORIES",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
    "make_basket_transactions",
]


def _read(name: str, **kwargs: object) -> pd.DataFrame:
    path = resources.files("customer_value").joinpath("_datasets").joinpath(name)
    with resources.as_file(path) as real:
        frame: pd.DataFrame = pd.read_csv(real, compression="gzip", **kwargs)  # type: ignore[call-overload]
    return frame


def load_cdnow_transactions(sample: bool = True) -> pd.DataFrame:
    """Load the CDNOW transaction log.

    Parameters
    ----------
    sample : bool, default True
        The 2,357-customer sample (6,919 rows). ``False`` loads the master file of
        all 23,570 customers (69,659 rows).

    Returns
    -------
    DataFrame
        Columns ``customer_id`` (int), ``date`` (datetime64, day resolution),
        ``quantity`` (CDs bought) and ``amount`` (US dollars); the sample also has
        ``master_id``, the customer's id in the master file. Several rows may share a
        customer and day. Ready for
        :func:`~customer_value.data.summarize_transactions` with its defaults.

    Examples
    --------
    >>> tx = load_cdnow_transactions()
    >>> tx.shape, tx["customer_id"].nunique()
    ((6919, 5), 2357)
    >>> str(tx["date"].min().date()), str(tx["date"].max().date())
    ('1997-01-01', '1998-06-30')
    """
    if sample:
        frame = _read("cdnow_sample.csv.gz", dtype={"master_id": str})
    else:
        frame = _read("cdnow_master.csv.gz")
    frame["date"] = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
    return frame


def load_cdnow_summary() -> pd.DataFrame:
    """Load the published weekly summary of the CDNOW sample (Fader, Hardie & Lee 2005).

    The 39-week calibration period ends on 1997-09-30; times are in weeks.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (1..2357) with ``frequency`` (repeat purchases,
        x), ``recency`` (t_x, weeks), ``T`` (weeks) and ``monetary_value`` (mean spend
        of the repeat purchases, zbar, in dollars). ``attrs["time_unit"]`` is ``"W"``.

    Examples
    --------
    >>> summary = load_cdnow_summary()
    >>> summary.shape
    (2357, 4)
    >>> summary.loc[1].tolist()
    [2.0, 30.43, 38.86, 22.35]
    """
    raw = _read("cdnow_summary.csv.gz")
    frame = pd.DataFrame(
        {
            "frequency": raw["x"].astype(float).to_numpy(),
            "recency": raw["t_x"].astype(float).to_numpy(),
            "T": raw["T"].astype(float).to_numpy(),
            "monetary_value": raw["zbar"].astype(float).to_numpy(),
        },
        index=pd.Index(raw["ID"].to_numpy(), name="customer_id"),
    )
    frame.attrs["time_unit"] = "W"
    return frame


def load_donations() -> pd.DataFrame:
    """Load the donations data used for the BG/BB model (Fader, Hardie & Shang 2010).

    Returns
    -------
    DataFrame
        22 rows, one per (frequency, recency) pattern, with ``frequency`` (repeat
        donations in the 6 opportunities), ``recency`` (opportunity of the last
        donation, 0 when none), ``n_periods`` (6) and ``weights`` (number of donors
        with that pattern; 11,104 in all). ``attrs["time_unit"]`` is ``"Y"``.

    Examples
    --------
    >>> donations = load_donations()
    >>> len(donations), int(donations["weights"].sum())
    (22, 11104)
    """
    raw = _read("donations.csv.gz")
    frame = pd.DataFrame(
        {
            "frequency": raw["frequency"].astype("int64"),
            "recency": raw["recency"].astype("int64"),
            "n_periods": raw["periods"].astype("int64"),
            "weights": raw["weights"].astype("int64"),
        }
    )
    frame.attrs["time_unit"] = "Y"
    return frame
