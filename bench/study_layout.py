"""The study's series as csi-engine flattens them (the index, the tree in
pre-order, then the overall items) and the series pairs whose co-moments csi
accumulates (`cross_pairs` in crates/csi-engine/src/lib.rs), shared by the
polars reference and the floor loop. Needs PyYAML only.

Usage: python3 bench/study_layout.py STUDY.yaml
    prints the floor loop's arguments for the study, one per line: the weight
    column, the segments with their groups, every indicator and overall item
    with its scale, the number of pairs (as many as csi's), then the waves' data
    files. bench/run.sh passes them to bench/floor.
"""
import sys
from pathlib import Path

import yaml


def load(path):
    """The study's series in csi's order (index, tree in pre-order, overall
    items) with, per series, its parent, children, sibling weight and, for
    leaves, (column, min, max, missing codes, reversed)."""
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

    series = []  # dicts: id, parent, children, weight, leaf, kind

    def walk(node, parent, depth):
        me = len(series)
        series.append({"id": str(node["id"]), "parent": parent, "children": [], "depth": depth,
                       "weight": float(node.get("weight", 1.0)), "leaf": None,
                       "kind": "index" if parent is None else "node"})
        if parent is not None:
            series[parent]["children"].append(me)
        if "children" in node:
            for c in node["children"]:
                walk(c, me, depth + 1)
        else:
            sc = scale_of(node)
            series[me]["leaf"] = (str(node["column"]), float(sc["min"]), float(sc["max"]),
                                  [float(m) for m in sc.get("missing", [])],
                                  node.get("direction") == "lower_is_better")

    walk({"id": "__index__", "children": study["tree"]}, None, 0)
    for o in study.get("overall", []):
        sc = scale_of(o)
        series.append({"id": str(o["id"]), "parent": None, "children": [], "depth": 0, "weight": 1.0,
                       "kind": "overall",
                       "leaf": (str(o["column"]), float(sc["min"]), float(sc["max"]),
                                [float(m) for m in sc.get("missing", [])],
                                o.get("direction") == "lower_is_better")})
    return study, series


def cross_pairs(series):
    """csi-engine's `cross_pairs`: siblings with each other and with their
    parent, and every series with the index and with each overall item, as
    sorted (i, j) positions with i < j."""
    pairs = set()

    def add(a, b):
        if a != b:
            pairs.add((min(a, b), max(a, b)))

    for p, node in enumerate(series):
        ch = node["children"]
        for k, c in enumerate(ch):
            add(p, c)
            for d in ch[k + 1:]:
                add(c, d)
    outcomes = [i for i, s in enumerate(series) if s["kind"] in ("index", "overall")]
    for o in outcomes:
        for i in range(len(series)):
            add(o, i)
    return sorted(pairs)


def fmt(x):
    return f"{x:g}"


def floor_args(path):
    path = Path(path)
    study, series = load(path)
    args = []
    weights = {str(w["weight"]) for w in study["waves"] if "weight" in w}
    if len(weights) > 1:
        sys.exit(f"the floor loop takes one weight column; the waves use {sorted(weights)}")
    if weights:
        args += ["--weight", weights.pop()]
    for s in study.get("segments", []):
        if "values" in s:
            try:
                groups = [fmt(float(c)) for c in s["values"]]
            except ValueError:
                sys.exit(f"segment {s['id']}: the floor loop takes numeric codes only")
        else:
            groups = [(fmt(b["min"]) if "min" in b else "") + ".." + (fmt(b["max"]) if "max" in b else "")
                      for b in s["bands"]]
        args += ["--segment", f"{s['column']}=" + ",".join(groups)]
    # Overall items first (the floor prints the first item's mean), then the indicators.
    leaves = [s for s in series if s["kind"] == "overall"] + [s for s in series if s["kind"] != "overall" and s["leaf"]]
    for s in leaves:
        col, lo, hi, _missing, rev = s["leaf"]
        args += ["--item", f"{col}={fmt(lo)}..{fmt(hi)}" + (",rev" if rev else "")]
    args += ["--pairs", str(len(cross_pairs(series)))]
    args += [str(path.parent / w["data"]) for w in study["waves"]]
    return args


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print("\n".join(floor_args(sys.argv[1])))
