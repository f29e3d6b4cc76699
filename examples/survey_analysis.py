"""Survey analysis end to end: NPS tracking, a reliable satisfaction scale, Kano, key drivers.

The answers are simulated here (no survey data ship with the package), so the script runs
anywhere in a second or two:

1. NPS in two survey waves and whether the change is significant;
2. NPS per store with intervals (``nps_by``);
3. Cronbach's alpha and item analysis of a 5-item satisfaction scale (one reversed item);
4. a Kano table turned into basic / expected / surprise needs;
5. key drivers of overall satisfaction and the importance-performance quadrants.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from customer_value.survey import (
    compare_nps,
    cronbach_alpha,
    importance_performance,
    item_analysis,
    kano_summary,
    key_driver_analysis,
    net_promoter_score,
    nps_by,
    reverse_code,
    scale_scores,
)

rng = np.random.default_rng(2024)
pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 20)

# 1. NPS in two waves ------------------------------------------------------------------
answers = np.arange(11)
wave_1 = rng.choice(answers, size=800, p=np.r_[np.full(7, 0.04), 0.18, 0.20, 0.17, 0.17])
wave_2 = rng.choice(answers, size=900, p=np.r_[np.full(7, 0.03), 0.17, 0.19, 0.20, 0.23])
nps_1, nps_2 = net_promoter_score(wave_1), net_promoter_score(wave_2)
change = compare_nps(nps_1, nps_2)
print("1. NPS tracking")
print(f"   wave 1: NPS {nps_1.score:+.1f} (95% CI {nps_1.ci_low:+.1f} .. {nps_1.ci_high:+.1f})")
print(f"   wave 2: NPS {nps_2.score:+.1f} (95% CI {nps_2.ci_low:+.1f} .. {nps_2.ci_high:+.1f})")
verdict = "significant" if change.p_value < 0.05 else "not significant"
print(
    f"   change {change.difference:+.1f} points, SE {change.standard_error:.1f}, "
    f"z = {change.z:.2f}, p = {change.p_value:.3f} -> {verdict} at 5%"
)

# 2. NPS per store ----------------------------------------------------------------------
stores = pd.DataFrame(
    {"store": rng.choice(["Beijing", "Shanghai", "Shenzhen"], size=wave_2.size), "rating": wave_2}
)
print("\n2. NPS per store (wave 2)")
print(nps_by(stores, "rating", "store")[["score", "ci_low", "ci_high", "n"]].round(1))

# 3. Reliability of a 5-item satisfaction scale ---------------------------------------------
n = 400
trait = rng.normal(size=n)


def item(loading: float) -> np.ndarray:
    latent = loading * trait + rng.normal(scale=0.8, size=n)
    return np.clip(np.round(3 + latent), 1, 5)


scale = pd.DataFrame(
    {
        "staff_friendly": item(1.0),
        "easy_to_find": item(0.8),
        "fair_price": item(0.7),
        "would_return": item(1.1),
        "wait_too_long": 6 - item(0.9),  # negatively worded: reverse before scoring
    }
)
scale["wait_too_long_r"] = reverse_code(scale["wait_too_long"], scale=(1, 5))
items = ["staff_friendly", "easy_to_find", "fair_price", "would_return", "wait_too_long_r"]
alpha = cronbach_alpha(scale, items=items)
print("\n3. Satisfaction scale reliability")
print(
    f"   Cronbach's alpha {alpha.alpha:.3f} (Feldt 95% CI {alpha.ci_low:.3f} .. "
    f"{alpha.ci_high:.3f}), {alpha.n_respondents} respondents, {alpha.n_items} items"
)
print(item_analysis(scale, items=items).round(3))
scores = scale_scores(scale, [*items[:4], "wait_too_long"], reverse=["wait_too_long"])
print(f"   mean scale score {scores.mean():.2f} on 1-5")

# 4. Kano ---------------------------------------------------------------------------------
profiles = {  # probabilities of (functional, dysfunctional) answer pairs per feature
    "free_wifi": [
        ("neutral", "dislike", 0.6),
        ("like", "dislike", 0.3),
        ("neutral", "neutral", 0.1),
    ],
    "mobile_checkout": [
        ("like", "dislike", 0.6),
        ("like", "neutral", 0.2),
        ("must-be", "dislike", 0.2),
    ],
    "birthday_gift": [
        ("like", "neutral", 0.6),
        ("like", "live-with", 0.2),
        ("neutral", "neutral", 0.2),
    ],
    "background_music": [
        ("neutral", "neutral", 0.7),
        ("like", "neutral", 0.2),
        ("dislike", "like", 0.1),
    ],
}
rows = []
for feature, pairs in profiles.items():
    picks = rng.choice(len(pairs), size=150, p=[p for *_, p in pairs])
    rows += [(feature, pairs[i][0], pairs[i][1]) for i in picks]
kano = kano_summary(pd.DataFrame(rows, columns=["feature", "functional", "dysfunctional"]))
print("\n4. Kano table -> needs levels")
print(
    kano[["A", "O", "M", "I", "category", "better", "worse", "need_level", "need_level_zh"]].round(
        2
    )
)

# 5. Key drivers --------------------------------------------------------------------------
drivers = ["staff_friendly", "easy_to_find", "fair_price", "wait_too_long_r"]
scale["overall"] = (
    0.9 * scale["staff_friendly"] + 0.5 * scale["fair_price"] + rng.normal(scale=0.8, size=n)
)
kda = key_driver_analysis(scale, outcome="overall", drivers=drivers)
print(f"\n5. Key drivers of overall satisfaction (R^2 = {kda.attrs['r_squared']:.3f})")
print(kda.round(3))
print(importance_performance(scale, outcome="overall", drivers=drivers).round(3))
