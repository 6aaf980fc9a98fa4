"""Goldens for csi-stats' sample_size module (csi sample-size).

Writes tests/goldens/sample_size.json:
  * margins of error of a share from statsmodels' normal-approximation confidence
    interval (proportion_confint, method="normal": half its width), of a mean score
    from scipy's normal quantile, each times the finite population correction
    sqrt((N - n)/(N - 1)) when a population is given;
  * required bases from statsmodels' samplesize_confint_proportion (shares) and
    (z s / e)^2 (scores), corrected n0 / (1 + (n0 - 1)/N), rounded up;
  * the same under a design effect deff (entries with a "deff" key): the margin at
    base n is statsmodels' normal interval at the effective base n/deff (scipy's
    quantile for scores), times the correction sqrt((N - n)/(N - 1)) at the actual
    base; the base needed is n0 * deff, then corrected for the population.

Run from the repository root:
    pip install -r tests/goldens/requirements.txt && python3 tests/goldens/make_sample_size_goldens.py
"""
import json
import math
from pathlib import Path

from scipy import stats
from statsmodels.stats.proportion import proportion_confint, samplesize_confint_proportion

ROOT = Path(__file__).resolve().parents[2]


def fpc(n, population):
    return 1.0 if population is None else math.sqrt((population - n) / (population - 1))


def main():
    margins = []
    for n in [30, 100, 400, 1000, 3106]:
        for conf in [0.90, 0.95, 0.99]:
            for population in [None, 5000, 200000]:
                for p in [0.5, 0.2]:
                    lo, hi = proportion_confint(p * n, n, alpha=1 - conf, method="normal")
                    margins.append({"n": n, "confidence": conf, "population": population, "share": p,
                                    "margin": (hi - lo) / 2 * fpc(n, population)})
                for sd in [20.0]:
                    z = stats.norm.ppf(0.5 + conf / 2)
                    margins.append({"n": n, "confidence": conf, "population": population, "sd": sd,
                                    "margin": z * sd / math.sqrt(n) * fpc(n, population)})
    for n in [100, 400, 1500]:
        for conf in [0.90, 0.95]:
            for population in [None, 5000]:
                for deff in [1.0, 1.3, 2.5]:
                    n_eff = n / deff
                    lo, hi = proportion_confint(0.3 * n_eff, n_eff, alpha=1 - conf, method="normal")
                    margins.append({"n": n, "confidence": conf, "population": population, "share": 0.3,
                                    "deff": deff, "margin": (hi - lo) / 2 * fpc(n, population)})
                    z = stats.norm.ppf(0.5 + conf / 2)
                    margins.append({"n": n, "confidence": conf, "population": population, "sd": 20.0,
                                    "deff": deff, "margin": z * 20.0 / math.sqrt(n_eff) * fpc(n, population)})
    bases = []
    for margin in [0.01, 0.03, 0.05]:
        for conf in [0.90, 0.95, 0.99]:
            for population in [None, 1000, 50000]:
                n0 = samplesize_confint_proportion(0.5, margin, alpha=1 - conf, method="normal")
                n = n0 if population is None else n0 / (1 + (n0 - 1) / population)
                bases.append({"margin": margin, "confidence": conf, "population": population, "share": 0.5,
                              "base": math.ceil(n - 1e-9)})
    for margin in [1.0, 2.0]:
        for population in [None, 2000]:
            z = stats.norm.ppf(0.975)
            n0 = (z * 20.0 / margin) ** 2
            n = n0 if population is None else n0 / (1 + (n0 - 1) / population)
            bases.append({"margin": margin, "confidence": 0.95, "population": population, "sd": 20.0,
                          "base": math.ceil(n - 1e-9)})
    for margin in [0.03, 0.05]:
        for conf in [0.90, 0.95]:
            for population in [None, 1000, 50000]:
                for deff in [1.0, 1.5, 2.0, 3.7]:
                    n0 = samplesize_confint_proportion(0.5, margin, alpha=1 - conf, method="normal") * deff
                    n = n0 if population is None else n0 / (1 + (n0 - 1) / population)
                    bases.append({"margin": margin, "confidence": conf, "population": population, "share": 0.5,
                                  "deff": deff, "base": math.ceil(n - 1e-9)})
    for deff in [1.25, 2.0]:
        for population in [None, 2000]:
            z = stats.norm.ppf(0.975)
            n0 = (z * 20.0 / 1.5) ** 2 * deff
            n = n0 if population is None else n0 / (1 + (n0 - 1) / population)
            bases.append({"margin": 1.5, "confidence": 0.95, "population": population, "sd": 20.0,
                          "deff": deff, "base": math.ceil(n - 1e-9)})
    json.dump({"comment": "see tests/goldens/make_sample_size_goldens.py", "margins": margins, "bases": bases},
              open(ROOT / "tests/goldens/sample_size.json", "w"), indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
