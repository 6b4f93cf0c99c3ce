#!/usr/bin/env python3
"""scikit-learn on a `lasso` or `l1-logistic` problem of `solvent bench`: Lasso
(coordinate descent), or LogisticRegression(penalty="l1", C = 1/(nλ), liblinear), no
intercept. As benchopt does, each trace point is a fit from scratch with a growing
iteration cap (1, 2, 4, …), timed alone; the objective is computed the same way as
Solvent's: (1/2n)‖y − Xw‖² + λ‖w‖₁, or the mean logistic loss + λ‖w‖₁.

usage: sklearn_lasso.py PROBLEM.npz OUT.json TOL BUDGET_S [lasso|l1-logistic]"""
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
from _common import glm_objective, glm_problem, skipped, write_trace  # noqa: E402

NAME = "sklearn.linear_model"


def main():
    problem, out, tol, budget = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    kind = sys.argv[5] if len(sys.argv) > 5 else "lasso"
    try:
        import numpy as np
        import scipy.sparse as sp
        import sklearn
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import Lasso, LogisticRegression
    except ImportError as e:
        skipped(out, NAME, e)
    data, indices, indptr, shape, y, lam = glm_problem(problem)
    X = sp.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=shape)
    y = np.array(y)
    n = shape[0]
    warnings.simplefilter("ignore", ConvergenceWarning)

    def objective(w):
        return glm_objective(np, X, y, lam, kind, w)

    trace, cap, start = [], 1, time.perf_counter()
    while True:
        if kind == "lasso":
            model = Lasso(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=cap)
        else:
            model = LogisticRegression(penalty="l1", C=1.0 / (n * lam), solver="liblinear",
                                       fit_intercept=False, tol=1e-14, max_iter=cap)
        t0 = time.perf_counter()
        model.fit(X, y)
        t = time.perf_counter() - t0
        w = np.ravel(model.coef_)
        obj = objective(w)
        its = int(np.max(model.n_iter_))
        trace.append({"time_s": t, "iterations": its, "value": obj})
        write_trace(out, f"{NAME}.{'Lasso' if kind == 'lasso' else 'LogisticRegression'}", sklearn.__version__, trace=trace)
        done = its < cap or (len(trace) > 1 and abs(trace[-2]["value"] - obj) <= tol * abs(obj))
        if done or time.perf_counter() - start > budget * 0.5:
            break
        cap *= 2
    write_trace(out, f"{NAME}.{'Lasso' if kind == 'lasso' else 'LogisticRegression'}",
                sklearn.__version__, trace=trace)


if __name__ == "__main__":
    main()
