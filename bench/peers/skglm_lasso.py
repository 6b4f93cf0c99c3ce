#!/usr/bin/env python3
"""skglm on a `lasso` or `l1-logistic` problem of `solvent bench` (working sets,
Anderson-accelerated coordinate descent; Lasso, or SparseLogisticRegression with
alpha = λ), no intercept. Each trace point is a fit from scratch with a growing cap on
the outer iterations, timed alone; the objective is computed as Solvent's.

usage: skglm_lasso.py PROBLEM.npz OUT.json TOL BUDGET_S [lasso|l1-logistic]"""
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
from _common import glm_objective, glm_problem, skipped, write_trace  # noqa: E402


def main():
    problem, out, tol, budget = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    kind = sys.argv[5] if len(sys.argv) > 5 else "lasso"
    try:
        import numpy as np
        import scipy.sparse as sp
        import skglm
        from skglm import Lasso, SparseLogisticRegression
    except ImportError as e:
        skipped(out, "skglm", e)
    data, indices, indptr, shape, y, lam = glm_problem(problem)
    X = sp.csc_matrix(sp.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=shape))
    y = np.array(y)
    warnings.simplefilter("ignore")

    def objective(w):
        return glm_objective(np, X, y, lam, kind, w)

    trace, cap, start = [], 1, time.perf_counter()
    while True:
        if kind == "lasso":
            model = Lasso(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=cap)
        else:
            model = SparseLogisticRegression(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=cap)
        t0 = time.perf_counter()
        model.fit(X, y)
        t = time.perf_counter() - t0
        w = np.ravel(model.coef_)
        obj = objective(w)
        trace.append({"time_s": t, "iterations": cap, "value": obj})
        write_trace(out, f"skglm.{'Lasso' if kind == 'lasso' else 'SparseLogisticRegression'}", skglm.__version__, trace=trace)
        done = len(trace) > 1 and abs(trace[-2]["value"] - obj) <= tol * abs(obj)
        if done or time.perf_counter() - start > budget * 0.5 or cap >= 1 << 12:
            break
        cap *= 2
    write_trace(out, f"skglm.{'Lasso' if kind == 'lasso' else 'SparseLogisticRegression'}",
                skglm.__version__, trace=trace)


if __name__ == "__main__":
    main()
