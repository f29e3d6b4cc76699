"""pymc-marketing anchor of bench_covariates.py; runs in pymc-marketing's own environment.

Usage: ``python _pymc_anchor.py data.csv``; prints one JSON line with the MAP fit time
and estimates of a Pareto/NBD with every ``x*`` column as a covariate of both processes.
"""

import json
import sys
import time
import warnings

import pandas as pd
from pymc_marketing.clv import ParetoNBDModel  # type: ignore[import-not-found]


def main() -> None:
    warnings.simplefilter("ignore")
    data = pd.read_csv(sys.argv[1])
    cols = [c for c in data.columns if c.startswith("x")]
    model = ParetoNBDModel(
        data=data,
        model_config={"purchase_covariate_cols": cols, "dropout_covariate_cols": cols},
    )
    start = time.perf_counter()
    model.fit(method="map", progressbar=False)
    seconds = time.perf_counter() - start
    post = model.fit_result
    post = getattr(post, "posterior", post)
    out = {"seconds": seconds}
    for name in ("r", "alpha_scale", "s", "beta_scale"):
        out[name] = float(post[name].values.ravel()[0])
    out["purchase"] = post["purchase_coefficient"].values.ravel().tolist()
    out["dropout"] = post["dropout_coefficient"].values.ravel().tolist()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
