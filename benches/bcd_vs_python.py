"""Lasso, side by side: scikit-learn's Lasso and skglm's Lasso on the svmlight file `solvent bcd`
solved, each timed to a duality gap of 1e-6 (the gap computed here, the same way for every
solver: P(w) − D(s·r) with r = y − Xw scaled into the dual feasible set).

Usage: python bcd_vs_python.py DATA.svm N_FEATURES RATIO SOLVENT_REPORT.json [SOLVENT_REPORT.json …]
(λ = RATIO·λ_max)
"""
import json
import sys
import time

import numpy as np
from sklearn.datasets import load_svmlight_file
from sklearn.linear_model import Lasso as SkLasso

TARGET = 1e-6


def gap(X, y, w, lam):
    n = X.shape[0]
    r = y - X @ w
    primal = r @ r / (2 * n) + lam * np.abs(w).sum()
    m = np.abs(X.T @ r).max()
    s = min(1.0, n * lam / m) if m > 0 else 1.0
    nu = s * r
    dual = (y @ y - (y - nu) @ (y - nu)) / (2 * n)
    return primal - dual


def time_to_gap(name, fit, tols):
    """Runs `fit(tol)` for decreasing tolerances; returns the first run whose gap ≤ TARGET."""
    for tol in tols:
        t = time.perf_counter()
        w = fit(tol)
        secs = time.perf_counter() - t
        g = gap(X, y, w, lam)
        print(f"  {name}: tol {tol:.0e} -> gap {g:.3e} in {secs:.3f} s", file=sys.stderr)
        if g <= TARGET:
            return secs, g, tol, int((w != 0).sum())
    return float("nan"), g, tol, int((w != 0).sum())


path, p, ratio, reports = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
X, y = load_svmlight_file(path, n_features=p)
X = X.tocsc()
n = X.shape[0]
lam_max = np.abs(X.T @ y).max() / n
lam = ratio * lam_max
print(f"data: {n} × {p}, {X.nnz} non-zeros; λ = {ratio}·λ_max = {lam:.6e}", file=sys.stderr)

rows = []
solvent = [json.load(open(r)) for r in reports]
secs = sorted(r["report"]["elapsed_s"] for r in solvent)
s0 = solvent[0]
rows.append(("solvent bcd (gs-q, matrix, τ=50, active set)", secs[len(secs) // 2], s0["report"]["metrics"]["value"],
             "gap 1e-6", s0["nonzeros"]))
print(f"  solvent λ = {s0['details']['lambda']:.6e}", file=sys.stderr)

yy = y @ y
sk_tols = [TARGET * n / yy / 10**k for k in range(0, 8)]


def sk_fit(tol):
    m = SkLasso(alpha=lam, fit_intercept=False, tol=tol, max_iter=1_000_000, selection="cyclic")
    m.fit(X, y)
    return m.coef_


s, g, tol, nz = time_to_gap("scikit-learn", sk_fit, sk_tols)
rows.append((f"scikit-learn Lasso (tol {tol:.1e})", s, g, "", nz))

try:
    from skglm import Lasso as SkglmLasso

    def skglm_fit(tol):
        m = SkglmLasso(alpha=lam, fit_intercept=False, tol=tol, max_iter=1000)
        m.fit(X, y)
        return m.coef_

    # numba compiles on the first fit: warm up on a slice, untimed
    SkglmLasso(alpha=lam, fit_intercept=False).fit(X[:200], y[:200])
    s, g, tol, nz = time_to_gap("skglm", skglm_fit, [1e-4 / 10**k for k in range(0, 10)])
    rows.append((f"skglm Lasso (tol {tol:.0e})", s, g, "", nz))
except ImportError:
    print("skglm not installed", file=sys.stderr)

print("| solver | seconds to gap ≤ 1e-6 | gap reached | non-zeros |")
print("|---|---|---|---|")
for name, s, g, _, nz in rows:
    print(f"| {name} | {s:.3f} | {g:.2e} | {nz} |")
