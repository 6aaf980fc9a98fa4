"""The csi index computed with polars, as a like-for-like reference for the
benchmark, written the way polars is meant to be fast: one lazy scan per wave
(`pl.scan_csv`, or `pl.scan_parquet` for .parquet data), the whole per-respondent
computation as expressions, and ONE `group_by` over the finest cell (the cross of
every segment's group) holding every weighted sum, collected with the streaming
engine. The margins (all respondents, each segment group) are then sums of those
few finest-cell rows, in numpy.

It computes what bench/reference.py (pandas) computes: missing codes → missing,
answers rescaled to 0-100 (reversed where lower is better), the tree rolled up
per respondent (weighted mean over the answered children, weights renormalised),
then for every node × cell the weighted mean, its linearised standard error, the
normal 95% interval and Kish's effective n. It also accumulates, per cell, the
weighted co-moment sums Σw, Σw·x, Σw·y, Σw·x², Σw·y², Σw·x·y of the same series
pairs as csi-engine's `cross_pairs` (siblings with each other and with their
parent, every series with the index and with each overall item), because csi
accumulates those too. Sums are taken about 50 (x − 50), as csi does, so that
the variances do not lose digits.

Usage: python3 bench/polars_reference.py STUDY.yaml      (prints the polars
version, the index per wave, a co-moment checksum per wave and the number of
node × cell figures, in bench/reference.py's line format)
       python3 bench/polars_reference.py --version
"""
import math
import sys
from pathlib import Path

import numpy as np
import polars as pl

from study_layout import cross_pairs, load

Z = 1.959963984540054
SHIFT = 50.0


def versions():
    return f"versions: polars {pl.__version__}, numpy {np.__version__}"


def numeric_codes(codes):
    try:
        return [float(c) for c in codes]
    except (TypeError, ValueError):
        return None


def scan(path, wave, study, series):
    """The lazy per-respondent frame: the segment keys k0.. (each segment's group,
    null for none), the weight w and, for every series, d0.. = its 0-100 score
    minus the shift (null when missing)."""
    leaves = [s["leaf"] for s in series if s["leaf"]]
    segments = study.get("segments", [])
    types = {}
    for col, *_ in leaves:
        types[col] = pl.Float64
    for s in segments:
        col = str(s["column"])
        if "values" in s and numeric_codes(s["values"]) is None:
            types[col] = pl.String
        else:
            types.setdefault(col, pl.Float64)
    if "weight" in wave:
        types[str(wave["weight"])] = pl.Float64
    data = path.parent / wave["data"]
    if data.suffix == ".parquet":
        lf = pl.scan_parquet(data).select([pl.col(c).cast(t) for c, t in types.items()])
    else:
        # Only the used columns are read; every other one stays a string.
        lf = pl.scan_csv(data, schema_overrides=types, infer_schema=False).select(list(types))

    # Leaves: missing codes → null, rescaled to 0-100, reversed if lower is better.
    first = []
    for i, s in enumerate(series):
        if s["leaf"]:
            col, lo, hi, missing, rev = s["leaf"]
            x = pl.col(col)
            x = pl.when(~x.is_in(missing)).then(x) if missing else x
            v = (hi - x) / (hi - lo) * 100 if rev else (x - lo) / (hi - lo) * 100
            first.append(v.alias(f"s{i}"))
    keys = []
    for k, s in enumerate(segments):
        col = pl.col(str(s["column"]))
        if "values" in s:
            codes = numeric_codes(s["values"])
            codes = codes if codes is not None else [str(c) for c in s["values"]]
            conds = [col == c for c in codes]
        else:
            conds = []
            for b in s["bands"]:
                c = col.is_not_null()
                if "min" in b:
                    c &= col >= float(b["min"])
                if "max" in b:
                    c &= col <= float(b["max"])
                conds.append(c)
        # The first matching group, as csi does; null when none.
        e = pl.when(conds[0]).then(pl.lit(0, pl.Int8))
        for g, c in enumerate(conds[1:], 1):
            e = e.when(c).then(pl.lit(g, pl.Int8))
        keys.append(e.alias(f"k{k}"))
        first.append(keys[-1])
    w = pl.col(str(wave["weight"])) if "weight" in wave else pl.lit(1.0, pl.Float64)
    first.append(w.alias("w"))
    lf = lf.select(first)

    # Categories, deepest first: weighted mean over the children that have a score.
    depth = max(s["depth"] for s in series)
    for level in range(depth, -1, -1):
        exprs = []
        for i, s in enumerate(series):
            if s["depth"] == level and s["children"]:
                num = pl.sum_horizontal([pl.col(f"s{c}").fill_null(0) * series[c]["weight"]
                                         for c in s["children"]])
                den = pl.sum_horizontal([pl.col(f"s{c}").is_not_null().cast(pl.Float64) * series[c]["weight"]
                                         for c in s["children"]])
                exprs.append(pl.when(den > 0).then(num / den).alias(f"s{i}"))
        if exprs:
            lf = lf.with_columns(exprs)
    # Scores about the shift, from here on.
    return lf.select([pl.col(f"k{k}") for k in range(len(segments))] + [pl.col("w")]
                     + [(pl.col(f"s{i}") - SHIFT).alias(f"d{i}") for i in range(len(series))])


MOMENTS = ("n", "sw", "sw2", "swd", "sw2d", "sw2d2")
CROSS = ("n", "sw", "swx", "swy", "swxx", "swyy", "swxy")


def aggregations(series, pairs):
    w = pl.col("w")
    aggs = [pl.len().alias("rows")]
    for i in range(len(series)):
        d = pl.col(f"d{i}")
        wi = pl.when(d.is_not_null()).then(w)  # null where the score is missing
        aggs += [d.count().alias(f"n_{i}"), wi.sum().alias(f"sw_{i}"), (wi * wi).sum().alias(f"sw2_{i}"),
                 (w * d).sum().alias(f"swd_{i}"), (w * w * d).sum().alias(f"sw2d_{i}"),
                 (w * w * d * d).sum().alias(f"sw2d2_{i}")]
    for k, (x, y) in enumerate(pairs):
        dx, dy = pl.col(f"d{x}"), pl.col(f"d{y}")
        wb = pl.when(dx.is_not_null() & dy.is_not_null()).then(w)  # null unless both
        wdx = wb * dx
        aggs += [wb.count().alias(f"cn_{k}"), wb.sum().alias(f"csw_{k}"), wdx.sum().alias(f"cswx_{k}"),
                 (wb * dy).sum().alias(f"cswy_{k}"), (wdx * dx).sum().alias(f"cswxx_{k}"),
                 (wb * dy * dy).sum().alias(f"cswyy_{k}"), (wdx * dy).sum().alias(f"cswxy_{k}")]
    return aggs


def collect(lf):
    version = tuple(int(p) for p in pl.__version__.split(".")[:2])
    if version >= (1, 23):
        return lf.collect(engine="streaming")
    return lf.collect(streaming=True)  # the older streaming engine


def main(path):
    path = Path(path)
    study, series = load(path)
    pairs = cross_pairs(series)
    segments = study.get("segments", [])
    aggs = aggregations(series, pairs)
    ns, npairs = len(series), len(pairs)
    print(versions())
    keys = [f"k{k}" for k in range(len(segments))]
    figures = 0
    for wave in study["waves"]:
        # One scan of the wave and one group_by over the finest cell (a single
        # query over all waves with the wave as a key is no faster, and holds
        # more memory).
        lf = scan(path, wave, study, series)
        fine = collect(lf.group_by(keys).agg(aggs) if keys else lf.select(aggs))
        # Finest cells → margins, in numpy: every cell is a sum of finest rows.
        key = fine.select(keys).to_numpy() if keys else np.zeros((fine.height, 0))
        mom = {m: fine.select([f"{m}_{i}" for i in range(ns)]).to_numpy().astype(float) for m in MOMENTS}
        cro = {m: fine.select([f"c{m}_{k}" for k in range(npairs)]).to_numpy().astype(float) for m in CROSS}
        cells = {"all": np.ones(fine.height, dtype=bool)}
        for k, s in enumerate(segments):
            col = key[:, k]
            groups = [str(c) for c in s["values"]] if "values" in s else [str(g) for g in range(len(s["bands"]))]
            for g, label in enumerate(groups):
                cells[f"{s['id']}={label}"] = col == g
        out = {}
        checksum = 0.0
        for cell, rows in cells.items():
            m = {k: np.nan_to_num(v[rows]).sum(axis=0) for k, v in mom.items()}
            for i, s in enumerate(series):
                n = int(m["n"][i])
                if n < 2:
                    continue
                sw, sw2 = m["sw"][i], m["sw2"][i]
                dm = m["swd"][i] / sw  # mean − shift
                mean = SHIFT + dm
                ss = m["sw2d2"][i] - 2 * dm * m["sw2d"][i] + dm * dm * sw2  # Σw²(x − mean)²
                se = math.sqrt(n / (n - 1) * max(ss, 0.0)) / sw
                out[(cell, s["id"])] = (mean, se, mean - Z * se, mean + Z * se, sw * sw / sw2)
                figures += 1
            c = {k: np.nan_to_num(v[rows]).sum(axis=0) for k, v in cro.items()}
            ok = c["sw"] > 0
            sw = np.where(ok, c["sw"], 1.0)
            sp = c["swxy"] - c["swx"] * c["swy"] / sw  # Σw(x − x̄)(y − ȳ)
            checksum += float((sp / sw)[ok].sum())
        rows = int(fine["rows"].sum())
        print(f"wave {wave['id']}: index {out[('all', '__index__')][0]:.10f} ({rows} respondents)")
        print(f"cross {wave['id']}: {npairs} pairs x {len(cells)} cells, covariance checksum {checksum:.10e}")
    print(f"figures: {figures}")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--version":
        print(versions())
    elif len(sys.argv) == 2:
        main(sys.argv[1])
    else:
        sys.exit(__doc__)
