"""Goldens for csi-stats' design-based estimates: domains, the finite population
correction and intervals for shares (crates/csi-stats/tests/design.rs).

What it checks
  * Domain means and standard errors (a segment group, the respondents who answered
    an item, both) under a single-stage design with replacement, no strata or
    clusters, as R survey's svymean(~y, subset(design, domain)) gives them:
        SE = sqrt(n/(n-1) * sum_{i in d} w_i^2 (y_i - ybar_d)^2) / sum_{i in d} w_i
    with n the FULL sample's size. The values are samplics' TaylorEstimator
    (param mean, domain=...). samplics forms the domain's scores over the whole
    sample with zeros outside the domain and multiplies by n/(n-1) with n the number
    of all observations (no psu given), i.e. the same convention as R survey; this
    is asserted here against the closed form above (numpy) and against an explicit
    statsmodels computation (WLS on domain indicators over the full sample, HC0
    covariance, times n/(n-1)).
  * The finite population correction: samplics' `fpc=` argument is a factor on the
    VARIANCE (not the population size): fpc = 1 - n/N gives SE * sqrt(1 - n/N), as
    R survey's svydesign(ids = ~1, fpc = ~N). Asserted against the closed form.
  * Shares: Wilson and Clopper-Pearson intervals from statsmodels'
    proportion_confint (method="wilson" / "beta"), including non-integer counts and
    bases; Korn-Graubard as R survey's svyciprop(method = "beta") computes it for a
    single-stage design: effective base n* = p(1 - p)/SE^2 with the domain (and fpc)
    SE from samplics, then Clopper-Pearson on (p n*, n*) from statsmodels; for a
    share of 0 or 1 (SE 0) Clopper-Pearson on Kish's effective n.
Every figure comes from these independent implementations, never from csi.

Inputs: tests/fixtures/stats/weighted.csv (x1, x2 with missing values, x3 0/1, w)
and tests/fixtures/stats/domains.csv, which this script writes deterministically:
200 respondents in groups a (40, of whom 39 in the top box), b (12, all in the top
box, none in the bottom box) and c (148, a few without a score). Values are read back
as text and parsed with Python's correctly rounded float(), as the Rust side does.

Regenerate (from the repository root; the outputs are committed, CI never runs Python):
    pip install -r tests/goldens/requirements.txt && python3 tests/goldens/make_design_goldens.py
"""
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint

warnings.simplefilter("ignore", FutureWarning)  # samplics announces its successor on import
from samplics.estimation import TaylorEstimator  # noqa: E402
from samplics.utils.types import PopParam  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures/stats"
LEVELS = [0.95, 0.90]


def close(a, b, tol=1e-12, atol=1e-15):
    return abs(a - b) <= tol * max(abs(a), abs(b)) + atol


def fmt(v):
    return "" if isinstance(v, float) and math.isnan(v) else repr(float(v)) if isinstance(v, float) else str(v)


def write_csv(df, path):
    with open(path, "w", newline="\n") as f:
        f.write(",".join(df.columns) + "\n")
        for row in df.itertuples(index=False):
            f.write(",".join(fmt(v) for v in row) + "\n")


def read(path):
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    return raw.apply(lambda c: c if c.name == "group" else c.map(lambda s: np.nan if s == "" else float(s)))


def write_domains_fixture():
    rng = np.random.default_rng(20260118)
    sizes = {"a": 40, "b": 12, "c": 148}
    group = np.repeat(list(sizes), list(sizes.values()))
    n = len(group)
    score = np.round(np.clip(rng.normal(72, 16, n), 0, 100), 4)
    score[np.flatnonzero(group == "c")[[5, 17, 60, 61, 99, 140]]] = np.nan
    top = (rng.uniform(size=n) < 0.45).astype(int)
    top[group == "a"] = 1
    top[np.flatnonzero(group == "a")[7]] = 0  # 39 of 40
    top[group == "b"] = 1
    low = (rng.uniform(size=n) < 0.12).astype(int)
    low[group == "b"] = 0
    low[np.flatnonzero(group == "a")[7]] = 1
    w = np.round(rng.uniform(0.3, 2.5, n), 4)
    df = pd.DataFrame({"group": group, "score": score, "top": top, "low": low, "w": w})
    write_csv(df, FIXTURES / "domains.csv")


def samplics_domain(y, w, in_domain, fpc=1.0):
    """samplics' domain mean and SE; y may be missing outside the domain (any value
    will do there; 1, so that samplics' coefficient of variation of the complement,
    which it always computes, does not divide by a zero mean)."""
    if (y[in_domain] == 0).all():
        # samplics divides by the mean (coefficient of variation): a share of 0 is
        # estimated as 1 minus the share of 1 - y, which has the same SE.
        mean, se = samplics_domain(1.0 - y, w, in_domain, fpc)
        return 1.0 - mean, se
    est = TaylorEstimator(PopParam.mean)
    est.estimate(np.where(np.isnan(y), 1.0, y), samp_weight=w, domain=in_domain.astype(int), fpc=fpc)
    key = [k for k in est.point_est if k == 1][0]
    return float(est.point_est[key]), float(est.stderror[key])


def r_survey_closed_form(y, w, in_domain, population):
    n = len(y)
    yd, wd = y[in_domain], w[in_domain]
    mean = float((wd * yd).sum() / wd.sum())
    se = math.sqrt(n / (n - 1) * float((wd**2 * (yd - mean) ** 2).sum())) / float(wd.sum())
    if population is not None:
        se *= math.sqrt(1 - n / population)
    return mean, se


def statsmodels_domain_se(y, w, in_domain):
    """WLS of y (0 outside the domain) on domain indicators over the full sample:
    the domain's coefficient is its mean; HC0 times n/(n-1) is R survey's variance."""
    n = len(y)
    cols = [in_domain.astype(float)] + ([(~in_domain).astype(float)] if (~in_domain).any() else [])
    fit = sm.WLS(np.where(in_domain, y, 0.0), np.column_stack(cols), weights=w).fit(cov_type="HC0")
    return float(fit.params[0]), float(fit.bse[0]) * math.sqrt(n / (n - 1))


def korn_graubard(p, se, kish, level):
    n_star = p * (1 - p) / se**2 if 0 < p < 1 else kish
    x_star = p * n_star if p < 1 else n_star
    lo, hi = proportion_confint(x_star, n_star, alpha=1 - level, method="beta")
    return n_star, [float(lo), float(hi)]


def domain_case(file, y_col, where=None, at_least=None, population=None, share=False):
    df = read(FIXTURES / file)
    n = len(df)
    y = df[y_col].to_numpy(dtype=float)
    w = df["w"].to_numpy(dtype=float)
    in_domain = ~np.isnan(y)
    if where is not None:
        in_domain &= (df[where[0]] == where[1]).to_numpy()
    if at_least is not None:
        y = np.where(np.isnan(y), np.nan, (y >= at_least).astype(float))
    fpc = 1.0 if population is None else 1 - n / population
    mean, se = samplics_domain(y, w, in_domain, fpc)
    cf_mean, cf_se = r_survey_closed_form(y, w, in_domain, population)
    sm_mean, sm_se = statsmodels_domain_se(y, w, in_domain)
    sm_se *= math.sqrt(fpc)
    assert close(mean, cf_mean) and close(mean, sm_mean), (file, y_col, where, mean, cf_mean, sm_mean)
    assert close(se, cf_se, 1e-10) and close(se, sm_se, 1e-10), (file, y_col, where, se, cf_se, sm_se)
    wd = w[in_domain]
    case = {"file": file, "y": y_col, "where": None if where is None else {"column": where[0], "equals": where[1]},
            "at_least": at_least, "population": population, "design_n": n, "n": int(in_domain.sum()),
            "sum_w": float(wd.sum()), "mean": mean, "se": se,
            "se_own_n": se / math.sqrt(n / (n - 1)) * math.sqrt(in_domain.sum() / (in_domain.sum() - 1))
            / math.sqrt(fpc)}
    if share:
        kish = float(wd.sum() ** 2 / (wd**2).sum())
        case["effective_n"] = kish
        case["intervals"] = []
        for level in LEVELS:
            n_star, kg = korn_graubard(mean, se, kish, level)
            lo, hi = proportion_confint(mean * kish, kish, alpha=1 - level, method="wilson")
            case["intervals"].append({"confidence": level, "n_star": n_star, "korn_graubard": kg,
                                      "wilson_kish": [float(lo), float(hi)]})
    return case


def main():
    write_domains_fixture()
    # The whole sample is the domain-equals-sample case: the plain HC1 SE.
    df = read(FIXTURES / "weighted.csv")
    x, w = df.x1.to_numpy(), df.w.to_numpy()
    whole = domain_case("weighted.csv", "x1")
    hc1 = sm.WLS(x, np.ones(len(x)), weights=w).fit(cov_type="HC1")
    assert close(whole["se"], float(hc1.bse[0]), 1e-10)

    means = [
        whole,
        domain_case("weighted.csv", "x1", where=("x3", 0.0)),
        domain_case("weighted.csv", "x1", where=("x3", 1.0)),
        domain_case("weighted.csv", "x2"),  # respondents who answered x2
        domain_case("weighted.csv", "x2", where=("x3", 1.0)),
        domain_case("weighted.csv", "x1", population=2000.0),
        domain_case("weighted.csv", "x1", where=("x3", 1.0), population=2000.0),
        domain_case("weighted.csv", "x2", where=("x3", 0.0), population=260.0),
        domain_case("weighted.csv", "x2", at_least=9.0, share=True),  # top-two box of x2
        domain_case("weighted.csv", "x2", where=("x3", 1.0), at_least=9.0, share=True),
        domain_case("weighted.csv", "x3", share=True),
        domain_case("domains.csv", "score", where=("group", "b")),  # 12 of 200
        domain_case("domains.csv", "score", where=("group", "c")),  # with missing scores
        domain_case("domains.csv", "score", where=("group", "b"), population=1000.0),
        domain_case("domains.csv", "top", where=("group", "a"), share=True),  # 39 of 40
        domain_case("domains.csv", "top", where=("group", "a"), population=1000.0, share=True),
        domain_case("domains.csv", "top", where=("group", "b"), share=True),  # 12 of 12
        domain_case("domains.csv", "low", where=("group", "b"), share=True),  # 0 of 12
        domain_case("domains.csv", "top", share=True),
    ]
    # The domain SE differs from the one with the domain's own n/(n-1).
    assert not close(means[11]["se"], means[11]["se_own_n"], 1e-3)

    wilson, clopper = [], []
    for level in LEVELS:
        for p, n in [(0.975, 40), (0.5, 10), (0.0, 25), (1.0, 25), (0.123, 311.7), (0.9, 7.5)]:
            lo, hi = proportion_confint(p * n, n, alpha=1 - level, method="wilson")
            wilson.append({"p": p, "n": n, "confidence": level, "low": float(lo), "high": float(hi)})
        for x_, n in [(39, 40), (0, 12), (12, 12), (5, 10), (1, 200), (37.25, 41.8), (0.4, 3.3), (8.2, 8.2)]:
            lo, hi = proportion_confint(x_, n, alpha=1 - level, method="beta")
            clopper.append({"x": x_, "n": n, "confidence": level, "low": float(lo), "high": float(hi)})

    out = {"comment": "see tests/goldens/make_design_goldens.py", "means": means,
           "wilson": wilson, "clopper_pearson": clopper}
    with open(ROOT / "tests/goldens/design.json", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
