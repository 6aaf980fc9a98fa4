#!/usr/bin/env python3
"""Independent reference values for the driver analysis (plugins/driver).

What it checks
  * Penalty-reward (Kano) analysis, the method as specified (not csi's code): each
    rating-scale indicator's answers are *low* (lower half of the scale: a 0-100
    score below 50), *top* (the study's top box; the top two points when a scale
    sets none) or *middle* (the rest, the reference). Scales with no middle answer,
    or whose top box reaches into the lower half, are refused. Listwise deletion over
    the outcome and the indicators analysable on their scale (fewer than 90 such
    respondents: nothing is estimated); an indicator with fewer than 30 of those
    respondents in one category is dropped and the listwise sample re-taken over
    the others. The outcome's 0-100 score is regressed on
    an intercept and the low and top dummies with statsmodels
    WLS(...).fit(cov_type="HC1") (respondent weights as sampling weights);
    penalty = -b_low, reward = b_top, with their HC1 standard errors; classes from
    the two-sided normal intervals at the study's confidence level (statsmodels
    conf_int): performance (both > 0), basic (penalty only), excitement (reward
    only), none (neither), unexpected sign (either significantly < 0). The HC1
    sandwich is cross-checked in closed form with numpy, and shown to be unchanged
    when every weight is multiplied by 37.5.
      - driver_kano_short.json    -- tests/fixtures/kano_short (1-4 scales, unweighted)
      - driver_kano_weighted.json -- tests/fixtures/kano_weighted (1-5, 1-10 and 1-4
        scales, lower-is-better, weights, non-response, 90 % confidence)
      - driver_kano_mini.json     -- tests/fixtures/mini (1-10, top-two box, weights)
  * driver_pairwise.json -- tests/fixtures/pairwise_inconsistent: the weighted
    pairwise-complete correlations of the scores (numpy weighted covariance over the
    respondents with both), the eigenvalues of the full matrix [[R_xx, r_xy],
    [r_xy', 1]] (numpy eigvalsh; the smallest is negative), those of R_xx alone (all
    positive) and the "R^2" r_xy' R_xx^-1 r_xy (> 1) the old check let through.

The fixture data (data.csv of kano_short, kano_weighted and pairwise_inconsistent)
are written here too, deterministically (numpy's PCG64 generator, fixed seeds); all
numbers are computed from the CSV files as written, read back as text and parsed
with Python's float(). The scale definitions below mirror the fixtures' study.yaml
files (kept independent of csi's parser).

Regenerate (from the repository root; the outputs are committed, CI never runs Python):
    pip install -r tests/goldens/requirements.txt && python3 tests/goldens/make_driver_goldens.py
"""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

ROOT = Path(__file__).resolve().parents[2]
MIN_CELL = 30
SCALE_FACTOR = 37.5


def close(a, b, tol=1e-10):
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


def read_csv_exact(path):
    """Read a CSV as text; empty cells become NaN, the rest float() (correctly rounded)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return raw.apply(lambda col: col.map(lambda s: np.nan if s == "" else float(s)))


def write_csv(df, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def write_json(obj, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
        f.write("\n")


def cell(v):
    """An answer as CSV text: empty for None, else the integer."""
    return "" if v is None else str(int(v))


class Item:
    """A rating question as the study defines it."""

    def __init__(self, node, column, lo, hi, missing, top_box=2, lower_is_better=False):
        self.node, self.column, self.lo, self.hi = node, column, lo, hi
        self.missing, self.top_box, self.lower = missing, top_box, lower_is_better

    def score(self, x):
        s = (x - self.lo) / (self.hi - self.lo) * 100.0
        return 100.0 - s if self.lower else s

    def clean(self, data):
        x = data[self.column].copy()
        x[x.isin(self.missing)] = np.nan
        return x

    def top_points(self):
        k = self.top_box if self.top_box is not None else 2
        points = list(range(int(self.lo), int(self.hi) + 1))
        return set(points[:k]) if self.lower else set(points[-k:])

    def scale_problem(self):
        points = list(range(int(self.lo), int(self.hi) + 1))
        top = self.top_points()
        low = {v for v in points if self.score(v) < 50}
        if top & low:
            return {"status": "top_box_in_lower_half", "points": len(points), "top_box": len(top)}
        if not [v for v in points if v not in top and v not in low]:
            return {"status": "no_middle", "points": len(points), "top_box": len(top)}
        return None

    def categories(self, data):
        """'low' / 'middle' / 'top' per respondent, NaN when missing."""
        x = self.clean(data)
        top = self.top_points()
        out = pd.Series(np.nan, index=data.index, dtype=object)
        for i, v in x.items():
            if math.isnan(v):
                continue
            if v in top:
                out[i] = "top"
            elif self.score(v) < 50:
                out[i] = "low"
            else:
                out[i] = "middle"
        return out


def hc1_closed_form(X, y, w):
    """(X'WX)^-1 [sum w^2 e^2 x x'] (X'WX)^-1 * n/(n-k), with numpy."""
    n, k = X.shape
    xtwx = X.T @ (w[:, None] * X)
    b = np.linalg.solve(xtwx, X.T @ (w * y))
    e = y - X @ b
    meat = X.T @ ((w**2 * e**2)[:, None] * X)
    bread = np.linalg.inv(xtwx)
    return b, bread @ meat @ bread * n / (n - k)


def penalty_reward(data, outcome, items, confidence, weight=None):
    w_all = data[weight] if weight else pd.Series(1.0, index=data.index)
    y_all = outcome.clean(data).map(outcome.score)
    ok = y_all.notna() & w_all.notna() & (w_all > 0)
    result = {"confidence": confidence, "respondents": int(len(data)), "indicators": {}}
    cats, eligible = {}, []
    for it in items:
        problem = it.scale_problem()
        if problem:
            result["indicators"][it.node] = problem
        else:
            cats[it.node] = it.categories(data)
            eligible.append(it.node)

    def listwise(nodes):
        m = ok.copy()
        for node in nodes:
            m &= cats[node].notna()
        return m

    first = listwise(eligible)
    kept = []
    if int(first.sum()) < 3 * MIN_CELL:  # too few complete answers for any model
        for node in eligible:
            result["indicators"][node] = {"status": "too_few_complete", "n": int(first.sum()),
                                          "indicators": len(eligible)}
        result["used"] = 0
        return result
    for node in eligible:
        c = {k: int((cats[node][first] == k).sum()) for k in ["low", "middle", "top"]}
        sparsest = min(["low", "middle", "top"], key=lambda k: c[k])  # ties: this order
        if c[sparsest] < MIN_CELL:
            result["indicators"][node] = {"status": "too_few", "category": sparsest, "n": c[sparsest],
                                          "n_low": c["low"], "n_middle": c["middle"], "n_top": c["top"]}
        else:
            kept.append(node)
    if not kept:
        result["used"] = 0
        return result
    mask = listwise(kept)
    columns = {"const": np.ones(int(mask.sum()))}
    for node in kept:
        columns[f"{node}:low"] = (cats[node][mask] == "low").astype(float).to_numpy()
        columns[f"{node}:top"] = (cats[node][mask] == "top").astype(float).to_numpy()
    X = pd.DataFrame(columns)
    y, w = y_all[mask].to_numpy(), w_all[mask].to_numpy()
    fit = sm.WLS(y, X, weights=w).fit(cov_type="HC1")
    ci = fit.conf_int(alpha=1 - confidence)
    # Independent checks: the closed-form sandwich, and invariance to the weights' scale.
    b, cov = hc1_closed_form(X.to_numpy(), y, w)
    assert all(close(a, c) for a, c in zip(fit.params, b))
    assert all(close(a, c) for a, c in zip(fit.bse, np.sqrt(np.diag(cov))))
    scaled = sm.WLS(y, X, weights=w * SCALE_FACTOR).fit(cov_type="HC1")
    assert all(close(a, c) for a, c in zip(fit.bse, scaled.bse))
    result["used"] = int(mask.sum())
    result["intercept"] = float(fit.params["const"])
    for node in kept:
        lo, to = f"{node}:low", f"{node}:top"
        penalty, reward = -float(fit.params[lo]), float(fit.params[to])
        p_ci = (-float(ci.loc[lo, 1]), -float(ci.loc[lo, 0]))
        r_ci = (float(ci.loc[to, 0]), float(ci.loc[to, 1]))
        sig = lambda c: 1 if c[0] > 0 else (-1 if c[1] < 0 else 0)  # noqa: E731
        sp, sr = sig(p_ci), sig(r_ci)
        if sp < 0 or sr < 0:
            klass = "unexpected_sign"
        else:
            klass = {(1, 1): "performance", (1, 0): "basic", (0, 1): "excitement", (0, 0): "none"}[(sp, sr)]
        result["indicators"][node] = {
            "status": "classified", "class": klass,
            "penalty": penalty, "penalty_se": float(fit.bse[lo]), "penalty_ci": p_ci,
            "reward": reward, "reward_se": float(fit.bse[to]), "reward_ci": r_ci,
            "n_low": int(X[lo].sum()), "n_top": int(X[to].sum()),
            "n_middle": int(len(X) - X[lo].sum() - X[to].sum()),
        }
    return result


COMMENT = ("Penalty-reward (Kano) analysis by statsmodels WLS(...).fit(cov_type='HC1'): outcome "
           "0-100 on low (score < 50) / top-box dummies per indicator, middle answers the "
           "reference; listwise over the outcome and the indicators analysable on their scale, "
           "those with < 30 respondents in a category dropped; penalty = -b_low, reward = b_top; "
           "classes from the two-sided normal intervals at `confidence`. "
           "Written by tests/goldens/make_driver_goldens.py.")


# --------------------------------------------------------------------- kano_short
def make_kano_short():
    rng = np.random.default_rng(20250401)
    n = 240
    four = lambda p: rng.choice([1, 2, 3, 4], size=n, p=p)  # noqa: E731
    s1, s2, p1 = four([0.15, 0.25, 0.35, 0.25]), four([0.2, 0.3, 0.3, 0.2]), four([0.1, 0.3, 0.4, 0.2])
    p2 = four([0.15, 0.2, 0.4, 0.25])
    y = 60 - 14 * (p2 <= 2) + 12 * (p2 == 4) + 5 * (s1 >= 3) + rng.normal(0, 13, n)
    q0 = np.clip(np.round(1 + y / 100 * 9), 1, 10)
    cols = {}
    for name, v in [("s1", s1), ("s2", s2), ("p1", p1), ("p2", p2), ("q0", q0)]:
        v = v.astype(object)
        u = rng.random(n)
        if name != "q0":
            v[u < 0.04] = 99
        v[(u >= 0.04) & (u < 0.07)] = None
        cols[name] = [cell(x) for x in v]
    path = ROOT / "tests/fixtures/kano_short/data.csv"
    write_csv(pd.DataFrame(cols), path)

    data = read_csv_exact(path)
    miss = [99]
    items = [Item("staff", "s1", 1, 4, miss), Item("hours", "s2", 1, 4, miss),
             Item("range", "p1", 1, 4, miss), Item("speed", "p2", 1, 4, miss, top_box=1)]
    out = penalty_reward(data, Item("overall", "q0", 1, 10, miss), items, 0.95)
    out["comment"] = COMMENT
    write_json(out, ROOT / "tests/goldens/driver_kano_short.json")
    return out


# --------------------------------------------------------------------- kano_weighted
def make_kano_weighted():
    rng = np.random.default_rng(20250402)
    n = 900
    w = np.round(rng.lognormal(0.0, 0.4, n), 4)
    five = lambda p: rng.choice([1, 2, 3, 4, 5], size=n, p=p)  # noqa: E731
    a1 = five([0.12, 0.18, 0.3, 0.25, 0.15])    # friendly: basic
    a2 = five([0.1, 0.15, 0.35, 0.25, 0.15])    # advice: excitement
    a3 = five([0.15, 0.25, 0.3, 0.18, 0.12])    # effort (lower is better): performance
    b1 = rng.choice(np.arange(1, 11), size=n, p=[.04, .05, .07, .08, .1, .13, .15, .14, .13, .11])
    b2 = five([0.15, 0.2, 0.3, 0.2, 0.15])      # app: no effect
    b3 = five([0.1, 0.2, 0.3, 0.25, 0.15])      # promo: unexpected sign
    b4 = five([0.01, 0.01, 0.38, 0.35, 0.25])   # callback: too few low
    b5 = rng.choice([1, 2, 3, 4], size=n, p=[0.2, 0.3, 0.3, 0.2])  # queue: no middle
    t6 = np.round(rng.gamma(2.0, 6.0, n), 1)    # minutes
    lo = lambda x, c: (x <= c).astype(float)  # noqa: E731
    y = (58 - 18 * lo(a1, 2) + 15 * (a2 >= 4) - 12 * (a3 >= 4) + 10 * lo(a3, 2)
         - 10 * lo(b1, 5) + 12 * (b1 >= 9) - 12 * (b3 >= 4) + 4 * (b4 >= 4)
         + rng.normal(0, 14, n))
    q0 = np.clip(np.round(1 + y / 100 * 9), 1, 10)
    cols = {"rid": [str(i + 1) for i in range(n)], "w": [f"{v:.4f}" for v in w]}
    for name, v, codes in [("a1", a1, [9, 0]), ("a2", a2, [9, 0]), ("a3", a3, [9, 0]), ("b1", b1, [99, 0]),
                           ("b2", b2, [9, 0]), ("b3", b3, [9, 0]), ("b4", b4, [9, 0]), ("b5", b5, [9, 0]),
                           ("q0", q0, [99, 0])]:
        v = v.astype(object)
        u = rng.random(n)
        v[u < 0.03] = codes[0]
        v[(u >= 0.03) & (u < 0.05)] = codes[1]
        v[(u >= 0.05) & (u < 0.07)] = None
        cols[name] = [cell(x) for x in v]
    t6 = t6.astype(object)
    t6[rng.random(n) < 0.05] = -1
    cols["t6"] = [f"{x:.1f}" if x != -1 else "-1" for x in t6]
    path = ROOT / "tests/fixtures/kano_weighted/data.csv"
    write_csv(pd.DataFrame(cols), path)

    data = read_csv_exact(path)
    m5, m10 = [9, 0], [99, 0]
    items = [Item("friendly", "a1", 1, 5, m5), Item("advice", "a2", 1, 5, m5),
             Item("effort", "a3", 1, 5, m5, lower_is_better=True), Item("billing", "b1", 1, 10, m10),
             Item("app", "b2", 1, 5, m5), Item("promo", "b3", 1, 5, m5), Item("callback", "b4", 1, 5, m5),
             Item("queue", "b5", 1, 4, m5)]
    out = penalty_reward(data, Item("overall", "q0", 1, 10, m10), items, 0.90, weight="w")
    out["comment"] = COMMENT + " `wait` (minutes) is not a rating scale and is left out."
    write_json(out, ROOT / "tests/goldens/driver_kano_weighted.json")
    return out


# --------------------------------------------------------------------- mini
def make_kano_mini():
    data = read_csv_exact(ROOT / "tests/fixtures/mini/data.csv")
    miss = [99, -99, 0]
    items = [Item("coverage", "q1", 1, 10, miss), Item("quality", "q2", 1, 10, miss),
             Item("accuracy", "q3", 1, 10, miss)]
    out = penalty_reward(data, Item("overall", "q0", 1, 10, miss), items, 0.95, weight="w")
    out["comment"] = COMMENT + " `wait` (minutes) is not a rating scale and is left out."
    write_json(out, ROOT / "tests/goldens/driver_kano_mini.json")
    return out


# --------------------------------------------------------------------- pairwise
def make_pairwise():
    rng = np.random.default_rng(20250403)
    rows = []

    def ten(v):
        return int(np.clip(np.round(v), 1, 10))

    for _ in range(50):  # reach and price only: strongly negative
        a = rng.normal(5.5, 2.0)
        rows.append((ten(a), ten(11 - a + rng.normal(0, 0.8)), None))
    for _ in range(40):  # reach and overall
        a = rng.normal(5.5, 2.0)
        rows.append((ten(a), None, ten(a + rng.normal(0, 0.8))))
    for _ in range(45):  # price and overall
        a = rng.normal(5.5, 2.0)
        rows.append((None, ten(a), ten(a + rng.normal(0, 0.8))))
    w = np.round(rng.lognormal(0.0, 0.3, len(rows)), 4)
    df = pd.DataFrame({"x1": [cell(r[0]) for r in rows], "x2": [cell(r[1]) for r in rows],
                       "q0": [cell(r[2]) for r in rows], "w": [f"{v:.4f}" for v in w]})
    path = ROOT / "tests/fixtures/pairwise_inconsistent/data.csv"
    write_csv(df, path)

    data = read_csv_exact(path)
    scores = {node: Item(node, col, 1, 10, [99]).clean(data).map(lambda x: (x - 1) / 9 * 100)
              for node, col in [("reach", "x1"), ("price", "x2"), ("overall", "q0")]}

    def corr(a, b):
        ok = scores[a].notna() & scores[b].notna()
        c = np.cov(scores[a][ok], scores[b][ok], aweights=data.loc[ok, "w"])
        return float(c[0, 1] / math.sqrt(c[0, 0] * c[1, 1])), int(ok.sum())

    (r12, n12), (r1y, n1y), (r2y, n2y) = corr("reach", "price"), corr("reach", "overall"), corr("price", "overall")
    full = np.array([[1, r12, r1y], [r12, 1, r2y], [r1y, r2y, 1]])
    r_xx, r_xy = full[:2, :2], full[:2, 2]
    full_eig, xx_eig = np.linalg.eigvalsh(full), np.linalg.eigvalsh(r_xx)
    r2 = float(r_xy @ np.linalg.solve(r_xx, r_xy))
    assert full_eig[0] < 0 < xx_eig[0] and r2 > 1, (full_eig, xx_eig, r2)
    write_json({"comment": "Weighted pairwise-complete correlations of the 0-100 scores (numpy "
                "weighted covariance over respondents with both), eigenvalues (numpy eigvalsh, "
                "ascending) of the full matrix [[R_xx, r_xy], [r_xy', 1]] and of R_xx, and "
                "r_xy' R_xx^-1 r_xy. Order: reach, price, overall. "
                "Written by tests/goldens/make_driver_goldens.py.",
                "correlations": {"reach:price": r12, "reach:overall": r1y, "price:overall": r2y},
                "bases": {"reach:price": n12, "reach:overall": n1y, "price:overall": n2y},
                "smallest_base": min(n12, n1y, n2y),
                "full_eigenvalues": [float(v) for v in full_eig],
                "predictor_eigenvalues": [float(v) for v in xx_eig],
                "r_squared_unchecked": r2}, ROOT / "tests/goldens/driver_pairwise.json")


if __name__ == "__main__":
    for name, out in [("kano_short", make_kano_short()), ("kano_weighted", make_kano_weighted()),
                      ("mini", make_kano_mini())]:
        print(name, out["used"], "of", out["respondents"])
        for node, r in out["indicators"].items():
            print("   ", node, r["status"], r.get("class", ""), r.get("penalty", ""), r.get("reward", ""))
    make_pairwise()
