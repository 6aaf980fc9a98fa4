#!/usr/bin/env python3
"""Goldens for the significance letters of the segment analysis (plugins/segment,
"column comparisons"): tests/goldens/letters.json for the study
tests/fixtures/letters, whose study.yaml and data.csv this script also writes.

The rule (as Displayr, SPSS Custom Tables and Decipher show it)
  * Every group of a segment gets a letter, A, B, C... in the study's order.
  * In each row (the index and each first-level category), every pair of TESTED
    groups is compared: the difference of the two groups' weighted domain means of
    the 0-100 score, SE = sqrt(se_a^2 + se_b^2) from their linearised domain
    standard errors (disjoint domains of one with-replacement sample: zero
    covariance under linearisation), Welch-Satterthwaite df on Kish effective bases
    df = (v_a + v_b)^2 / (v_a^2/(n_a - 1) + v_b^2/(n_b - 1)), two-sided p from
    scipy.stats.t.
  * A group is tested in a row when it has a score there, its base n is at least
    the study's low-base threshold and its Kish effective base is at least 2.
  * The family is all pairs of tested groups within one row (k(k-1)/2 tests); the
    p-values are adjusted within it with statsmodels' multipletests (bonferroni,
    fdr_bh) or not at all ("none").
  * A group's cell lists, in group order, the letters of the groups it is
    significantly ABOVE: upper case when the adjusted p < 1 - confidence (0.95
    here), lower case when not, but adjusted p < 1 - second level (0.90, the
    plugin's default `letters_second_level`).

Independent implementations used
  * Tree scoring (leaves rescaled 0-100, reversed when lower is better; a parent
    the weighted mean of the children a respondent answered, weights renormalised):
    pandas/numpy, from the definition below (not from csi's parser).
  * Domain means and standard errors as R survey's subset gives them: statsmodels
    WLS of the score (0 outside the domain) on the domain's indicator and its
    complement over the WHOLE wave, HC0 covariance times n/(n-1) with n the wave's
    sample size; asserted against the closed form
    sqrt(n/(n-1) * sum_d w^2 (x - xbar)^2) / sum_d w.
  * Tests: scipy.stats.t; adjustments: statsmodels.stats.multitest.multipletests.

The fixture
  * 720 respondents, weights lognormal (high-spend users weighted up); a tree of
    three first-level categories (service with a waiting time in minutes, lower is
    better; network; price), answers missing at random (empty cells and the
    missing code 99).
  * Segment `plan`, six groups: four ordinary ones with real differences; campus
    users (18 respondents: below the low-base threshold of 30, never tested); trial
    users (32 respondents, one of them with weight 20 and the others 0.0001, so
    their Kish effective base is about 1 wherever that respondent answered: not
    tested in the index, service and network rows; in the price row, which that
    respondent skipped, the effective base is 31 and they are tested). 15
    respondents have no plan.
  * Segment `region`, three groups, with a small difference on the network.
  * The seed is one for which upper-case letters, lower-case letters and pairs
    that are not significant at either level all occur under each correction (and
    no adjusted p-value lies within 1e-6 of either level), as asserted below.

Regenerate (from the repository root; the outputs are committed, CI never runs Python):
    pip install -r tests/goldens/requirements.txt && python3 tests/goldens/make_letters_goldens.py
"""
import json
import math
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/letters"
GOLDEN = ROOT / "tests/goldens/letters.json"
SEED = 20260314
CONFIDENCE = 0.95
SECOND_LEVEL = 0.90
LOW_BASE = 30
MIN_EFFECTIVE = 2.0
CORRECTIONS = {"bonferroni": "bonferroni", "benjamini_hochberg": "fdr_bh", "none": None}

STUDY_YAML = """\
# Written by tests/goldens/make_letters_goldens.py (with data.csv): a one-wave study
# for the significance letters of the segment analysis (column comparisons):
# weighted, a lower-is-better measure, answers missing at random, a segment of six
# groups (one below the low-base threshold, one whose effective base is about 1
# except in the price row) and one of three. Goldens: tests/goldens/letters.json.
id: letters
title: {zh: 显著性字母测试研究, en: Significance letters test study}
language: zh
respondent_id: rid
scale:
  min: 1
  max: 10
  missing: [99]
settings:
  confidence: 0.95
  low_base: 30
index:
  label: {zh: 满意度指数, en: Satisfaction index}
waves:
  - id: 2025
    label: {zh: 2025年, en: "2025"}
    data: data.csv
    weight: w
tree:
  - id: service
    label: {zh: 服务, en: Service}
    weight: 2
    children:
      - id: staff
        label: {zh: 营业员, en: Staff}
        column: q_staff
      - id: hotline
        label: {zh: 客服热线, en: Hotline}
        column: q_hotline
      - id: wait
        label: {zh: 等待时间, en: Waiting time}
        column: t_wait
        unit: min
        direction: lower_is_better
        scale: {min: 0, max: 60, missing: [-1]}
  - id: network
    label: {zh: 网络, en: Network}
    weight: 2
    children:
      - id: coverage
        label: {zh: 覆盖, en: Coverage}
        column: q_cov
      - id: quality
        label: {zh: 通话质量, en: Call quality}
        column: q_qual
  - id: price
    label: {zh: 资费, en: Price}
    weight: 1
    children:
      - id: fairness
        label: {zh: 资费合理, en: Fair prices}
        column: q_fair
      - id: value
        label: {zh: 物有所值, en: Value for money}
        column: q_value
segments:
  - id: plan
    label: {zh: 用户类型, en: Customer type}
    column: plan
    values:
      1: {zh: 普通签约用户, en: Contract users}
      2: {zh: 高额话费用户, en: High-spend users}
      3: {zh: 储值卡用户, en: Prepaid users}
      4: {zh: 企业用户, en: Business users}
      5: {zh: 校园用户, en: Campus users}
      6: {zh: 试用用户, en: Trial users}
  - id: region
    label: {zh: 地区, en: Region}
    column: region
    values:
      1: {zh: 北方, en: North}
      2: {zh: 南方, en: South}
      3: {zh: 西部, en: West}
analyses:
  - plugin: segment
"""

# The same definition, as this script reads it (kept independent of csi's parser).
TEN = {"min": 1.0, "max": 10.0, "missing": [99.0], "lower": False}
WAIT = {"min": 0.0, "max": 60.0, "missing": [-1.0], "lower": True}
LEAVES = {"staff": ("q_staff", TEN), "hotline": ("q_hotline", TEN), "wait": ("t_wait", WAIT),
          "coverage": ("q_cov", TEN), "quality": ("q_qual", TEN),
          "fairness": ("q_fair", TEN), "value": ("q_value", TEN)}
TREE = {"index": [("service", 2.0), ("network", 2.0), ("price", 1.0)],
        "service": [("staff", 1.0), ("hotline", 1.0), ("wait", 1.0)],
        "network": [("coverage", 1.0), ("quality", 1.0)],
        "price": [("fairness", 1.0), ("value", 1.0)]}
ROWS = ["index", "service", "network", "price"]
SEGMENTS = {"plan": ["1", "2", "3", "4", "5", "6"], "region": ["1", "2", "3"]}
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Group sizes of `plan` (None: no plan) and each group's shift of the latent
# satisfaction with service, network and price.
PLAN_SIZES = {"1": 250, "2": 170, "3": 140, "4": 95, "5": 18, "6": 32, None: 15}
PLAN_EFFECT = {"1": (0.0, 0.0, 0.0), "2": (-0.40, -0.22, -0.10), "3": (0.12, 0.22, 0.30),
               "4": (-0.18, 0.05, -0.26), "5": (0.6, 0.5, 0.5), "6": (0.0, 0.0, 0.2), None: (0.0, 0.0, 0.0)}
REGION_EFFECT = {1: (0.0, 0.0, 0.0), 2: (0.0, 0.05, 0.0), 3: (0.0, -0.25, 0.0)}


# ----------------------------------------------------------------------------- data
def write_fixture(seed):
    rng = np.random.default_rng(seed)
    plan = [code for code, size in PLAN_SIZES.items() for _ in range(size)]
    plan = [plan[i] for i in rng.permutation(len(plan))]
    n = len(plan)
    region = rng.choice([1, 2, 3], size=n, p=[0.4, 0.35, 0.25])
    w = np.round(rng.lognormal(0.0, 0.45, n) * np.array([1.3 if p == "2" else 1.0 for p in plan]), 4)
    w = np.maximum(w, 0.05)
    trial = [i for i, p in enumerate(plan) if p == "6"]
    heavy = trial[0]
    w[trial] = 0.0001
    w[heavy] = 20.0
    eff = np.array([PLAN_EFFECT[p] for p in plan]) + np.array([REGION_EFFECT[r] for r in region])
    person = rng.normal(0, 0.6, n)
    latent = {c: eff[:, k] + person + rng.normal(0, 0.8, n) for k, c in enumerate(["service", "network", "price"])}

    def item(cat, mean):
        return np.clip(np.round(mean + 1.3 * latent[cat] + rng.normal(0, 1.2, n)), 1, 10)

    cols = {
        "q_staff": item("service", 7.4), "q_hotline": item("service", 6.6),
        "q_cov": item("network", 7.2), "q_qual": item("network", 7.0),
        "q_fair": item("price", 6.0), "q_value": item("price", 6.4),
    }
    text = {k: [str(int(x)) for x in v] for k, v in cols.items()}
    wait = np.clip(np.round(14.0 - 4.0 * latent["service"] + rng.normal(0, 4.0, n), 1), 0, 60)
    text["t_wait"] = [f"{x:.1f}" for x in wait]
    for col in text:
        code = "-1" if col == "t_wait" else "99"
        for i in range(n):
            if i in trial:
                continue  # the trial users answer everything (but see below)
            u = rng.random()
            if u < 0.04:
                text[col][i] = ""
            elif u < 0.06:
                text[col][i] = code
    text["q_fair"][heavy] = ""
    text["q_value"][heavy] = "99"
    df = pd.DataFrame({"rid": [str(i + 1) for i in range(n)], "w": [f"{x:.4f}" for x in w],
                       "plan": ["" if p is None else p for p in plan], "region": [str(r) for r in region],
                       **{k: text[k] for k in ["q_staff", "q_hotline", "t_wait", "q_cov", "q_qual", "q_fair", "q_value"]}})
    FIXTURE.mkdir(parents=True, exist_ok=True)
    (FIXTURE / "study.yaml").write_text(STUDY_YAML, encoding="utf-8")
    with open(FIXTURE / "data.csv", "w", newline="\n", encoding="utf-8") as f:
        f.write(",".join(df.columns) + "\n")
        for row in df.itertuples(index=False):
            f.write(",".join(row) + "\n")


def read_fixture():
    """The CSV as written, read as text; empty cells NaN, the rest Python's float()."""
    raw = pd.read_csv(FIXTURE / "data.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    return raw.apply(lambda c: c.map(lambda s: np.nan if s == "" else float(s)))


# ----------------------------------------------------------------------------- scores
def scores_of(d):
    out = {}
    for leaf, (col, sc) in LEAVES.items():
        x = d[col].to_numpy(dtype=float)
        x = np.where(np.isin(x, sc["missing"]), np.nan, x)
        out[leaf] = (sc["max"] - x) / (sc["max"] - sc["min"]) * 100 if sc["lower"] else \
            (x - sc["min"]) / (sc["max"] - sc["min"]) * 100

    def node(i):
        if i in out:
            return out[i]
        num = den = 0.0
        for c, wc in TREE[i]:
            s = node(c)
            num = num + np.where(np.isnan(s), 0.0, s) * wc
            den = den + np.where(np.isnan(s), 0.0, wc)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[i] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        return out[i]

    node("index")
    return out


def close(a, b, tol=1e-10):
    return abs(a - b) <= tol * max(abs(a), abs(b))


def domain(y, w, in_domain):
    """The domain estimate of survey's subset: WLS over the whole wave on the domain
    indicators, HC0 times n/(n-1) with n the wave's size."""
    n = len(y)
    ok = in_domain & ~np.isnan(y)
    nd = int(ok.sum())
    if nd == 0:
        return {"n": 0, "sum_w": 0.0, "effective_n": 0.0, "mean": None, "se": None}
    X = np.column_stack([ok.astype(float), (~ok).astype(float)])
    fit = sm.WLS(np.where(ok, y, 0.0), X, weights=w).fit(cov_type="HC0")
    mean, se = float(fit.params[0]), float(fit.bse[0]) * math.sqrt(n / (n - 1))
    wd, yd = w[ok], y[ok]
    sum_w = float(wd.sum())
    xbar = float((wd * yd).sum() / sum_w)
    se_closed = math.sqrt(n / (n - 1) * float((wd**2 * (yd - xbar) ** 2).sum())) / sum_w
    assert close(mean, xbar) and close(se, se_closed, 1e-9), (mean, xbar, se, se_closed)
    return {"n": nd, "sum_w": sum_w, "effective_n": sum_w**2 / float((wd**2).sum()), "mean": mean, "se": se}


def welch(a, b):
    """a - b for two disjoint domains: independent SEs, Welch-Satterthwaite df on the
    Kish effective bases, two-sided p from scipy.stats.t."""
    va, vb = a["se"] ** 2, b["se"] ** 2
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a["effective_n"] - 1) + vb**2 / (b["effective_n"] - 1))
    diff = a["mean"] - b["mean"]
    t = diff / se
    return {"diff": diff, "se": se, "df": df, "t": t, "p": float(min(1.0, 2 * stats.t.sf(abs(t), df)))}


def adjust(p, method):
    if not p:
        return []
    if method is None:
        return list(p)
    return [float(x) for x in multipletests(p, method=method)[1]]


# ----------------------------------------------------------------------------- goldens
def goldens():
    d = read_fixture()
    n = len(d)
    w = d["w"].to_numpy(dtype=float)
    assert (w > 0).all() and d["rid"].is_unique
    s = scores_of(d)
    alpha1, alpha2 = 1 - CONFIDENCE, 1 - SECOND_LEVEL
    out = {}
    counts = {c: {"upper": 0, "lower": 0, "not_significant": 0, "pairs": 0} for c in CORRECTIONS}
    for seg, codes in SEGMENTS.items():
        cells = [f"{seg}={c}" for c in codes]
        masks = {f"{seg}={c}": (d[seg] == float(c)).to_numpy() for c in codes}
        rows = []
        for node in ROWS:
            groups = {}
            for cell in cells:
                e = domain(s[node], w, masks[cell])
                if e["mean"] is None or e["n"] < LOW_BASE:
                    e["excluded"] = "low_base"
                elif e["effective_n"] < MIN_EFFECTIVE:
                    e["excluded"] = "effective_base"
                else:
                    e["excluded"] = None
                groups[cell] = e
            tested = [c for c in cells if groups[c]["excluded"] is None]
            pairs = []
            for a, b in combinations(tested, 2):
                pairs.append({"a": a, "b": b, **welch(groups[a], groups[b])})
            assert len(pairs) == len(tested) * (len(tested) - 1) // 2
            raw = [p["p"] for p in pairs]
            letters = {}
            for corr, method in CORRECTIONS.items():
                adjusted = adjust(raw, method)
                marks = {c: [] for c in cells}
                for pair, q in zip(pairs, adjusted):
                    pair.setdefault("p_adjusted", {})[corr] = q
                    for level in (alpha1, alpha2):
                        assert abs(q - level) > 1e-6, (seg, node, pair["a"], pair["b"], corr, q)
                    counts[corr]["pairs"] += 1
                    if q < alpha1:
                        case = str.upper
                        counts[corr]["upper"] += 1
                    elif q < alpha2:
                        case = str.lower
                        counts[corr]["lower"] += 1
                    else:
                        counts[corr]["not_significant"] += 1
                        continue
                    hi, lo = (pair["a"], pair["b"]) if pair["diff"] > 0 else (pair["b"], pair["a"])
                    marks[hi].append((cells.index(lo), case(LETTERS[cells.index(lo)])))
                letters[corr] = {c: "".join(x for _, x in sorted(m)) for c, m in marks.items()}
            rows.append({"node": node, "groups": groups, "family": len(pairs), "pairs": pairs,
                         "letters": letters})
        out[seg] = {"groups": [{"cell": c, "letter": LETTERS[i]} for i, c in enumerate(cells)], "rows": rows}
    return out, counts


def acceptable(out, counts):
    """The pattern the fixture must show: every kind of outcome under each correction,
    and the exclusions as designed."""
    plan = {r["node"]: r for r in out["plan"]["rows"]}
    for node, r in plan.items():
        assert r["groups"]["plan=5"]["excluded"] == "low_base", node
        want = None if node == "price" else "effective_base"
        if r["groups"]["plan=6"]["excluded"] != want:
            return False
    return all(c["upper"] >= 4 and c["lower"] >= 2 and c["not_significant"] >= 4 for c in counts.values())


def write_json(obj, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
        f.write("\n")


def main():
    write_fixture(SEED)
    out, counts = goldens()
    assert acceptable(out, counts), counts
    write_json({"comment": "Significance letters (column comparisons) for tests/fixtures/letters, "
                "written by tests/goldens/make_letters_goldens.py: per segment and row, each group's "
                "domain estimate (excluded: low_base when n < low_base or no score, effective_base "
                "when Kish n_eff < 2), every pair of tested groups (diff = mean(a) - mean(b), "
                "Welch-Satterthwaite df on Kish bases, p two-sided, p_adjusted per correction over "
                "the row's pairs), and per correction each group's letters: the groups it is "
                "significantly above, upper case at adjusted p < 1 - confidence, lower case at "
                "adjusted p < 1 - second_level only.",
                "confidence": CONFIDENCE, "second_level": SECOND_LEVEL, "low_base": LOW_BASE,
                "counts": counts, "segments": out}, GOLDEN)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
