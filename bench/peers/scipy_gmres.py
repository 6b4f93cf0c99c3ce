#!/usr/bin/env python3
"""SciPy on a `sequence` problem of `solvent bench` (a solve-seq directory A_0000.mtx,
b_0000.mtx, …): every system solved independently from zero by scipy.sparse.linalg.gmres
(restart 40) or gcrotmk, optionally with an incomplete-LU preconditioner (spilu), or by
spsolve. One trace point per system: the cumulative solve time and iterations and that
system's true relative residual.

usage: scipy_gmres.py DIR OUT.json TOL BUDGET_S [gmres|gcrotmk|spsolve] [none|ilu]"""
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import skipped, write_trace  # noqa: E402


def main():
    d, out, tol, budget = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    method = sys.argv[5] if len(sys.argv) > 5 else "gmres"
    precond = sys.argv[6] if len(sys.argv) > 6 else "none"
    try:
        import numpy as np
        import scipy
        import scipy.io
        import scipy.sparse.linalg as sla
    except ImportError as e:
        skipped(out, f"scipy.sparse.linalg.{method}", e)
    name = f"scipy.sparse.linalg.{method} ({precond})"
    trace, total, its, start = [], 0.0, 0, time.perf_counter()
    status = "ok"
    for a_path in sorted(glob.glob(os.path.join(d, "A_*.mtx"))):
        A = scipy.io.mmread(a_path).tocsr()
        B = scipy.io.mmread(os.path.join(os.path.dirname(a_path), "b_" + os.path.basename(a_path)[2:]))
        b = np.ravel(B.toarray() if hasattr(B, "toarray") else np.asarray(B))
        count = [0]
        t0 = time.perf_counter()
        M = None
        if precond == "ilu":
            ilu = sla.spilu(A.tocsc(), drop_tol=0.0, fill_factor=1.0)
            M = sla.LinearOperator(A.shape, ilu.solve)
        if method == "spsolve":
            x = sla.spsolve(A.tocsc(), b)
        elif method == "gcrotmk":
            x, _ = sla.gcrotmk(A, b, rtol=tol, atol=0.0, M=M, m=40, maxiter=20000,
                               callback=lambda xk: count.__setitem__(0, count[0] + 1))
        else:
            x, _ = sla.gmres(A, b, rtol=tol, atol=0.0, restart=40, maxiter=20000, M=M,
                             callback=lambda r: count.__setitem__(0, count[0] + 1),
                             callback_type="pr_norm")
        total += time.perf_counter() - t0
        its += count[0]
        relres = float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))
        trace.append({"time_s": total, "iterations": its, "value": relres})
        write_trace(out, name, scipy.__version__, trace=trace)
        if time.perf_counter() - start > budget * 0.9:
            status = "timeout"
            break
    write_trace(out, name, scipy.__version__, status=status,
                reason="stopped before the time limit" if status == "timeout" else "", trace=trace)


if __name__ == "__main__":
    main()
