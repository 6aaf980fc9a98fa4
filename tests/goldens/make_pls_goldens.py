"""Golden values for csi-stats' PLS path modelling (crates/csi-stats/src/pls.rs).

Writes tests/fixtures/pls/ecsi.csv, a synthetic study of the ECSI model (image,
expectation, quality, value, satisfaction, complaints, loyalty; answers on 1-10,
each respondent with a whole-number weight of 1, 2 or 3), and
tests/goldens/pls.json: the estimates of two independent implementations on it,
both run to a stop criterion of 1e-12:

- seminr (PyPI `seminr`, a port of the R package): path weighting and factorial
  schemes, every construct in mode A; path weighting with quality in mode B;
  path weighting on the sample with each respondent repeated as many times as
  its weight (the weighted estimate must equal it); Cronbach's alpha, rho_C,
  rho_A, AVE and HTMT;
- plspm (PyPI `plspm`, a port of the R package plspm): the centroid, factorial
  and path schemes, mode A;
- seminr's path-weighting estimate on each of csi's bootstrap resamples of the
  unweighted sample (csi's SplitMix64 draws, reproduced here, seed 12345, 30
  replicates; each respondent repeated as many times as it is drawn), summarised
  as csi does: standard error (n - 1) and 95 % percentile interval (numpy's
  linear quantile) of every path, R², outer weight and loading.

The script checks that the two agree where both apply, and computes the 0-100
construct indices (the ACSI formula: outer weights divided by each indicator's
standard deviation, normalised to sum to 1, applied to the means rescaled from
1-10) with numpy from seminr's weights. The Rust tests read only the outputs.

    python3 -m venv ~/.venvs/csi-pls
    ~/.venvs/csi-pls/bin/pip install -r tests/goldens/requirements-pls.txt
    ~/.venvs/csi-pls/bin/python tests/goldens/make_pls_goldens.py
"""

import json
import pathlib

import numpy as np
import pandas as pd
import seminr
import plspm.config as plsc
from plspm.mode import Mode
from plspm.plspm import Plspm
from plspm.scheme import Scheme

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "pls" / "ecsi.csv"
GOLDEN = ROOT / "tests" / "goldens" / "pls.json"

BLOCKS = {
    "IMAG": ["imag1", "imag2", "imag3", "imag4", "imag5"],
    "EXPE": ["expe1", "expe2", "expe3"],
    "QUAL": ["qual1", "qual2", "qual3", "qual4", "qual5"],
    "VAL": ["val1", "val2"],
    "SAT": ["sat1", "sat2", "sat3"],
    "COMP": ["comp1"],
    "LOY": ["loy1", "loy2", "loy3"],
}
PATHS = [
    ("IMAG", "EXPE"),
    ("IMAG", "SAT"),
    ("IMAG", "LOY"),
    ("EXPE", "QUAL"),
    ("EXPE", "VAL"),
    ("EXPE", "SAT"),
    ("QUAL", "VAL"),
    ("QUAL", "SAT"),
    ("VAL", "SAT"),
    ("SAT", "COMP"),
    ("SAT", "LOY"),
    ("COMP", "LOY"),
]
NAMES = list(BLOCKS)
ITEMS = [i for b in BLOCKS.values() for i in b]
STOP = 12


def make_data(n=400, seed=20261203):
    """Latent scores from the ECSI equations, then answers on 1-10 with noise."""
    rng = np.random.default_rng(seed)
    lv = {}
    lv["IMAG"] = rng.normal(size=n)
    lv["EXPE"] = 0.5 * lv["IMAG"] + rng.normal(scale=0.85, size=n)
    lv["QUAL"] = 0.6 * lv["EXPE"] + rng.normal(scale=0.8, size=n)
    lv["VAL"] = 0.2 * lv["EXPE"] + 0.5 * lv["QUAL"] + rng.normal(scale=0.8, size=n)
    lv["SAT"] = 0.2 * lv["IMAG"] + 0.1 * lv["EXPE"] + 0.4 * lv["QUAL"] + 0.25 * lv["VAL"] + rng.normal(scale=0.6, size=n)
    lv["COMP"] = -0.4 * lv["SAT"] + rng.normal(scale=0.9, size=n)
    lv["LOY"] = 0.15 * lv["IMAG"] + 0.5 * lv["SAT"] - 0.15 * lv["COMP"] + rng.normal(scale=0.7, size=n)
    cols = {}
    for name, items in BLOCKS.items():
        for k, item in enumerate(items):
            loading = 0.9 - 0.08 * k
            x = 6.5 + 1.6 * (loading * lv[name] + rng.normal(scale=np.sqrt(1 - loading**2), size=n))
            cols[item] = np.clip(np.rint(x), 1, 10).astype(int)
    df = pd.DataFrame(cols)
    df.insert(0, "weight", rng.integers(1, 4, size=n))
    return df


def seminr_estimate(data, scheme, mode_b=()):
    mm = seminr.constructs(
        *[
            seminr.composite(name, items, weights=seminr.regression_weights if name in mode_b else seminr.correlation_weights)
            for name, items in BLOCKS.items()
        ]
    )
    sm = seminr.relationships(*[seminr.paths(from_=a, to=b) for a, b in PATHS])
    return seminr.estimate_pls(
        data[ITEMS].astype(float), mm, sm, inner_weights=scheme, stop_criterion=STOP, max_it=1000
    )


def cell(matrix, row, col):
    return float(matrix.get(row, col))


def seminr_figures(model):
    weights = {n: [cell(model.outer_weights, i, n) for i in BLOCKS[n]] for n in NAMES}
    loadings = {n: [cell(model.outer_loadings, i, n) for i in BLOCKS[n]] for n in NAMES}
    paths = [cell(model.path_coef, a, b) for a, b in PATHS]
    endogenous = sorted({b for _, b in PATHS}, key=NAMES.index)
    r2 = {n: cell(model.r_squared, "Rsq", n) for n in endogenous}
    total = seminr.total_effects(model.path_coef)
    totals = {f"{a}->{b}": float(total.get(a, b)) for a in NAMES for b in NAMES}
    return {"outer_weights": weights, "loadings": loadings, "paths": paths, "r_squared": r2, "total_effects": totals}


def plspm_figures(data, scheme):
    """plspm's estimate, in seminr's conventions.

    The indicators are standardised here (sample standard deviation) and given to
    plspm unscaled: plspm-python's own `scaled=True` path gives loadings up to
    0.016 away from seminr and from R's plspm conventions on this data, while
    its unscaled path reproduces R plspm's published outputs. plspm reports
    outer weights for scores of variance (n-1)/n, so they are rescaled to scores
    of variance 1; and it turns a construct's score so that its loadings are
    positive without turning its weights, so such a construct's loadings and
    paths are turned back (seminr keeps the score the weights give).
    """
    x = data[ITEMS].astype(float)
    n = len(x)
    z = (x - x.mean()) / x.std(ddof=1)
    path = pd.DataFrame(0, index=NAMES, columns=NAMES)
    for a, b in PATHS:
        path.loc[b, a] = 1
    config = plsc.Config(path, scaled=False)
    for name, items in BLOCKS.items():
        config.add_lv(name, Mode.A, *[plsc.MV(i) for i in items])
    est = Plspm(z, config, scheme, iterations=1000, tolerance=1e-12)
    outer = est.outer_model()
    inner = est.inner_summary()
    coefs = est.path_coefficients()
    factor = np.sqrt((n - 1) / n)
    weights = {b: [float(outer.loc[i, "weight"]) * factor for i in BLOCKS[b]] for b in NAMES}
    loadings = {b: [float(outer.loc[i, "loading"]) for i in BLOCKS[b]] for b in NAMES}
    turned = {b: float(np.sign(np.dot(weights[b], loadings[b]))) for b in NAMES}
    return {
        "outer_weights": weights,
        "loadings": {b: [turned[b] * v for v in loadings[b]] for b in NAMES},
        "paths": [turned[a] * turned[b] * float(coefs.loc[b, a]) for a, b in PATHS],
        "r_squared": {b: float(inner.loc[b, "r_squared"]) for b in NAMES if inner.loc[b, "type"] == "Endogenous"},
    }


MASK = (1 << 64) - 1


def splitmix64(x):
    """csi's SplitMix64 output for counter x (crates/csi-stats/src/resample.rs)."""
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def resample_counts(n, seed, replicate):
    """How many times each of n respondents is drawn in csi's bootstrap replicate
    `replicate`: draw k picks respondent floor(splitmix64(seed + replicate*n + k) * n / 2^64)."""
    counts = [0] * n
    start = (seed + replicate * n) & MASK
    for k in range(n):
        counts[(splitmix64((start + k) & MASK) * n) >> 64] += 1
    return counts


def bootstrap_summary(values, confidence):
    """csi's bootstrap summary: standard deviation with n - 1 and the percentile
    interval by numpy's default (linear) quantile."""
    a = (1.0 - confidence) / 2.0
    values = np.asarray(values, dtype=float)
    low, high = np.quantile(values, [a, 1.0 - a])
    return {"se": float(np.std(values, ddof=1)), "low": float(low), "high": float(high)}


def bootstrap_seminr_path(data, seed=12345, replicates=30, confidence=0.95):
    """seminr's path-weighting estimate on csi's bootstrap resamples of the
    unweighted fixture (every respondent of weight 1): each replicate is the
    sample with each respondent repeated as many times as csi draws it."""
    n = len(data)
    figures, first_counts = [], []
    for b in range(replicates):
        counts = resample_counts(n, seed, b)
        assert sum(counts) == n
        if b < 2:
            first_counts.append(counts[:10])
        resample = data.loc[data.index.repeat(counts)].reset_index(drop=True)
        model = seminr_estimate(resample, seminr.path_weighting)
        if not model.weight_diff < 10.0**-STOP:
            raise RuntimeError(f"bootstrap replicate {b}: seminr did not converge ({model.iterations} iterations, change {model.weight_diff:.2e})")
        f = seminr_figures(model)
        values = [*f["paths"], *f["r_squared"].values()]
        values += [v for key in ("outer_weights", "loadings") for c in NAMES for v in f[key][c]]
        if not np.all(np.isfinite(values)):
            raise RuntimeError(f"bootstrap replicate {b}: seminr gave a figure that is not finite")
        figures.append(f)

    def summary(values):
        return bootstrap_summary(values, confidence)

    def columns(rows):
        cols = [summary(v) for v in zip(*rows)]
        return {k: [c[k] for c in cols] for k in ("se", "low", "high")}

    endogenous = list(figures[0]["r_squared"])
    return {
        "seed": seed,
        "replicates": replicates,
        "confidence": confidence,
        "first_counts": first_counts,
        "paths": columns([f["paths"] for f in figures]),
        "r_squared": {c: summary([f["r_squared"][c] for f in figures]) for c in endogenous},
        "outer_weights": {c: columns([f["outer_weights"][c] for f in figures]) for c in NAMES},
        "loadings": {c: columns([f["loadings"][c] for f in figures]) for c in NAMES},
    }


def biggest_difference(a, b):
    out = 0.0
    for key in ("outer_weights", "loadings"):
        for n in NAMES:
            out = max(out, max(abs(x - y) for x, y in zip(a[key][n], b[key][n])))
    out = max(out, max(abs(x - y) for x, y in zip(a["paths"], b["paths"])))
    return out


def main():
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    data = make_data()
    data.to_csv(FIXTURE, index=False)
    data = pd.read_csv(FIXTURE)
    golden = {"blocks": BLOCKS, "paths": PATHS, "stop_criterion": f"1e-{STOP}"}

    base = seminr_estimate(data, seminr.path_weighting)
    golden["seminr_path"] = seminr_figures(base)
    golden["seminr_factorial"] = seminr_figures(seminr_estimate(data, seminr.path_factorial))
    golden["seminr_path_qual_mode_b"] = seminr_figures(seminr_estimate(data, seminr.path_weighting, mode_b=("QUAL",)))
    repeated = data.loc[data.index.repeat(data["weight"])].reset_index(drop=True)
    golden["seminr_path_weighted_by_repetition"] = seminr_figures(seminr_estimate(repeated, seminr.path_weighting))

    alpha = seminr.cronbachs_alpha(base)
    rho_a = seminr.rho_A(base)
    rho_c_ave = seminr.rhoC_AVE(base)
    golden["reliability"] = {
        n: {
            "alpha": float(alpha.get(n, "alpha")) if len(BLOCKS[n]) > 1 else None,
            "rho_c": float(rho_c_ave.get(n, "rhoC")),
            "ave": float(rho_c_ave.get(n, "AVE")),
            "rho_a": float(rho_a.get(n, "rhoA")) if len(BLOCKS[n]) > 1 else None,
        }
        for n in NAMES
    }
    h = seminr.htmt(base)
    golden["htmt"] = {f"{a}-{b}": float(h.get(a, b)) for i, a in enumerate(NAMES) for b in NAMES[i + 1 :]}

    for name, scheme in (("centroid", Scheme.CENTROID), ("factorial", Scheme.FACTORIAL), ("path", Scheme.PATH)):
        golden[f"plspm_{name}"] = plspm_figures(data, scheme)
    # The two implementations agree where both apply.
    for scheme in ("path", "factorial"):
        d = biggest_difference(golden[f"seminr_{scheme}"], golden[f"plspm_{scheme}"])
        print(f"{scheme}: seminr and plspm differ by at most {d:.2e}")
        assert d < 1e-9, scheme

    # The ACSI index of each construct from seminr's path-weighting weights.
    x = data[ITEMS].astype(float)
    means, sds = x.mean(), x.std(ddof=1)
    index = {}
    for n in NAMES:
        w = np.array(golden["seminr_path"]["outer_weights"][n]) / sds[BLOCKS[n]].to_numpy()
        w = w / w.sum()
        index[n] = float(np.dot(w, (means[BLOCKS[n]].to_numpy() - 1) / 9 * 100))
    golden["index_seminr_path"] = index
    # csi's bootstrap draws (seed 12345, 30 replicates), estimated by seminr.
    golden["bootstrap_seminr_path"] = bootstrap_seminr_path(data)
    golden["versions"] = {"seminr": seminr.__version__ if hasattr(seminr, "__version__") else "0.2.1", "numpy": np.__version__, "pandas": pd.__version__}
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {FIXTURE.relative_to(ROOT)} and {GOLDEN.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
