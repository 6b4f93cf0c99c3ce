#!/usr/bin/env python3
"""Independent GMRES(m) iteration counts from SciPy, for tests/gmres_reference.rs.

Usage: python3 gmres_scipy.py {A.mtx|convdiff:M:EPS:VX:VY} {b.mtx|ones} RESTART TOL

`convdiff:M:EPS:VX:VY` builds the upwind convection-diffusion matrix of
solvent_problems::generators::convection_diffusion2d independently here
(5-point, scaled by h^2, h = 1/(M+1), row-major grid numbering k = i*M + j with
j along x), so the reference does not depend on our generator.

Runs scipy.sparse.linalg.gmres(A, b, x0=0, rtol=TOL, atol=0, restart=RESTART,
no preconditioner) and prints the number of inner (Arnoldi) iterations,
counted with callback_type='pr_norm' (one call per inner iteration), and the
true relative residual of the returned x. Needs numpy and scipy
(`pip install numpy scipy`); not part of CI.
"""
import sys

import numpy as np
import scipy
import scipy.io
import scipy.sparse
import scipy.sparse.linalg as spla


def convdiff(m, eps, vx, vy):
    h = 1.0 / (m + 1)
    cxw, cxe = max(vx, 0) * h, max(-vx, 0) * h
    cys, cyn = max(vy, 0) * h, max(-vy, 0) * h
    rows, cols, vals = [], [], []
    for i in range(m):
        for j in range(m):
            k = i * m + j
            entries = [(k, 4 * eps + cxw + cxe + cys + cyn)]
            if j > 0:
                entries.append((k - 1, -eps - cxw))
            if j + 1 < m:
                entries.append((k + 1, -eps - cxe))
            if i > 0:
                entries.append((k - m, -eps - cys))
            if i + 1 < m:
                entries.append((k + m, -eps - cyn))
            for c, v in entries:
                rows.append(k)
                cols.append(c)
                vals.append(v)
    return scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(m * m, m * m))


def main():
    a_path, b_path, restart, tol = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    if a_path.startswith("convdiff:"):
        _, m, eps, vx, vy = a_path.split(":")
        A = convdiff(int(m), float(eps), float(vx), float(vy))
    else:
        A = scipy.io.mmread(a_path).tocsr()
    b = np.ones(A.shape[0]) if b_path == "ones" else np.asarray(scipy.io.mmread(b_path)).ravel()
    count = [0]

    def cb(_):
        count[0] += 1

    x, info = spla.gmres(A, b, x0=np.zeros_like(b), rtol=tol, atol=0.0, restart=restart,
                         maxiter=10_000, callback=cb, callback_type="pr_norm")
    relres = np.linalg.norm(b - A @ x) / np.linalg.norm(b)
    print(f"scipy {scipy.__version__}: info={info} iterations={count[0]} relres={relres:.3e}")


if __name__ == "__main__":
    main()
