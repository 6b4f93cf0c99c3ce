#!/usr/bin/env python3
"""pyamg on a `sequence` problem of `solvent bench` (a solve-seq directory A_0000.mtx,
b_0000.mtx, …): every system solved independently by smoothed aggregation
(pyamg.smoothed_aggregation_solver, hierarchy built per system) as a preconditioner of
CG or GMRES, or by pyamg's own V-cycles, resumed until the true relative residual is
below the tolerance. One trace point per system: the cumulative time
(setup and solve) and iterations, and that system's true relative residual.

usage: pyamg_solve.py DIR OUT.json TOL BUDGET_S [cg|gmres|none]"""
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import skipped, write_trace  # noqa: E402


def main():
    d, out, tol, budget = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    accel = sys.argv[5] if len(sys.argv) > 5 else "cg"
    try:
        import numpy as np
        import pyamg
        import scipy.io
    except ImportError as e:
        skipped(out, "pyamg.smoothed_aggregation_solver", e)
    name = f"pyamg smoothed aggregation ({accel})"
    trace, total, its, start, status = [], 0.0, 0, time.perf_counter(), "ok"
    for a_path in sorted(glob.glob(os.path.join(d, "A_*.mtx"))):
        A = scipy.io.mmread(a_path).tocsr()
        B = scipy.io.mmread(os.path.join(os.path.dirname(a_path), "b_" + os.path.basename(a_path)[2:]))
        b = np.ravel(B.toarray() if hasattr(B, "toarray") else np.asarray(B))
        t0 = time.perf_counter()
        ml = pyamg.smoothed_aggregation_solver(A)
        # pyamg's Krylov methods stop on their own (preconditioned) residual: resume from
        # the iterate with a tighter tolerance until the true relative residual is below
        # `tol` (at most 5 passes), counting every iteration
        x, relres, inner, passes = None, 1.0, tol, 0
        while relres > tol and passes < 5:
            residuals = []
            x = ml.solve(b, x0=x, tol=inner, maxiter=2000,
                         accel=None if accel == "none" else accel, residuals=residuals)
            its += max(len(residuals) - 1, 0)
            relres = float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))
            inner *= max(min(tol / relres, 0.5), 1e-3)
            passes += 1
        total += time.perf_counter() - t0
        trace.append({"time_s": total, "iterations": its, "value": relres})
        write_trace(out, name, pyamg.__version__, trace=trace)
        if time.perf_counter() - start > budget * 0.9:
            status = "timeout"
            break
    write_trace(out, name, pyamg.__version__, status=status, trace=trace)


if __name__ == "__main__":
    main()
