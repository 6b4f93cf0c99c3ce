"""solvent.solve_sequence: lazy generators, sorting, callbacks, against SciPy."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import solvent
from conftest import poisson2d


def family(k, m=20, seed=0):
    """k diffusion matrices A_i = L + c_i I with random shifts (and their parameters)."""
    rng = np.random.default_rng(seed)
    L = poisson2d(m)
    shifts = rng.uniform(0.0, 1.0, k)
    return L, shifts


def test_a_generator_is_consumed_lazily_one_system_at_a_time():
    L, shifts = family(12)
    n = L.shape[0]
    produced = []
    solved = []

    def gen():
        for i, c in enumerate(shifts):
            produced.append(i)
            # never more than the system being solved and the next one exist
            assert len(produced) - len(solved) <= 2, (produced, solved)
            yield (L + c * sp.identity(n)).tocsr()

    b = np.ones(n)

    def on_done(i, x, record):
        solved.append(i)
        A = (L + shifts[i] * sp.identity(n)).tocsc()
        assert np.linalg.norm(x - spla.spsolve(A, b)) <= 1e-7 * np.linalg.norm(x)
        assert record["converged"]

    X, result = solvent.solve_sequence(gen(), b, count=len(shifts), tol=1e-10, on_done=on_done)
    assert X is None
    assert solved == list(range(12))  # given order
    assert result.converged and result.order == list(range(12))


@pytest.mark.parametrize("strategy", ["auto", "skr", "independent"])
def test_sorted_sequence_solutions_match_spsolve(strategy):
    L, shifts = family(10, seed=3)
    n = L.shape[0]
    mats = [(L + c * sp.identity(n)).tocsr() for c in shifts]
    rhs = np.random.default_rng(2).standard_normal((10, n))
    X, result = solvent.solve_sequence(mats, rhs, params=shifts, strategy=strategy, tol=1e-10)
    assert X.shape == (10, n)
    for i, A in enumerate(mats):
        ref = spla.spsolve(A.tocsc(), rhs[i])
        assert np.linalg.norm(X[i] - ref) <= 1e-7 * np.linalg.norm(ref)
    if strategy != "independent":
        # sorted by the shift: neighbours in solve order are close
        order = np.array(result.order)
        jumps = np.abs(np.diff(shifts[order])).sum()
        assert jumps <= np.abs(np.diff(shifts)).sum()
    assert result.reason


def test_pairs_and_callables():
    L, shifts = family(5, m=10)
    n = L.shape[0]

    def get(i):
        return (L + shifts[i] * sp.identity(n)).tocsr(), np.full(n, float(i + 1))

    X, result = solvent.solve_sequence(get, count=5, tol=1e-12, jobs=2)
    for i in range(5):
        A, b = get(i)
        assert np.allclose(X[i], spla.spsolve(A.tocsc(), b), atol=1e-9)
    assert result.plan["chains"] == 2


def test_errors_name_the_system():
    L, _ = family(3, m=6)
    bad = L.copy().tocsr()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match=r"matrices\[1\]"):
        solvent.solve_sequence([L, bad, L], np.ones(36))
    with pytest.raises(ValueError, match="count"):
        solvent.solve_sequence(iter([L, L]), np.ones(36))
    with pytest.raises(ValueError, match="params"):
        solvent.solve_sequence(iter([L, L, L]), np.ones(36), params=[1.0, 2.0, 3.0], count=3)
    with pytest.raises(ValueError, match="rhs"):
        solvent.solve_sequence([L, L], np.ones(35))

    def boom(i):
        if i == 1:
            raise KeyError("no such system")
        return L

    with pytest.raises(KeyError, match="no such system"):
        solvent.solve_sequence(boom, np.ones(36), count=3)


def test_a_list_right_hand_side_is_one_vector_for_all():
    L, shifts = family(3, m=5)
    mats = [(L + c * sp.identity(25)).tocsr() for c in shifts]
    X, _ = solvent.solve_sequence(mats, [1.0] * 25, tol=1e-12)
    for i, A in enumerate(mats):
        assert np.allclose(X[i], spla.spsolve(A.tocsc(), np.ones(25)), atol=1e-9)
