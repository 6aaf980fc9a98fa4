#!/usr/bin/env python3
"""Goldens for the second statistical reading (issue 18): tests/goldens/second_reading.json
for the two-wave study tests/fixtures/second_reading, which this script also writes.

What it checks (each number is recomputed here from the CSV files as written, never
taken from csi)
  1. A lower-is-better measure in its own unit: `wait`, minutes on 0-60, actual about
     15 min against an expected 10. Golden: the paired mean raw difference
     actual - expected in minutes over the respondents who answered both (computed
     from the raw minutes, not from the 0-100 points), and the words the gap plugin
     must print for it ("x.xx min more than expected (worse)").
  2. One base per row: respondents skip the expectation (of the service items more
     often when they rate them low, of quality when they rate it high) or the
     performance (and keep the expectation), at different rates per item. For every node with an expectation beneath it, in
     every cell: expectation, paired performance and gap over ONE base (a leaf: the
     respondents who answered both; a category: per respondent the weighted mean,
     tree weights renormalised, over the children answered both ways), beside the
     performance score over all who answered it, which differs clearly. Asserted:
     paired performance - expectation = gap. The gap plugin's test of each gap
     against 0: t = gap / SE, df = Kish effective n - 1 (scipy.stats.t), Bonferroni
     over the table's family (the indicator rows; the index and category rows) and
     the simultaneous interval gap +- t_{1-alpha/(2m), df} SE.
  3. A question dropped between waves: `legacy` (weak) is asked in w1 only; every
     other answer is drawn from the same distributions in both waves. Goldens: the
     published index and `product` of both waves and their naive change (large,
     "significant"), and the like-for-like scores (w1 on the questions w2 also asked:
     the engine's score_common_next; w2: score_common_previous), their change and its
     Welch-Satterthwaite t test with Kish effective sizes,
     df = (v1 + v2)^2 / (v1^2/(n1 - 1) + v2^2/(n2 - 1)), p from scipy; the trend
     table's Bonferroni over the first-level categories (the index, the primary
     figure, is tested on its own, as in the headline). (The seed
     is one whose like-for-like change is ordinary sampling noise, as asserted below;
     with some seeds chance alone makes it reach p < 0.05.)
  4. Segments: `plan` (A, B) classifies every respondent, so "A vs rest" and
     "B vs rest" are one comparison, counted once in the Bonferroni family;
     `region` (three groups) is not de-duplicated. Per group x (index, first-level
     categories): the group and the rest of the sample (both domain estimates), the
     Welch-type test of group - rest and the Bonferroni-adjusted p.
  5. The bootstrap of derived importance in the trend plugin, with the documented
     seeds reimplemented here in 64-bit integer arithmetic: respondent i (0-based row)
     is in random group splitmix64(i) mod 100; the draws of wave `id` are successive
     SplitMix64 outputs (state += 0x9E3779B97F4A7C15, then the mix) seeded with
     FNV-1a-64 of the id, each mod 100; 100 draws per replicate, 1000 replicates. A
     replicate weights each respondent by w times the number of times its group was
     drawn; weighted pairwise-complete Pearson correlations of the first-level
     category scores and the overall item; Johnson's relative weights from their
     definition (numpy eigh: R = V L V', L^1/2 = V L^{1/2} V', beta = L^{-1/2} r_xy,
     weight_j = sum_k (L^1/2)_jk^2 beta_k^2, shares = weights / R^2); numpy percentile
     (linear) 2.5 % / 97.5 % per category per wave, and of the shift last - first
     (replicate b minus replicate b, in points x 100) at the Bonferroni level
     1 - 0.05/k over the k categories.

Independent implementations used
  * Domain means and standard errors: samplics' TaylorEstimator (PopParam.mean,
    domain=...), which, like R survey's svymean on subset(design, domain), forms the
    domain's scores over the whole wave (zeros outside) and uses the WAVE's n in
    n/(n-1): SE = sqrt(n/(n-1) * sum_d w^2 (x - xbar)^2) / sum_d w. Each is asserted
    against that closed form (numpy), and the version with the domain's own n is
    asserted to differ. (samplics needs a value outside the domain: 1 is given there.)
  * Tests: scipy.stats.t (sf, ppf). Correlations, eigen-decompositions: numpy.
  * Tree scoring, pairing and the like-for-like restriction: pandas, from the
    study's definition as written below (not from csi's parser).

Regenerate (from the repository root; the outputs are committed, CI never runs Python):
    pip install -r tests/goldens/requirements.txt && python3 tests/goldens/make_second_reading_goldens.py
"""
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

warnings.simplefilter("ignore", FutureWarning)  # samplics announces its successor on import
from samplics.estimation import TaylorEstimator  # noqa: E402
from samplics.utils.types import PopParam  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/second_reading"
GOLDEN = ROOT / "tests/goldens/second_reading.json"
SEED = 20260223
N = {"w1": 600, "w2": 640}
WAVES = ["w1", "w2"]
CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))
REPLICATES = 1000
GROUPS = 100
MASK = (1 << 64) - 1

STUDY_YAML = """\
# Written by tests/goldens/make_second_reading_goldens.py (with its wave files): a
# two-wave study that reproduces the findings of the second statistical reading —
# a lower-is-better measure in minutes with an expectation, expectations and
# performances skipped at different rates (one base per row), a question dropped
# after the first wave (like-for-like change), a two-group segment that classifies
# everyone, and the bootstrap of driver importance. Goldens: tests/goldens/second_reading.json.
id: second_reading
title: Second reading
language: en
respondent_id: rid
scale:
  min: 1
  max: 10
  missing: [99]
index:
  label: Satisfaction index
waves:
  - id: w1
    label: Wave 1
    data: w1.csv
    weight: w
  - id: w2
    label: Wave 2
    data: w2.csv
    weight: w
tree:
  - id: service
    label: Service
    weight: 2
    children:
      - id: wait
        label: Waiting time
        column: t_wait
        expectation: e_wait
        unit: min
        direction: lower_is_better
        scale: {min: 0, max: 60, missing: [-1]}
      - id: staff
        label: Staff
        column: q_staff
        expectation: e_staff
      - id: clarity
        label: Clarity
        column: q_clarity
        expectation: e_clarity
  - id: product
    label: Product
    weight: 1
    children:
      - id: quality
        label: Quality
        column: q_quality
        expectation: e_quality
        weight: 2
      - id: range
        label: Range
        column: q_range
      - id: legacy
        label: Legacy line
        column: q_legacy
        waves: [w1]
  - id: price
    label: Price
    weight: 1
    children:
      - id: fairness
        label: Fairness
        column: q_fair
      - id: value
        label: Value for money
        column: q_value
overall:
  - id: overall
    label: Overall satisfaction
    column: q_overall
segments:
  - id: plan
    label: Plan
    column: plan
    values: {1: A, 2: B}
  - id: region
    label: Region
    column: region
    values: {1: North, 2: South, 3: West}
analyses:
  - plugin: gap
  - plugin: segment
  - plugin: trend
"""

# The same definition, as this script reads it (kept independent of csi's parser).
DEFAULT = {"min": 1.0, "max": 10.0, "missing": [99.0], "lower": False}
WAIT = {"min": 0.0, "max": 60.0, "missing": [-1.0], "lower": True}
LEAVES = {  # id: (column, expectation column, scale, waves asked)
    "wait": ("t_wait", "e_wait", WAIT, None),
    "staff": ("q_staff", "e_staff", DEFAULT, None),
    "clarity": ("q_clarity", "e_clarity", DEFAULT, None),
    "quality": ("q_quality", "e_quality", DEFAULT, None),
    "range": ("q_range", None, DEFAULT, None),
    "legacy": ("q_legacy", None, DEFAULT, ["w1"]),
    "fairness": ("q_fair", None, DEFAULT, None),
    "value": ("q_value", None, DEFAULT, None),
    "overall": ("q_overall", None, DEFAULT, None),
}
TREE = {  # parent: [(child, weight)], the index first
    "index": [("service", 2.0), ("product", 1.0), ("price", 1.0)],
    "service": [("wait", 1.0), ("staff", 1.0), ("clarity", 1.0)],
    "product": [("quality", 2.0), ("range", 1.0), ("legacy", 1.0)],
    "price": [("fairness", 1.0), ("value", 1.0)],
}
FIRST_LEVEL = ["service", "product", "price"]
SERIES = ["index", "service", "wait", "staff", "clarity", "product", "quality", "range", "legacy",
          "price", "fairness", "value", "overall"]
LABELS = {"index": "Satisfaction index", "service": "Service", "product": "Product", "price": "Price",
          "wait": "Waiting time", "staff": "Staff", "clarity": "Clarity", "quality": "Quality"}
SEGMENTS = {"plan": ["1", "2"], "region": ["1", "2", "3"]}


# ----------------------------------------------------------------------------- data
def write_wave(wave, rng):
    n = N[wave]
    plan = rng.choice([1, 2], size=n, p=[0.55, 0.45])
    region = rng.choice([1, 2, 3], size=n, p=[0.3, 0.4, 0.3])
    w = np.round(rng.uniform(0.4, 2.5, n), 3)
    cov = np.array([[1.0, 0.35, 0.25], [0.35, 1.0, 0.3], [0.25, 0.3, 1.0]])
    z = rng.multivariate_normal(np.zeros(3), cov, size=n)
    z[:, 0] -= 0.45 * (plan == 2)  # plan B is less happy with service
    zs, zp, zc = z[:, 0], z[:, 1], z[:, 2]

    def item(mean, latent, load=1.4, noise=1.1):
        return np.clip(np.round(mean + load * latent + rng.normal(0, noise, n)), 1, 10)

    wait = np.clip(np.round(15.0 - 4.0 * zs + rng.normal(0, 3.5, n), 1), 0, 60)
    e_wait = np.clip(np.round(10.0 + rng.normal(0, 2.5, n)), 0, 60)
    staff, e_staff = item(7.2, zs), item(8.1, 0.3 * zs, load=1.0, noise=1.0)
    clarity, e_clarity = item(6.6, zs), item(7.6, 0.3 * zs, load=1.0, noise=1.0)
    quality, e_quality = item(7.0, zp), item(8.0, 0.3 * zp, load=1.0, noise=1.0)
    rng_range = item(6.8, zp)
    legacy = item(3.0, zp, load=1.0, noise=1.0)  # weak; drawn in both waves, asked in w1 only
    fair, value = item(6.0, zc), item(6.3, zc)
    overall = item(6.4, 0.55 * zs + 0.35 * zp + 0.25 * zc, load=1.6, noise=1.0)

    def text(v, decimals=0):
        return [f"{x:.{decimals}f}" for x in v]

    cols = {"t_wait": text(wait, 1), "e_wait": text(e_wait), "q_staff": text(staff), "e_staff": text(e_staff),
            "q_clarity": text(clarity), "e_clarity": text(e_clarity), "q_quality": text(quality),
            "e_quality": text(e_quality), "q_range": text(rng_range), "q_legacy": text(legacy),
            "q_fair": text(fair), "q_value": text(value), "q_overall": text(overall)}

    def skip(col, p, code):
        for i in np.flatnonzero(rng.random(n) < p):
            cols[col][i] = code if rng.random() < 0.5 else ""

    # Expectations skipped at different rates per item, more often by those who rate
    # the service low (so its paired performance is higher than everyone's) and by
    # those who rate the quality high (so the product's is lower).
    skip("e_wait", np.where(wait > 18, 0.35, 0.06), "-1")
    skip("e_staff", np.where(staff <= 6, 0.45, 0.05), "99")
    skip("e_clarity", np.full(n, 0.35), "99")
    skip("e_quality", np.where(quality >= 8, 0.30, 0.04), "99")
    # Performances skipped with the expectation kept (the other way round).
    skip("t_wait", np.full(n, 0.06), "-1")
    for col, p in [("q_staff", 0.04), ("q_clarity", 0.10), ("q_quality", 0.07), ("q_range", 0.05),
                   ("q_legacy", 0.08), ("q_fair", 0.05), ("q_value", 0.06), ("q_overall", 0.04)]:
        skip(col, np.full(n, p), "99")
    df = pd.DataFrame({"rid": [str(i + 1) for i in range(n)], "w": [f"{x:.3f}" for x in w],
                       "plan": [str(p) for p in plan], "region": [str(r) for r in region], **cols})
    if wave != "w1":
        df = df.drop(columns=["q_legacy"])  # not asked: the column is not in the file
    with open(FIXTURE / f"{wave}.csv", "w", newline="\n", encoding="utf-8") as f:
        f.write(",".join(df.columns) + "\n")
        for row in df.itertuples(index=False):
            f.write(",".join(row) + "\n")


def read_wave(wave):
    raw = pd.read_csv(FIXTURE / f"{wave}.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    return raw.apply(lambda c: c.map(lambda s: np.nan if s == "" else float(s)))


# ----------------------------------------------------------------------------- scoring
def asked(leaf, wave):
    waves = LEAVES[leaf][3]
    return waves is None or wave in waves


def answers(d, column, scale):
    x = d[column].to_numpy(dtype=float)
    x = np.where(np.isin(x, scale["missing"]), np.nan, x)
    return x


def to_points(x, scale):
    lo, hi = scale["min"], scale["max"]
    return (hi - x) / (hi - lo) * 100 if scale["lower"] else (x - lo) / (hi - lo) * 100


def leaf_scores(d, wave):
    perf, expect = {}, {}
    n = len(d)
    for leaf, (col, ecol, scale, _) in LEAVES.items():
        if not asked(leaf, wave):
            perf[leaf] = expect[leaf] = np.full(n, np.nan)
            continue
        perf[leaf] = to_points(answers(d, col, scale), scale)
        expect[leaf] = to_points(answers(d, ecol, scale), scale) if ecol else np.full(n, np.nan)
    return perf, expect


def score_tree(perf, include=None):
    """Per respondent: leaves as given (NaN where missing or outside `include`), each
    parent the weighted mean of the children present, weights renormalised."""
    out = {}

    def node(i):
        if i in LEAVES:
            v = perf[i]
            return v if include is None or i in include else np.full_like(v, np.nan)
        num = den = 0.0
        for c, wc in TREE[i]:
            s = node(c)
            num = num + np.where(np.isnan(s), 0.0, s) * wc
            den = den + np.where(np.isnan(s), 0.0, wc)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[i] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        return out[i]

    node("index")
    for leaf in LEAVES:
        out[leaf] = node(leaf)
    return out


def score_paired(perf, expect):
    """Per respondent and node: (performance, expectation) on one base; a leaf when
    both were answered; a parent the weighted means over the children that have a
    pair, weights renormalised over those."""
    out = {}

    def node(i):
        if i in LEAVES:
            both = ~np.isnan(perf[i]) & ~np.isnan(expect[i])
            out[i] = (np.where(both, perf[i], np.nan), np.where(both, expect[i], np.nan))
            return out[i]
        sp = se = den = 0.0
        for c, wc in TREE[i]:
            p, e = node(c)
            ok = ~np.isnan(p)
            sp = sp + np.where(ok, p, 0.0) * wc
            se = se + np.where(ok, e, 0.0) * wc
            den = den + np.where(ok, wc, 0.0)
        safe = np.where(den > 0, den, 1.0)
        out[i] = (np.where(den > 0, sp / safe, np.nan), np.where(den > 0, se / safe, np.nan))
        return out[i]

    node("index")
    return out


def has_expectation(i):
    if i in LEAVES:
        return LEAVES[i][1] is not None
    return any(has_expectation(c) for c, _ in TREE.get(i, []))


# ----------------------------------------------------------------------------- estimates
def close(a, b, tol=1e-11, atol=1e-13):
    return abs(a - b) <= tol * max(abs(a), abs(b)) + atol


def samplics_domain(y, w, in_domain):
    est = TaylorEstimator(PopParam.mean)
    est.estimate(np.where(in_domain, y, 1.0), samp_weight=w, domain=in_domain.astype(int))
    return float(est.point_est[1]), float(est.stderror[1])


def estimate(y, w, in_domain=None):
    """A domain of the wave's sample: the respondents with a value (and in the cell)."""
    n = len(y)
    d = ~np.isnan(y) if in_domain is None else (~np.isnan(y) & in_domain)
    nd = int(d.sum())
    yd, wd = y[d], w[d]
    sum_w = float(wd.sum())
    out = {"n": nd, "sum_w": sum_w, "effective_n": sum_w**2 / float((wd**2).sum())}
    mean, se = samplics_domain(y, w, d)
    cf_mean = float((wd * yd).sum() / sum_w)
    cf_se = math.sqrt(n / (n - 1) * float((wd**2 * (yd - cf_mean) ** 2).sum())) / sum_w
    assert close(mean, cf_mean) and close(se, cf_se, 1e-9), (mean, cf_mean, se, cf_se)
    own = cf_se / math.sqrt(n / (n - 1)) * math.sqrt(nd / (nd - 1))
    assert nd == n or not close(se, own, 1e-6), "the domain SE must differ from the own-n one"
    out.update(mean=mean, se=se, ci_low=mean - Z * se, ci_high=mean + Z * se)
    return out


def welch(a, b):
    """b - a for independent means, Welch-Satterthwaite df on Kish effective sizes."""
    va, vb = a["se"] ** 2, b["se"] ** 2
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a["effective_n"] - 1) + vb**2 / (b["effective_n"] - 1))
    diff = b["mean"] - a["mean"]
    t = diff / se
    return {"diff": diff, "se": se, "df": df, "t": t, "p": float(min(1.0, 2 * stats.t.sf(abs(t), df)))}


def cells_of(d):
    cells = {"all": np.ones(len(d), dtype=bool)}
    for seg, codes in SEGMENTS.items():
        for c in codes:
            cells[f"{seg}={c}"] = (d[seg] == float(c)).to_numpy()
    return cells


# ----------------------------------------------------------------------------- bootstrap
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def mix64(z):
    """The SplitMix64 output function."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def splitmix64(x):
    """One SplitMix64 step from state x: advance by the golden gamma, then mix."""
    return mix64((x + GOLDEN_GAMMA) & MASK)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def draws(wave):
    state = fnv1a64(wave.encode())
    for _ in range(REPLICATES):
        picks = []
        for _ in range(GROUPS):
            state = (state + GOLDEN_GAMMA) & MASK
            picks.append(mix64(state) % GROUPS)
        yield np.bincount(np.array(picks), minlength=GROUPS)


def wcorr(x, y, w):
    ok = ~np.isnan(x) & ~np.isnan(y) & (w > 0)
    x, y, w = x[ok], y[ok], w[ok]
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    return float((w * (x - mx) * (y - my)).sum() / math.sqrt((w * (x - mx) ** 2).sum() * (w * (y - my) ** 2).sum()))


def correlations(vars_, w):
    p = len(vars_) - 1
    r = np.eye(p + 1)
    for a in range(p + 1):
        for b in range(a + 1, p + 1):
            r[a, b] = r[b, a] = wcorr(vars_[a], vars_[b], w)
    assert np.linalg.eigvalsh(r).min() > 1e-6, "a valid correlation matrix"
    return r[:p, :p], r[:p, p]


def johnson(r_xx, r_xy):
    lam, v = np.linalg.eigh(r_xx)
    half = v @ np.diag(np.sqrt(lam)) @ v.T
    beta = np.linalg.solve(half, r_xy)
    weights = (half**2) @ (beta**2)
    r2 = float(weights.sum())
    assert close(r2, float(r_xy @ np.linalg.solve(r_xx, r_xy)), 1e-10)
    return weights / r2, r2


def importance(wave, scores, w):
    vars_ = [scores[c] for c in FIRST_LEVEL] + [scores["overall"]]
    shares, r2 = johnson(*correlations(vars_, w))
    n = len(w)
    group = np.array([splitmix64(i) % GROUPS for i in range(n)])
    for a in range(len(vars_)):
        for b in range(a + 1, len(vars_)):
            both = ~np.isnan(vars_[a]) & ~np.isnan(vars_[b])
            assert len(set(group[both])) == GROUPS, "every group has respondents with both"
    reps = []
    for counts in draws(wave):
        reps.append(johnson(*correlations(vars_, w * counts[group]))[0])
    return shares, r2, np.array(reps)


def interval(values, alpha=ALPHA):
    lo, hi = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return [float(lo), float(hi)]


# ----------------------------------------------------------------------------- goldens
def in_unit_words(raw):
    size = abs(raw)
    if size < 0.005:
        return "as expected"
    return f"{size:.2f} min {'more' if raw > 0 else 'less'} than expected ({'worse' if raw > 0 else 'better'})"


def gap_family(rows):
    """Bonferroni over the rows of one table; the simultaneous interval."""
    m = len(rows)
    for r in rows:
        g = r["gap"]
        df = g["effective_n"] - 1
        t = g["mean"] / g["se"]
        p = float(min(1.0, 2 * stats.t.sf(abs(t), df)))
        q = float(stats.t.ppf(1 - ALPHA / (2 * m), df))
        r["test"] = {"t": t, "df": df, "p": p, "p_adjusted": min(1.0, p * m),
                     "interval": [g["mean"] - q * g["se"], g["mean"] + q * g["se"]]}
    return {"family": m, "rows": rows}


def wave_goldens(wave):
    d = read_wave(wave)
    n = len(d)
    w = d["w"].to_numpy(dtype=float)
    perf, expect = leaf_scores(d, wave)
    scores = score_tree(perf)
    paired = score_paired(perf, expect)
    cells = cells_of(d)
    for seg, codes in SEGMENTS.items():
        assert sum(cells[f"{seg}={c}"] for c in codes).min() == 1, "every respondent in one group"
    assert (~np.isnan(scores["index"])).all(), "everyone has an index score"

    series = []
    for cell, in_cell in cells.items():
        for s in SERIES:
            row = {"cell": cell, "node": s, "score": None}
            if (~np.isnan(scores[s]) & in_cell).sum() > 0:
                row["score"] = estimate(scores[s], w, in_cell)
            if has_expectation(s):
                p, e = paired[s]
                row["expectation"] = estimate(e, w, in_cell)
                row["paired_score"] = estimate(p, w, in_cell)
                row["gap"] = estimate(p - e, w, in_cell)
                diff = row["paired_score"]["mean"] - row["expectation"]["mean"]
                assert close(diff, row["gap"]["mean"], 1e-10, 1e-10), (s, cell)
            if s == "wait":
                row["raw"] = estimate(answers(d, "t_wait", WAIT), w, in_cell)
            series.append(row)

    # Like for like against the other wave: the questions both waves asked.
    other = "w2" if wave == "w1" else "w1"
    common = {leaf for leaf in LEAVES if asked(leaf, wave) and asked(leaf, other)}
    like = score_tree(perf, include=common)
    comparable = []
    for cell, in_cell in cells.items():
        for s in ["index", "product"]:
            comparable.append({"cell": cell, "node": s, "against": "next" if wave == "w1" else "previous",
                               "estimate": estimate(like[s], w, in_cell)})

    # 1 and 2: the gap plugin's tables for all respondents.
    def gap_row(s):
        return {"node": s, "label": LABELS[s], **{k: next(r[k] for r in series if r["cell"] == "all"
                                                      and r["node"] == s) for k in
                                                 ["expectation", "paired_score", "gap", "score"]}}

    gap = {"indicators": gap_family([gap_row(s) for s in ["wait", "staff", "clarity", "quality"]]),
           "categories": gap_family([gap_row(s) for s in ["index", "service", "product"]])}
    a, e = answers(d, "t_wait", WAIT), answers(d, "e_wait", WAIT)
    both = ~np.isnan(a) & ~np.isnan(e)
    raw_gap = float((w[both] * (a[both] - e[both])).sum() / w[both].sum())
    points = next(r for r in gap["indicators"]["rows"] if r["node"] == "wait")["gap"]["mean"]
    assert close(raw_gap, -points * 60 / 100, 1e-10), (raw_gap, points)
    assert raw_gap > 3.0, "the wait is clearly longer than expected"
    gap["wait_minutes"] = {"actual_minus_expected": raw_gap, "n": int(both.sum()), "words": in_unit_words(raw_gap)}
    service = next(r for r in gap["categories"]["rows"] if r["node"] == "service")
    for r in gap["categories"]["rows"] + gap["indicators"]["rows"][:2]:  # clarity's skips are at random
        assert abs(r["paired_score"]["mean"] - r["score"]["mean"]) > 0.5, ("the bases differ clearly", r["node"])

    # 4: each group against the rest of the sample.
    segments = {}
    for seg, codes in SEGMENTS.items():
        rows = []
        for c in codes:
            g = cells[f"{seg}={c}"]
            for s in ["index"] + FIRST_LEVEL:
                grp, rest = estimate(scores[s], w, g), estimate(scores[s], w, ~g)
                rows.append({"cell": f"{seg}={c}", "node": s, "group": grp, "rest": rest, "test": welch(rest, grp)})
        if len(codes) == 2:  # classifies everyone: B vs rest is A vs rest, mirrored
            per = len(rows) // 2
            for k in range(per):
                assert close(rows[k]["test"]["p"], rows[per + k]["test"]["p"], 1e-9)
            family = per
        else:
            family = len(rows)
        for r in rows:
            r["test"]["p_adjusted"] = min(1.0, r["test"]["p"] * family)
        segments[seg] = {"family": family, "rows": rows}

    return d, w, scores, {"n": n, "series": series, "comparable": comparable, "gap": gap, "segments": segments}


def main():
    # The generator and hash as published (Steele, Lea & Flood 2014; FNV test vectors).
    assert splitmix64(0) == 0xE220A8397B1DCDAF and splitmix64(GOLDEN_GAMMA) == 0x6E789E6AA1B965F4
    assert fnv1a64(b"") == 0xCBF29CE484222325 and fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    FIXTURE.mkdir(parents=True, exist_ok=True)
    (FIXTURE / "study.yaml").write_text(STUDY_YAML, encoding="utf-8")
    rng = np.random.default_rng(SEED)
    for wave in WAVES:
        write_wave(wave, rng)

    out = {"comment": "see tests/goldens/make_second_reading_goldens.py", "confidence": CONFIDENCE,
           "waves": {}}
    kept = {}
    for wave in WAVES:
        d, w, scores, g = wave_goldens(wave)
        out["waves"][wave] = g
        kept[wave] = (w, scores)

    # 3: the change w1 -> w2, naive and like for like.
    def find(wave, node, key="score"):
        return next(r[key] for r in out["waves"][wave]["series"] if r["cell"] == "all" and r["node"] == node)

    def common(wave, node):
        return next(r["estimate"] for r in out["waves"][wave]["comparable"] if r["cell"] == "all"
                    and r["node"] == node)

    rows = []
    for s in ["index"] + FIRST_LEVEL:
        naive = welch(find("w1", s), find("w2", s))
        row = {"node": s, "naive": naive}
        if s in ("index", "product"):
            row["like_for_like"] = {"w1": common("w1", s), "w2": common("w2", s),
                                    "test": welch(common("w1", s), common("w2", s))}
            row["change"] = dict(row["like_for_like"]["test"])
        else:
            row["change"] = dict(naive)
        rows.append(row)
    # The index is the primary figure, tested on its own (as in the headline);
    # the categories' changes are the table's Bonferroni family.
    family = len(rows) - 1
    rows[0]["change"]["p_adjusted"] = rows[0]["change"]["p"]
    for r in rows[1:]:
        r["change"]["p_adjusted"] = min(1.0, r["change"]["p"] * family)
    index = rows[0]
    assert index["naive"]["p"] < 0.001 and abs(index["naive"]["diff"]) > 2.0, index["naive"]
    assert abs(index["like_for_like"]["test"]["diff"]) < 1.0, index["like_for_like"]["test"]
    out["change"] = {"family": family, "rows": rows}

    # 5: the bootstrap of derived importance.
    imp = {}
    for wave in WAVES:
        w, scores = kept[wave]
        shares, r2, reps = importance(wave, scores, w)
        imp[wave] = (shares, r2, reps)
    first, last = imp["w1"], imp["w2"]
    out["importance"] = {
        "predictors": FIRST_LEVEL, "outcome": "overall", "replicates": REPLICATES,
        "waves": {wave: {"shares": [float(x) for x in s], "r_squared": r2,
                         "intervals": [interval(reps[:, c]) for c in range(len(FIRST_LEVEL))]}
                  for wave, (s, r2, reps) in imp.items()},
        "shift": {"points": [float(x) for x in (last[0] - first[0]) * 100],
                  # Naming the largest fall or rise picks among the k categories:
                  # simultaneous intervals, Bonferroni over them (level 1 - alpha/k).
                  "level": 1 - ALPHA / len(FIRST_LEVEL),
                  "intervals": [interval((last[2][:, c] - first[2][:, c]) * 100, ALPHA / len(FIRST_LEVEL))
                                for c in range(len(FIRST_LEVEL))]},
    }
    with open(GOLDEN, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
