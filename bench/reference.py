"""The csi index computed with pandas/numpy, as a like-for-like reference for the
benchmark: read each wave's CSV, turn missing codes into missing values, rescale
answers to 0-100 (reversed where lower is better), roll the tree up per respondent
(weighted mean over the answered children), then for every node and every cell
(all respondents and each segment group) the weighted mean, its linearised
standard error for sampling weights, the normal 95% interval and Kish's effective n.

It also accumulates, per cell, the weighted co-moment sums n, Σw, Σw·x, Σw·y,
Σw·x², Σw·y², Σw·x·y of the series pairs csi keeps (csi-engine's `cross_pairs`:
siblings with each other and with their parent, every series with the index and
with each overall item), so that it does the work csi does: as matrix products
over every pair of series (numpy's BLAS; the full square is cheaper that way than
picking the pairs), of which the pairs are then read. Sums are about 50, as csi's.

Usage: python3 bench/reference.py STUDY.yaml   (prints the pandas and numpy
versions, the index per wave, a co-moment checksum per wave, and the number of
node x cell figures computed)
       python3 bench/reference.py --version
"""
import math
import os
import sys
from pathlib import Path

# The co-moment products are thin (respondents × series, 68 series in the example
# study): OpenBLAS's threads make them slower, not faster (the whole run took
# about twice as long with two threads on the 2-core benchmark machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

Z = 1.959963984540054
SHIFT = 50.0


def versions():
    return f"versions: pandas {pd.__version__}, numpy {np.__version__}"


def cross_pairs(order, parents, overall):
    """csi-engine's `cross_pairs`, as positions in `order`."""
    at = {nid: i for i, nid in enumerate(order)}
    pairs = set()

    def add(a, b):
        if a != b:
            pairs.add((min(a, b), max(a, b)))

    for p, children in parents.items():
        ch = [at[c] for c, _ in children]
        for k, c in enumerate(ch):
            add(at[p], c)
            for d in ch[k + 1:]:
                add(c, d)
    for o in [at["__index__"]] + [at[o] for o in overall]:
        for i in range(len(order)):
            add(o, i)
    return np.array(sorted(pairs)).reshape(-1, 2)


def co_moments(x, w, cells, groups):
    """The co-moment sums of every pair of columns of `x` (respondents × series,
    NaN where missing) over the respondents who have both, per cell: n, Σw,
    Σw·dx (its transpose is Σw·dy), Σw·dx² (transposed: Σw·dy²) and Σw·dx·dy
    with d = x − 50, as matrices. Computed once per finest cell (the cross of
    the segments' groups, each respondent in the first group that matches, as
    in csi) with matrix products, then added up into the cells."""
    code = np.zeros(len(w), dtype=np.int64)
    stride = 1
    for names in groups:
        g = np.full(len(w), len(names))
        for k in reversed(range(len(names))):
            g[cells[names[k]]] = k
        code += g * stride
        stride *= len(names) + 1
    sums = {}
    rows = np.argsort(code, kind="stable")
    fine, starts = np.unique(code[rows], return_index=True)
    for c, part in zip(fine, np.split(rows, starts[1:])):
        xx, ww = x[part], w[part]
        v = (~np.isnan(xx)).astype(float)
        dv = np.nan_to_num(xx - SHIFT)
        wv, wd = v * ww[:, None], dv * ww[:, None]
        m = (v.T @ v, wv.T @ v, wd.T @ v, (wd * dv).T @ v, wd.T @ dv)
        member, rest = ["all"], int(c)
        for names in groups:
            g, rest = rest % (len(names) + 1), rest // (len(names) + 1)
            if g < len(names):
                member.append(names[g])
        for cell in member:
            sums[cell] = tuple(a + b for a, b in zip(sums[cell], m)) if cell in sums else m
    return sums


def main(path):
    path = Path(path)
    study = yaml.safe_load(path.read_text())
    default = study.get("scale", {})
    named = study.get("scales", {})

    def scale_of(node):
        s = dict(default)
        sc = node.get("scale")
        if isinstance(sc, str):
            s.update(named.get(sc, {}))
        elif isinstance(sc, dict):
            s.update(sc)
        return s

    leaves, parents, order = {}, {}, []

    def walk(node, parent):
        nid = str(node["id"])
        order.append(nid)
        if parent is not None:
            parents.setdefault(parent, []).append((nid, float(node.get("weight", 1.0))))
        if "children" in node:
            for c in node["children"]:
                walk(c, nid)
        else:
            leaves[nid] = (str(node["column"]), scale_of(node), node.get("direction") == "lower_is_better")

    root = {"id": "__index__", "children": study["tree"]}
    walk(root, None)
    for o in study.get("overall", []):
        leaves[str(o["id"])] = (str(o["column"]), scale_of(o), o.get("direction") == "lower_is_better")
        order.append(str(o["id"]))

    pairs = cross_pairs(order, parents, [str(o["id"]) for o in study.get("overall", [])])
    px, py = pairs[:, 0], pairs[:, 1]
    print(versions())
    figures = 0
    for wave in study["waves"]:
        cols = sorted({c for c, _, _ in leaves.values()} | {str(s["column"]) for s in study.get("segments", [])}
                      | ({str(wave["weight"])} if "weight" in wave else set()))
        d = pd.read_csv(path.parent / wave["data"], usecols=cols, dtype=str)
        w = d[str(wave["weight"])].astype(float).to_numpy() if "weight" in wave else np.ones(len(d))
        score = {}
        for nid, (col, sc, rev) in leaves.items():
            x = pd.to_numeric(d[col], errors="coerce")
            x = x.where(~x.isin(sc.get("missing", [])))
            lo, hi = float(sc["min"]), float(sc["max"])
            s = (x - lo) / (hi - lo) * 100
            score[nid] = (100 - s if rev else s).to_numpy()
        for nid in reversed(order):
            if nid in parents:
                num = sum(np.nan_to_num(score[c]) * wc for c, wc in parents[nid])
                den = sum((~np.isnan(score[c])) * wc for c, wc in parents[nid])
                with np.errstate(invalid="ignore", divide="ignore"):
                    score[nid] = np.where(den > 0, num / den, np.nan)
        cells = {"all": np.ones(len(d), dtype=bool)}
        groups = []  # per segment, its cells
        for s in study.get("segments", []):
            raw = d[str(s["column"])]
            groups.append([])
            if "values" in s:
                for code in s["values"]:
                    cells[f"{s['id']}={code}"] = (raw == str(code)).to_numpy()
                    groups[-1].append(f"{s['id']}={code}")
            else:
                x = pd.to_numeric(raw, errors="coerce").to_numpy()
                for k, b in enumerate(s["bands"]):
                    m = ~np.isnan(x)
                    if "min" in b:
                        m &= x >= b["min"]
                    if "max" in b:
                        m &= x <= b["max"]
                    cells[f"{s['id']}={k}"] = m
                    groups[-1].append(f"{s['id']}={k}")
        out = {}
        cross_sums = co_moments(np.column_stack([score[nid] for nid in order]), w, cells, groups)
        checksum = 0.0
        for cell, mask in cells.items():
            if cell in cross_sums:
                n_xy, sw_xy, swx_xy, swxx_xy, swxy_xy = cross_sums[cell]
                cross = {"n": n_xy[px, py], "sw": sw_xy[px, py], "swx": swx_xy[px, py], "swy": swx_xy[py, px],
                         "swxx": swxx_xy[px, py], "swyy": swxx_xy[py, px], "swxy": swxy_xy[px, py]}
                ok = cross["sw"] > 0
                sw = np.where(ok, cross["sw"], 1.0)
                sp = cross["swxy"] - cross["swx"] * cross["swy"] / sw  # Σw(x − x̄)(y − ȳ)
                checksum += float((sp / sw)[ok].sum())
            for nid in order:
                x = score[nid]
                ok = mask & ~np.isnan(x)
                n = int(ok.sum())
                if n < 2:
                    continue
                xw, ww = x[ok], w[ok]
                sw = ww.sum()
                mean = float((ww * xw).sum() / sw)
                se = math.sqrt(n / (n - 1) * float((ww**2 * (xw - mean) ** 2).sum())) / sw
                out[(cell, nid)] = (mean, se, mean - Z * se, mean + Z * se, sw**2 / float((ww**2).sum()))
                figures += 1
        print(f"wave {wave['id']}: index {out[('all', '__index__')][0]:.10f} ({len(d)} respondents)")
        print(f"cross {wave['id']}: {len(pairs)} pairs x {len(cells)} cells, covariance checksum {checksum:.10e}")
    print(f"figures: {figures}")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--version":
        print(versions())
    elif len(sys.argv) == 2:
        main(sys.argv[1])
    else:
        sys.exit(__doc__)
