#!/usr/bin/env python3
"""Plain ISTA (proximal gradient with the step 1/L, L from power iteration) for the Lasso
(1/2n)‖y − Xw‖² + λ‖w‖₁, in pure Python: a reference peer that runs wherever Python
does (the test suite uses it as the external command). Trace: the objective after
iterations 1, 2, 4, 8, …

usage: ista_lasso.py PROBLEM.npz OUT.json TOL BUDGET_S"""
import math
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from _common import glm_problem, write_trace  # noqa: E402


def main():
    problem, out, tol, budget = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    data, indices, indptr, (n, p), y, lam = glm_problem(problem)

    def xv(w):
        return [sum(data[k] * w[indices[k]] for k in range(indptr[i], indptr[i + 1])) for i in range(n)]

    def xtv(r):
        g = [0.0] * p
        for i in range(n):
            for k in range(indptr[i], indptr[i + 1]):
                g[indices[k]] += data[k] * r[i]
        return g

    def objective(w):
        r = [a - b for a, b in zip(y, xv(w))]
        return 0.5 / n * sum(v * v for v in r) + lam * sum(abs(v) for v in w)

    start = time.perf_counter()
    v = [1.0 / math.sqrt(p)] * p
    lip = 1.0
    for _ in range(30):
        u = xtv(xv(v))
        lip = math.sqrt(sum(a * a for a in u)) or 1.0
        v = [a / lip for a in u]
    step = n / (lip * 1.01)
    w = [0.0] * p
    trace, it, nxt, prev = [], 0, 1, None
    measured = 0.0
    while time.perf_counter() - start - measured < budget * 0.8:
        r = [a - b for a, b in zip(xv(w), y)]
        g = xtv(r)
        w = [math.copysign(max(abs(wi - step * gi / n) - step * lam, 0.0), wi - step * gi / n)
             for wi, gi in zip(w, g)]
        it += 1
        if it == nxt:
            t = time.perf_counter() - start - measured
            m0 = time.perf_counter()
            obj = objective(w)
            measured += time.perf_counter() - m0
            trace.append({"time_s": t, "iterations": it, "value": obj})
            write_trace(out, "ISTA (pure Python)", "1", trace=trace)
            nxt *= 2
            if prev is not None and abs(prev - obj) <= tol * abs(obj):
                break
            prev = obj
    write_trace(out, "ISTA (pure Python)", "1", trace=trace)


if __name__ == "__main__":
    main()
