#!/usr/bin/env python3
"""Independent reference implementation that writes csi's golden test values.

What it checks
  * weighted_moments.json -- the statistics kernel (crates/csi-stats): weighted mean,
    its design-based (Taylor-linearised) standard error, the normal 95 % confidence
    interval and Kish's effective n, for the variables of tests/fixtures/stats/weighted.csv,
    also with every weight multiplied by 37.5 (the results must not change, except sum_w).
  * mini_rest.json -- each node's score outside each segment group (the rest of
    the sample), which plugins derive by subtracting sums
  * mini_cross.json -- the co-moments (sums of squares and cross-products) of score
    pairs per cell that driver analyses are computed from
  * mini.json -- every published number of the study tests/fixtures/mini/study.yaml
    (leaf, category and index scores, the overall item, top-two-box shares and the
    expectation of `coverage`) for all respondents and every segment group.

Means and standard errors come from statsmodels: for weighted_moments.json an
intercept-only WLS model with HC1 (heteroskedasticity-robust) covariance, i.e.
SE = sqrt(n/(n-1) * sum w^2 (x - xbar)^2) / sum w for sampling weights; for the study
goldens, domain estimates as R survey's subset gives them (every figure is a domain of
the sample: a segment group, the respondents who answered an item): WLS over the WHOLE
sample on domain indicators, HC0 times n/(n-1) with n the sample size. Shares (top box)
get Korn-Graubard intervals (Clopper-Pearson at the effective n, statsmodels "beta").
Expectation, performance ("paired_score") and gap share one base (those who answered
both). statsmodels' DescrStatsW (frequency weights) is deliberately not used.
All numbers are computed from the CSV files as written (read back as text and parsed with
Python's correctly rounded float()), so the Rust side sees exactly the same inputs.

Regenerate (from the repository root; the outputs are committed, CI never runs Python):
    pip install -r tests/goldens/requirements.txt && python3 tests/goldens/make_goldens.py
"""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

ROOT = Path(__file__).resolve().parents[2]
CONFIDENCE = 0.95
Z = float(norm.ppf(0.5 + CONFIDENCE / 2))  # 1.959963984540054
SCALE_FACTOR = 37.5


def close(a, b, tol=1e-12):
    return abs(a - b) <= tol * max(abs(a), abs(b))


def estimate(x, w):
    """Weighted mean, HC1 standard error, normal CI and Kish's effective n."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    n = len(x)
    assert n >= 2 and (w > 0).all()
    fit = sm.WLS(x, np.ones(n), weights=w).fit(cov_type="HC1")
    mean, se = float(fit.params[0]), float(fit.bse[0])
    lo, hi = mean - Z * se, mean + Z * se
    ci = np.asarray(fit.conf_int(alpha=1 - CONFIDENCE))  # normal for robust covariances
    assert close(ci[0][0], lo) and close(ci[0][1], hi), (ci, lo, hi)
    sum_w = float(w.sum())
    # Closed-form cross-check of the linearised estimator.
    xbar = float((w * x).sum() / sum_w)
    se_closed = math.sqrt(n / (n - 1) * float((w**2 * (x - xbar) ** 2).sum())) / sum_w
    assert close(mean, xbar) and close(se, se_closed), (mean, xbar, se, se_closed)
    return {"n": n, "sum_w": sum_w, "mean": mean, "se": se, "ci_low": lo, "ci_high": hi,
            "effective_n": sum_w**2 / float((w**2).sum())}


def read_csv_exact(path):
    """Read a CSV as text; empty cells become NaN, the rest float() (correctly rounded)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return raw.apply(lambda col: col.map(lambda s: np.nan if s == "" else float(s)))


def write_csv(df, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def fmt_int(v):
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(int(v))


def write_json(obj, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
        f.write("\n")


# --------------------------------------------------------------------------- a. kernel
def make_weighted():
    rng = np.random.default_rng(20240501)
    n = 250
    w = np.round(rng.lognormal(0.0, 0.7, n), 4)
    x1 = np.round(rng.normal(70, 15, n) + 4 * np.log(w), 4)  # correlated with w
    x2 = np.clip(np.round(rng.normal(6.5, 2.2, n)), 1, 10).astype(object)
    x2[rng.choice(n, 9, replace=False)] = None
    x3 = (rng.random(n) < 0.35 + 0.1 * (w > 1)).astype(int)
    df = pd.DataFrame({"x1": [f"{v:.4f}" for v in x1], "x2": [fmt_int(v) for v in x2],
                       "x3": x3.astype(str), "w": [f"{v:.4f}" for v in w]})
    path = ROOT / "tests/fixtures/stats/weighted.csv"
    write_csv(df, path)

    data = read_csv_exact(path)
    out = {}
    for var in ["x1", "x2", "x3"]:
        ok = data[var].notna()
        base = estimate(data.loc[ok, var], data.loc[ok, "w"])
        scaled = estimate(data.loc[ok, var], data.loc[ok, "w"] * SCALE_FACTOR)
        for k in ["mean", "se", "ci_low", "ci_high", "effective_n"]:
            assert close(base[k], scaled[k]), (var, k)
        assert close(base["sum_w"] * SCALE_FACTOR, scaled["sum_w"])
        out[var], out[var + "_scaled"] = base, scaled
    write_json({"comment": "Weighted mean (statsmodels WLS intercept, HC1 SE), normal CI "
                "mean +- z*se, Kish effective_n = (sum w)^2/sum w^2, over rows where the "
                "variable is not empty, for tests/fixtures/stats/weighted.csv. *_scaled: all "
                "weights multiplied by scale_factor. Written by tests/goldens/make_goldens.py.",
                "confidence": CONFIDENCE, "scale_factor": SCALE_FACTOR, "variables": out},
               ROOT / "tests/goldens/weighted_moments.json")


# --------------------------------------------------------------------------- b. mini study
DEFAULT_MISSING = [99, -99, 0]
# Mirrors tests/fixtures/mini/study.yaml (kept independent of csi's own parser).
LEAVES = {  # id: (column, min, max, missing codes, lower_is_better, has top box)
    "coverage": ("q1", 1, 10, DEFAULT_MISSING, False, True),
    "quality": ("q2", 1, 10, DEFAULT_MISSING, False, True),
    "accuracy": ("q3", 1, 10, DEFAULT_MISSING, False, True),
    "wait": ("t4", 0, 60, [-1], True, False),
    "overall": ("q0", 1, 10, DEFAULT_MISSING, False, True),
}
CATEGORIES = {"network": [("coverage", 2), ("quality", 1)],
              "billing": [("accuracy", 1), ("wait", 1)],
              "__index__": [("network", 3), ("billing", 1)]}
NODE_ORDER = ["network", "coverage", "quality", "billing", "accuracy", "wait", "__index__", "overall"]
TOP_BOX_MIN = 9  # top_box: 2 on a 1..10 scale


def make_mini_data():
    rng = np.random.default_rng(19950817)
    n = 400
    ctype = rng.choice([1, 2, 3], size=n, p=[0.5, 0.3, 0.2])
    joined = rng.integers(1990, 2004, size=n)  # 1990..2003
    w = np.round(rng.lognormal(0.0, 0.5, n) * np.where(ctype == 2, 1.4, 1.0), 4)
    person = rng.normal(0, 1.0, n)
    base = 7.0 + np.select([ctype == 2, ctype == 3], [-1.3, 0.4], 0.0) + 0.08 * (1999 - joined)
    cols = {}
    for col, shift in [("q0", 0.0), ("q1", 0.3), ("q2", -0.4), ("q3", 0.2)]:
        v = np.clip(np.round(base + shift + person + rng.normal(0, 1.2, n)), 1, 10)
        cols[col] = [str(int(x)) for x in v]
    e1 = np.clip(np.round(8.2 + 0.5 * (ctype == 2) + rng.normal(0, 1.1, n)), 1, 10)
    cols["e1"] = [str(int(x)) for x in e1]
    t4 = np.clip(rng.exponential(np.where(ctype == 2, 18.0, 10.0)), 0, 60)
    t4[rng.choice(n, 4, replace=False)] = 0.0   # 0 minutes is a valid answer for t4
    t4[rng.choice(n, 2, replace=False)] = 60.0
    cols["t4"] = [f"{x:.1f}" for x in t4]
    for col, p_empty in [("q0", 0.05), ("q1", 0.05), ("q2", 0.05), ("q3", 0.05), ("e1", 0.04)]:
        for i in np.flatnonzero(rng.random(n) < p_empty):
            cols[col][i] = ""
        for i in np.flatnonzero(rng.random(n) < 0.025):
            cols[col][i] = str(rng.choice(DEFAULT_MISSING))
    for i in np.flatnonzero(rng.random(n) < 0.05):
        cols["t4"][i] = "-1"
    for i in rng.choice(n, 3, replace=False):  # no tree answer at all -> no index score
        for col in ["q1", "q2", "q3"]:
            cols[col][i] = ""
        cols["t4"][i] = "-1"
    ctype_s = [str(c) for c in ctype]
    joined_s = [str(j) for j in joined]
    for i in rng.choice(n, 7, replace=False):
        ctype_s[i] = ""
    for i in rng.choice(n, 6, replace=False):
        joined_s[i] = ""
    df = pd.DataFrame({"rid": [str(i) for i in range(1, n + 1)], "w": [f"{x:.4f}" for x in w],
                       "ctype": ctype_s, "joined": joined_s, "q0": cols["q0"], "q1": cols["q1"],
                       "q2": cols["q2"], "q3": cols["q3"], "e1": cols["e1"], "t4": cols["t4"]})
    write_csv(df, ROOT / "tests/fixtures/mini/data.csv")


def valid(raw, missing):
    """Raw values with empty cells and missing codes set to NaN."""
    return raw.where(~raw.isin(missing))


def rescale(x, lo, hi, lower_is_better):
    return (hi - x) / (hi - lo) * 100 if lower_is_better else (x - lo) / (hi - lo) * 100


def combine(children):
    """Weighted mean of the children a respondent has a score for; NaN if none."""
    num = sum(s.fillna(0.0) * wc for s, wc in children)
    den = sum(s.notna().astype(float) * wc for s, wc in children)
    return (num / den).where(den > 0)


def make_mini_goldens():
    d = read_csv_exact(ROOT / "tests/fixtures/mini/data.csv")
    assert d["rid"].is_unique and (d["w"] > 0).all()
    raw, score = {}, {}
    for node, (col, lo, hi, miss, rev, _) in LEAVES.items():
        raw[node] = valid(d[col], miss)
        score[node] = rescale(raw[node], lo, hi, rev)
    for node, children in CATEGORIES.items():  # dict order: network, billing, __index__
        score[node] = combine([(score[c], wc) for c, wc in children])
    expectation = rescale(valid(d["e1"], DEFAULT_MISSING), 1, 10, False)
    # Expectation, performance and gap on one base: a leaf over the respondents
    # who answered both; a category over the children each respondent answered
    # both of (only coverage has an expectation column here; billing has none).
    both = score["coverage"].notna() & expectation.notna()
    expect = {"coverage": expectation.where(both)}
    paired = {"coverage": score["coverage"].where(both)}
    gap = {"coverage": (score["coverage"] - expectation).where(both)}
    for node, children in CATEGORIES.items():
        with_e = [(c, wc) for c, wc in children if c in expect]
        if with_e:
            expect[node] = combine([(expect[c], wc) for c, wc in with_e])
            paired[node] = combine([(paired[c], wc) for c, wc in with_e])
            gap[node] = combine([(gap[c], wc) for c, wc in with_e])

    cells = {"all": pd.Series(True, index=d.index)}
    for code in [1, 2, 3]:
        cells[f"type={code}"] = d["ctype"] == code
    cells["cohort=0"] = d["joined"] <= 1995
    cells["cohort=1"] = (d["joined"] >= 1996) & (d["joined"] <= 1998)
    cells["cohort=2"] = d["joined"] >= 1999  # NaN compares False: empty cell -> no group

    def est(values, mask, share=False):
        """A domain estimate as R survey's subset gives it: the domain's mean by WLS
        of y (0 outside) on domain indicators over the WHOLE sample, whose HC0
        covariance times n/(n-1), with n the sample's size, is survey's
        linearised variance (the domain's own n/(n-1) is not used). Shares get the
        Korn-Graubard interval: Clopper-Pearson (statsmodels, method="beta") at
        the effective n p(1-p)/SE^2."""
        ok = (mask & values.notna()).to_numpy()
        n = len(values)
        y, w = values.fillna(0.0).to_numpy(dtype=float), d["w"].to_numpy(dtype=float)
        cols = [ok.astype(float)] + ([(~ok).astype(float)] if (~ok).any() else [])
        fit = sm.WLS(np.where(ok, y, 0.0), np.column_stack(cols), weights=w).fit(cov_type="HC0")
        mean, se = float(fit.params[0]), float(fit.bse[0]) * math.sqrt(n / (n - 1))
        wd = w[ok]
        out = {"n": int(ok.sum()), "sum_w": float(wd.sum()), "mean": mean, "se": se,
               "ci_low": mean - Z * se, "ci_high": mean + Z * se,
               "effective_n": float(wd.sum() ** 2 / (wd**2).sum())}
        if share:
            n_star = mean * (1 - mean) / se**2 if 0 < mean < 1 else out["effective_n"]
            lo, hi = proportion_confint(mean * n_star, n_star, alpha=1 - CONFIDENCE, method="beta")
            out["ci_low"], out["ci_high"] = float(lo), float(hi)
        return out

    out = []
    for cell, mask in cells.items():
        for node in NODE_ORDER:
            row = {"cell": cell, "node": node, **est(score[node], mask),
                   "top_box": None, "expectation": None, "gap": None, "raw": None}
            if node in LEAVES and LEAVES[node][5]:
                top = (raw[node] >= TOP_BOX_MIN).astype(float).where(raw[node].notna())
                row["top_box"] = est(top, mask, share=True)
            if node in expect:
                row["expectation"] = est(expect[node], mask)
                row["paired_score"] = est(paired[node], mask)
                # Paired gap: performance - expectation per respondent, over those
                # who answered both (so its SE accounts for the pairing).
                row["gap"] = est(gap[node], mask)
            if node == "wait":  # a measure in its own unit: the raw mean in minutes
                row["raw"] = est(raw["wait"], mask)
            out.append(row)

    # Co-moments of score pairs for driver analyses: siblings with each other and
    # their parent, every node with the index and the overall item; over the
    # respondents with both scores. numpy's weighted covariance (bias=True divides
    # by the sum of weights) times the sum of weights gives the cross-product.
    pairs = set()
    for parent, children in CATEGORIES.items():
        names = [c for c, _ in children]
        for i, a in enumerate(names):
            pairs.add(tuple(sorted((parent, a))))
            for b in names[i + 1:]:
                pairs.add(tuple(sorted((a, b))))
    for outcome in ["__index__", "overall"]:
        for node in NODE_ORDER:
            if node != outcome:
                pairs.add(tuple(sorted((outcome, node))))
    cross = []
    for cell, mask in cells.items():
        for a, b in sorted(pairs):
            ok = mask & score[a].notna() & score[b].notna()
            x, y, w = score[a][ok].to_numpy(), score[b][ok].to_numpy(), d.loc[ok, "w"].to_numpy()
            cov = np.cov(x, y, aweights=w, bias=True)
            sw = float(w.sum())
            cross.append({"cell": cell, "x": a, "y": b, "n": int(ok.sum()), "sum_w": sw,
                          "mean_x": float(np.average(x, weights=w)), "mean_y": float(np.average(y, weights=w)),
                          "ss_x": float(cov[0, 0]) * sw, "ss_y": float(cov[1, 1]) * sw, "sp": float(cov[0, 1]) * sw})
    write_json({"comment": "Co-moments of score pairs over respondents with both (numpy weighted "
                "covariance with bias=True, times the sum of weights): ss_x = sum w (x-mean_x)^2, "
                "ss_y likewise, sp = sum w (x-mean_x)(y-mean_y). Pairs: siblings with each other and "
                "their parent; every node with __index__ and with overall. x < y by name.",
                "cross": cross}, ROOT / "tests/goldens/mini_cross.json")
    # The rest of the sample outside each segment group (the comparison of a
    # segment analysis), computed directly on the complement.
    rest = []
    for cell, mask in cells.items():
        if cell == "all":
            continue
        for node in NODE_ORDER:
            rest.append({"cell": cell, "node": node, **est(score[node], ~mask)})
    write_json({"comment": "Estimates of each node's score over the respondents NOT in each "
                "segment group (same estimator as mini.json).", "rest": rest},
               ROOT / "tests/goldens/mini_rest.json")
    write_json({"comment": "Goldens for tests/fixtures/mini (study.yaml + data.csv), written by "
                "tests/goldens/make_goldens.py. Leaf score (x-min)/(max-min)*100 (reversed for "
                "lower_is_better), empty cells and missing codes dropped; category/index score = "
                "sum w_c*s_c / sum w_c over answered children. Estimates over respondents with a "
                "score: weighted mean, HC1 (linearised) se, normal CI mean +- z*se, Kish effective_n. "
                "top_box: share with raw >= 9 (0..1 scale). expectation: e1 rescaled 0-100 (categories: "
                "weighted mean over children with an expectation). gap: "
                "per-respondent score(q1) - score(e1) over respondents with both. raw: t4 in minutes.",
                "confidence": CONFIDENCE, "cells": out}, ROOT / "tests/goldens/mini.json")
    return out


if __name__ == "__main__":
    make_weighted()
    make_mini_data()
    rows = make_mini_goldens()
    print(f"wrote weighted.csv, weighted_moments.json, mini/data.csv, mini.json ({len(rows)} cells)")
