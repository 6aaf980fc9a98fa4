"""The csi index computed with pandas/numpy, as a like-for-like reference for the
benchmark: read each wave's CSV, turn missing codes into missing values, rescale
answers to 0-100 (reversed where lower is better), roll the tree up per respondent
(weighted mean over the answered children), then for every node and every cell
(all respondents and each segment group) the weighted mean, its linearised
standard error for sampling weights, the normal 95% interval and Kish's effective n.

Usage: python3 bench/reference.py STUDY.yaml   (prints the index per wave, and
the number of node x cell figures computed)
"""
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

Z = 1.959963984540054


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
        for s in study.get("segments", []):
            raw = d[str(s["column"])]
            if "values" in s:
                for code in s["values"]:
                    cells[f"{s['id']}={code}"] = (raw == str(code)).to_numpy()
            else:
                x = pd.to_numeric(raw, errors="coerce").to_numpy()
                for k, b in enumerate(s["bands"]):
                    m = ~np.isnan(x)
                    if "min" in b:
                        m &= x >= b["min"]
                    if "max" in b:
                        m &= x <= b["max"]
                    cells[f"{s['id']}={k}"] = m
        out = {}
        for cell, mask in cells.items():
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
    print(f"figures: {figures}")


if __name__ == "__main__":
    main(sys.argv[1])
