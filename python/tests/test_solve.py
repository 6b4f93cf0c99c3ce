"""solvent.solve against SciPy's direct solver, inputs in every format, errors, warnings
and threads."""

import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import solvent
from conftest import convdiff2d, poisson2d


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "dense"])
def test_solution_matches_spsolve_in_every_input_format(fmt):
    A = convdiff2d(20)
    rng = np.random.default_rng(0)
    b = rng.standard_normal(A.shape[0])
    ref = spla.spsolve(A.tocsc(), b)
    given = A.toarray() if fmt == "dense" else A.asformat(fmt)
    x, info = solvent.solve(given, b, tol=1e-12)
    assert info.converged, info
    assert np.linalg.norm(x - ref) <= 1e-9 * np.linalg.norm(ref)
    # the reported residual is the true one
    true = np.linalg.norm(b - A @ x) / np.linalg.norm(b)
    assert true <= 1e-12 * 1.01 and abs(true - info.residual) <= 1e-13 + 1e-3 * true


@pytest.mark.parametrize("method,precond", [("cg", "ic0"), ("gmres", "ilu0"), ("minres", "jacobi"), ("direct", "auto")])
def test_named_methods_reach_the_direct_solution(method, precond):
    A = poisson2d(25)
    b = np.sin(np.arange(A.shape[0]))
    ref = spla.spsolve(A.tocsc(), b)
    x, info = solvent.solve(A, b, method=method, precond=precond, tol=1e-11)
    assert info.method == method
    assert np.linalg.norm(x - ref) <= 1e-8 * np.linalg.norm(ref)
    assert info.reason


def test_several_right_hand_sides_are_columns():
    A = poisson2d(10)
    B = np.random.default_rng(1).standard_normal((100, 3))
    X, infos = solvent.solve(A, B, tol=1e-12)
    assert X.shape == (100, 3) and len(infos) == 3
    assert np.allclose(X, spla.spsolve(A.tocsc(), B), rtol=0, atol=1e-9)


def test_unsorted_and_duplicate_entries_are_summed():
    rows = np.array([0, 0, 1, 1, 0, 2, 2])
    cols = np.array([1, 0, 1, 0, 0, 2, 2])
    vals = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 1.0, 1.0])
    A = sp.coo_matrix((vals, (rows, cols)), shape=(3, 3))
    b = np.array([1.0, 2.0, 3.0])
    x, _ = solvent.solve(A, b, method="direct")
    assert np.allclose(A.toarray() @ x, b, atol=1e-12)


def test_initial_guess_is_used():
    A = poisson2d(20)
    b = np.ones(400)
    ref = spla.spsolve(A.tocsc(), b)
    _, cold = solvent.solve(A, b, method="cg", precond="none", tol=1e-10)
    _, warm = solvent.solve(A, b, method="cg", precond="none", tol=1e-10, x0=ref + 1e-9)
    assert warm.iterations < cold.iterations


def test_trace_records_the_residual():
    A = poisson2d(20)
    _, info = solvent.solve(A, np.ones(400), method="cg", precond="none", tol=1e-10)
    assert len(info.trace) >= 2
    assert info.trace[0]["residual"] == pytest.approx(1.0)
    assert info.trace[-1]["residual"] <= 1e-10


def test_bad_input_raises_named_errors():
    A = poisson2d(5)
    with pytest.raises(ValueError, match="square"):
        solvent.solve(sp.random(4, 5, density=0.5, format="csr"), np.ones(4))
    with pytest.raises(ValueError, match="b has 3 entries"):
        solvent.solve(A, np.ones(3))
    bad = np.ones(25)
    bad[7] = np.nan
    with pytest.raises(ValueError, match=r"b\[7\]"):
        solvent.solve(A, bad)
    An = A.copy()
    An.data[3] = np.inf
    with pytest.raises(ValueError, match="A holds a non-finite value"):
        solvent.solve(An, np.ones(25))
    with pytest.raises(TypeError, match="complex"):
        solvent.solve(A.astype(complex), np.ones(25))
    with pytest.raises(ValueError, match="method"):
        solvent.solve(A, np.ones(25), method="nope")
    with pytest.raises(ValueError, match="x0 has 2 entries"):
        solvent.solve(A, np.ones(25), x0=np.ones(2))
    with pytest.raises(ValueError, match="maxiter"):
        solvent.solve(A, np.ones(25), maxiter=0)


def test_non_convergence_warns_and_returns_the_status():
    A = poisson2d(30)
    with pytest.warns(solvent.ConvergenceWarning, match="iteration_limit"):
        x, info = solvent.solve(A, np.ones(900), method="cg", precond="none", maxiter=3)
    assert info.status == "iteration_limit" and not info.converged and info.iterations == 3
    assert np.isfinite(x).all()


def test_two_threads_solve_at_once_with_the_gil_released():
    A = poisson2d(150)  # 22,500 unknowns: solved on a worker, the GIL released
    b = np.ones(A.shape[0])
    ref = spla.spsolve(A.tocsc(), b)
    out = {}

    def work(name):
        x, info = solvent.solve(A, b, method="cg", precond="none", tol=1e-10)
        out[name] = (x, info)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, info in out.values():
        assert info.converged
        assert np.linalg.norm(x - ref) <= 1e-7 * np.linalg.norm(ref)


def test_help_reads_like_scipy():
    doc = solvent.solve.__doc__
    for section in ("Parameters", "Returns", "Raises", "Examples"):
        assert section in doc


def test_the_gil_is_released_during_a_solve():
    # while another thread solves, this one keeps running Python code
    A = poisson2d(200)
    b = np.ones(A.shape[0])
    done = threading.Event()

    def work():
        solvent.solve(A, b, method="cg", precond="none", tol=1e-10)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    spins = 0
    while not done.is_set():
        spins += 1
    t.join()
    assert spins > 10_000, spins
