"""The Python package measured side by side, in one run:

1. the call overhead of ``solvent.solve`` over the library call it wraps, on a small
   system (n = 100): the Python call's wall time minus the library call's (``call_s``,
   timed inside the extension around ``solve_system``), and against SciPy's
   ``spsolve`` on the same system for scale;
2. ``solvent.datagen`` against the CLI doing the same job (``solvent datagen``, as a
   process writing the same npz), interleaved;
3. ``solvent.Lasso().fit`` against scikit-learn's ``Lasso`` and skglm's ``Lasso`` on a
   sparse 10⁴ × 10⁵ problem, each to the same duality gap (computed here, the same way
   for all three, from the returned coefficients).

Run with ``benches/python/run.sh`` (builds and installs what it needs); options:
``--quick`` for smaller sizes, ``--skip-lasso``, ``--repeat N``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import solvent


def overhead(repeat: int) -> None:
    n = 100
    A = sp.diags([-1.0, 2.5, -1.0], [-1, 0, 1], shape=(n, n), format="csr")
    b = np.ones(n)
    import sklearn.linear_model  # noqa: F401  (imported here so its import is not timed below)

    for method in ("direct", "cg"):
        # warm up
        for _ in range(200):
            solvent.solve(A, b, method=method, precond="none", trace=False)
        walls, calls = [], []
        for _ in range(repeat * 1000):
            t = time.perf_counter()
            _, info = solvent.solve(A, b, method=method, precond="none", trace=False)
            walls.append(time.perf_counter() - t)
            calls.append(info.call_time)
        walls, calls = np.array(walls), np.array(calls)
        over = walls - calls
        sp_t = []
        for _ in range(repeat * 1000):
            t = time.perf_counter()
            spla.spsolve(A, b)
            sp_t.append(time.perf_counter() - t)
        print(f"| solve n=100 {method} | {np.median(walls) * 1e6:.1f} | {np.median(calls) * 1e6:.1f} | "
              f"{np.median(over) * 1e6:.1f} | {np.percentile(over, 90) * 1e6:.1f} | {np.median(sp_t) * 1e6:.1f} |")


def datagen_vs_cli(binary: str, repeat: int, quick: bool) -> None:
    jobs = [("darcy", 64, 100), ("helmholtz", 48, 50)] if not quick else [("darcy", 32, 20)]
    for family, grid, count in jobs:
        py_t, cli_t = [], []
        with tempfile.TemporaryDirectory() as d:
            for r in range(repeat):
                for who in (("py", "cli") if r % 2 == 0 else ("cli", "py")):
                    out = os.path.join(d, f"{who}{r}.npz")
                    t = time.perf_counter()
                    if who == "py":
                        solvent.datagen(family, grid=grid, count=count, out=out)
                        py_t.append(time.perf_counter() - t)
                    else:
                        subprocess.run([binary, "datagen", family, "--grid", str(grid), "--count", str(count),
                                        "--out", out, "--quiet"], check=True)
                        cli_t.append(time.perf_counter() - t)
        p, c = np.median(py_t), np.median(cli_t)
        print(f"| datagen {family} grid {grid} count {count} | {p:.3f} | {c:.3f} | {p / c:.3f} |")


def lasso_gap(X, y, w, alpha):
    """Duality gap of (1/2n)‖y − Xw‖² + α‖w‖₁ at w, with the usual rescaled dual point."""
    n = X.shape[0]
    r = y - X @ w
    primal = r @ r / (2 * n) + alpha * np.abs(w).sum()
    theta = r / max(n * alpha, np.abs(X.T @ r).max())
    dual = (y @ y - np.sum((y - n * alpha * theta) ** 2)) / (2 * n)
    return primal - dual


def lasso(quick: bool) -> None:
    from sklearn.linear_model import Lasso as SkLasso

    try:
        from skglm import Lasso as SkglmLasso
    except ImportError:
        SkglmLasso = None
    n, p = (2000, 20000) if quick else (10_000, 100_000)
    rng = np.random.default_rng(0)
    X = sp.random(n, p, density=1e-3, format="csc", random_state=rng, data_rvs=rng.standard_normal)
    w = np.zeros(p)
    support = rng.choice(p, 100, replace=False)
    w[support] = rng.standard_normal(100)
    y = X @ w + 0.1 * rng.standard_normal(n)
    alpha_max = np.abs(X.T @ y).max() / n
    scale = y @ y / (2 * n)
    print(f"X: {n} × {p}, {X.nnz} non-zeros; target: duality gap ≤ 1e-6 · ‖y‖²/(2n) = {1e-6 * scale:.3e}")
    # warm up (skglm compiles its kernels with numba on first use; not timed)
    Xw, yw = X[:200, :500], y[:200]
    solvent.Lasso(alpha=0.1, fit_intercept=False).fit(Xw, yw)
    SkLasso(alpha=0.1, fit_intercept=False).fit(Xw, yw)
    if SkglmLasso is not None:
        SkglmLasso(alpha=0.1, fit_intercept=False).fit(Xw, yw)
    for frac in (0.1, 0.01):
        alpha = frac * alpha_max
        target = 1e-6 * scale
        results = {}

        def timed(name, fit, tols):
            # the loosest tolerance of the ladder whose result reaches the target gap
            for tol in tols:
                t = time.perf_counter()
                coef = fit(tol)
                el = time.perf_counter() - t
                g = lasso_gap(X, y, coef, alpha)
                if g <= target:
                    results[name] = (el, g, tol, int(np.count_nonzero(coef)))
                    return
            results[name] = (float("nan"), g, tol, int(np.count_nonzero(coef)))

        timed("solvent", lambda tol: solvent.Lasso(alpha=alpha, fit_intercept=False, tol=tol).fit(X, y).coef_,
              [target])
        timed("scikit-learn",
              lambda tol: SkLasso(alpha=alpha, fit_intercept=False, tol=tol, max_iter=100_000).fit(X, y).coef_,
              [target * n / (y @ y) * 2 * f for f in (1.0, 0.1, 0.01)])
        if SkglmLasso is not None:
            timed("skglm", lambda tol: SkglmLasso(alpha=alpha, fit_intercept=False, tol=tol).fit(X, y).coef_,
                  [1e-4, 1e-5, 1e-6, 1e-7, 1e-8])
        base = results["solvent"][0]
        for name, (el, g, tol, nnz) in results.items():
            print(f"| Lasso α = {frac}·α_max | {name} | {el:.3f} | {el / base:.2f} | {g:.2e} | {tol:.1e} | {nnz} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-lasso", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bin", default=os.environ.get("SOLVENT_BIN", "target/debug/solvent"))
    a = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"python {sys.version.split()[0]}, solvent {solvent.__version__}")
    print("\n| case | Python call (µs) | library call (µs) | overhead median (µs) | overhead p90 (µs) | scipy spsolve (µs) |")
    print("|---|---|---|---|---|---|")
    overhead(a.repeat)
    print("\n| job | solvent.datagen (s) | CLI (s) | ratio |")
    print("|---|---|---|---|")
    datagen_vs_cli(a.bin, a.repeat, a.quick)
    if not a.skip_lasso:
        print("\n| problem | solver | time (s) | vs solvent | gap reached | its tol | non-zeros |")
        print("|---|---|---|---|---|---|---|")
        lasso(a.quick)


if __name__ == "__main__":
    main()
