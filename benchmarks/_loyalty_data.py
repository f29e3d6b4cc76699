"""The programme and purchases of the loyalty benchmarks (also run against older code)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_value.loyalty import Program

PROGRAM = Program.from_dict(
    {
        "name": "bench",
        "currency_decimals": 0,
        "base_rate": "1",
        "expiry": {"months": 12},
        "pending_days": 0,
        "earn_rules": [{"type": "first_purchase", "points": 50}],
    }
)


def purchases(n: int, members: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "member_id": rng.integers(0, members, n).astype(str),
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(np.sort(rng.integers(0, 365 * 86400, n)), unit="s"),
            "subtotal": rng.integers(1, 20_000, n),
        }
    )
