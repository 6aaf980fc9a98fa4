"""Goldens for csi-stats' difference test and Johnson's relative weights.

Writes, deterministically:
  * tests/fixtures/stats/two_groups.csv  -- group (a/b), x, w
  * tests/fixtures/stats/drivers.csv     -- y, x1..x4 (correlated), w
  * tests/goldens/difference.json -- b - a: unweighted from scipy's Welch t test
    (ttest_ind equal_var=False); weighted from statsmodels WLS HC1 standard errors,
    Kish effective sizes in the Welch-Satterthwaite df, scipy's t distribution
  * tests/goldens/relweights.json -- Johnson's relative weights from the weighted
    correlation matrix (numpy eigh), checked to sum to statsmodels' WLS R^2;
    standardised and unstandardised coefficients from statsmodels WLS; LMG (Shapley) shares of R^2 from
    pingouin (unweighted) and from a brute-force enumeration of statsmodels WLS
    subset fits (weighted)
  * tests/goldens/multiple.json -- Bonferroni and Benjamini-Hochberg adjusted
    p-values from statsmodels' multipletests

Run from the repository root:
    pip install -r tests/goldens/requirements.txt && python3 tests/goldens/make_kernel_goldens.py
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import itertools
import math

import pingouin
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

ROOT = Path(__file__).resolve().parents[2]
CONF = 0.95


def fmt(v):
    return repr(float(v))


def write_csv(df, path):
    with open(path, "w", newline="\n") as f:
        f.write(",".join(df.columns) + "\n")
        for row in df.itertuples(index=False):
            f.write(",".join(v if isinstance(v, str) else fmt(v) for v in row) + "\n")


def read(path):
    return pd.read_csv(path, dtype=str).apply(lambda c: c if c.name == "group" else c.astype(float))


def wls_mean(x, w):
    fit = sm.WLS(x, np.ones(len(x)), weights=w).fit(cov_type="HC1")
    return float(fit.params[0]), float(fit.bse[0]), float(w.sum() ** 2 / (w**2).sum())


def difference(a, b, wa, wb):
    ma, sa, na = wls_mean(a, wa)
    mb, sb, nb = wls_mean(b, wb)
    var = sa**2 + sb**2
    df = var**2 / (sa**4 / (na - 1) + sb**4 / (nb - 1))
    diff, se = mb - ma, np.sqrt(var)
    t = diff / se
    q = stats.t.ppf(0.5 + CONF / 2, df)
    return {"diff": diff, "se": se, "df": df, "t": t, "p": float(2 * stats.t.sf(abs(t), df)),
            "ci_low": diff - q * se, "ci_high": diff + q * se}


def main():
    rng = np.random.default_rng(20261123)
    n_a, n_b = 180, 140
    groups = pd.DataFrame({
        "group": ["a"] * n_a + ["b"] * n_b,
        "x": np.round(np.r_[rng.normal(68, 12, n_a), rng.normal(64, 15, n_b)], 4),
        "w": np.round(rng.uniform(0.3, 2.5, n_a + n_b), 4),
    })
    write_csv(groups, ROOT / "tests/fixtures/stats/two_groups.csv")
    g = read(ROOT / "tests/fixtures/stats/two_groups.csv")
    a, b = g[g.group == "a"], g[g.group == "b"]
    unweighted = difference(a.x.values, b.x.values, np.ones(len(a)), np.ones(len(b)))
    ref = stats.ttest_ind(b.x.values, a.x.values, equal_var=False)
    assert abs(ref.statistic - unweighted["t"]) < 1e-10 * abs(ref.statistic)
    assert abs(ref.pvalue - unweighted["p"]) < 1e-10 * abs(ref.pvalue)
    unweighted["p"], unweighted["t"] = float(ref.pvalue), float(ref.statistic)
    weighted = difference(a.x.values, b.x.values, a.w.values, b.w.values)

    def against(x, w, value):
        m, se, n_eff = wls_mean(x, w)
        df = n_eff - 1
        t = (m - value) / se
        q = stats.t.ppf(0.5 + CONF / 2, df)
        return {"diff": m - value, "se": se, "df": df, "t": t, "p": float(2 * stats.t.sf(abs(t), df)),
                "ci_low": m - value - q * se, "ci_high": m - value + q * se}
    one_unweighted = against(a.x.values, np.ones(len(a)), 65.0)
    ref1 = stats.ttest_1samp(a.x.values, 65.0)
    assert abs(ref1.statistic - one_unweighted["t"]) < 1e-10 * abs(ref1.statistic)
    assert abs(ref1.pvalue - one_unweighted["p"]) < 1e-10 * abs(ref1.pvalue)
    one_unweighted["t"], one_unweighted["p"] = float(ref1.statistic), float(ref1.pvalue)
    one_weighted = against(a.x.values, a.w.values, 65.0)
    json.dump({"comment": "b - a for tests/fixtures/stats/two_groups.csv; see make_kernel_goldens.py",
               "confidence": CONF, "unweighted": unweighted, "weighted": weighted,
               "against_65_unweighted": one_unweighted, "against_65_weighted": one_weighted},
              open(ROOT / "tests/goldens/difference.json", "w"), indent=1, sort_keys=True)

    n = 400
    z = rng.normal(size=(n, 3))
    x1 = z[:, 0]
    x2 = 0.7 * z[:, 0] + 0.5 * z[:, 1]
    x3 = 0.4 * z[:, 1] + 0.8 * z[:, 2]
    x4 = rng.normal(size=n)
    y = 0.5 * x1 + 0.3 * x2 + 0.2 * x3 + 0.05 * x4 + rng.normal(scale=0.8, size=n)
    drivers = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "x3": x3, "x4": x4,
                            "w": rng.uniform(0.3, 2.5, n)}).round(4)
    write_csv(drivers, ROOT / "tests/fixtures/stats/drivers.csv")
    d = read(ROOT / "tests/fixtures/stats/drivers.csv")
    cols = ["x1", "x2", "x3", "x4"]
    out = {}
    for name, w in [("unweighted", np.ones(len(d))), ("weighted", d.w.values)]:
        c = np.cov(d[["y"] + cols].values.T, aweights=w, bias=True)
        s = np.sqrt(np.diag(c))
        r = c / np.outer(s, s)
        rxx, rxy = r[1:, 1:], r[1:, 0]
        lam, vec = np.linalg.eigh(rxx)
        half = vec @ np.diag(np.sqrt(lam)) @ vec.T
        beta = np.linalg.solve(half, rxy)
        weights = (half**2) @ (beta**2)
        r2 = sm.WLS(d.y.values, sm.add_constant(d[cols].values), weights=w).fit().rsquared
        assert abs(weights.sum() - r2) < 1e-10, (weights.sum(), r2)
        fit = sm.WLS(d.y.values, sm.add_constant(d[cols].values), weights=w).fit()
        sd = lambda v: math.sqrt(np.cov(v, aweights=w, bias=True))
        betas = [float(fit.params[k + 1] * sd(d[c].values) / sd(d.y.values)) for k, c in enumerate(cols)]
        subset_r2 = {(): 0.0}
        for k in range(1, len(cols) + 1):
            for sub in itertools.combinations(range(len(cols)), k):
                xs = sm.add_constant(d[[cols[i] for i in sub]].values)
                subset_r2[sub] = sm.WLS(d.y.values, xs, weights=w).fit().rsquared
        p = len(cols)
        lmg = []
        for j in range(p):
            total = 0.0
            others = [i for i in range(p) if i != j]
            for k in range(p):
                for sub in itertools.combinations(others, k):
                    with_j = tuple(sorted(sub + (j,)))
                    total += math.factorial(k) * math.factorial(p - k - 1) / math.factorial(p) * (
                        subset_r2[with_j] - subset_r2[sub])
            lmg.append(total)
        if name == "unweighted":
            ref = pingouin.linear_regression(d[cols], d.y, relimp=True)
            pg = ref.set_index("names").loc[cols, "relimp"].values
            assert np.allclose(pg, lmg, rtol=1e-10, atol=0), (pg, lmg)
            lmg = [float(v) for v in pg]
        # Unstandardised coefficients: statsmodels WLS's own slopes.
        coefficients = [float(fit.params[k + 1]) for k in range(len(cols))]
        out[name] = {"weights": [float(v) for v in weights], "r_squared": float(r2),
                     "betas": betas, "lmg": [float(v) for v in lmg], "coefficients": coefficients}
    json.dump({"comment": "Johnson's relative weights of x1..x4 for y in tests/fixtures/stats/drivers.csv "
               "(weighted correlations, numpy eigh); they sum to statsmodels' WLS R^2.", **out},
              open(ROOT / "tests/goldens/relweights.json", "w"), indent=1, sort_keys=True)
    pvals = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216, 0.5, 0.9]
    json.dump({"comment": "statsmodels multipletests on the listed p-values",
               "p": pvals,
               "bonferroni": [float(v) for v in multipletests(pvals, method="bonferroni")[1]],
               "benjamini_hochberg": [float(v) for v in multipletests(pvals, method="fdr_bh")[1]]},
              open(ROOT / "tests/goldens/multiple.json", "w"), indent=1, sort_keys=True)
    print("wrote two_groups.csv, drivers.csv, difference.json, relweights.json, multiple.json")


if __name__ == "__main__":
    main()
