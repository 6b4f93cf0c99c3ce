"""solvent.complete: recovery of a planted low-rank matrix, ids, tables."""

import numpy as np
import pytest

import solvent


def planted(m=120, n=90, rank=3, p=0.35, seed=0):
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((m, rank))
    V = rng.standard_normal((n, rank))
    M = U @ V.T
    mask = rng.random((m, n)) < p
    r, c = np.nonzero(mask)
    return M, r, c, M[r, c]


@pytest.mark.parametrize("solver", ["altmin", "als"])
def test_a_planted_low_rank_matrix_is_recovered(solver):
    M, r, c, v = planted()
    model = solvent.complete(r, c, v, shape=M.shape, rank=3, reg=0.0, solver=solver, sweeps=60, tol=0)
    full_r, full_c = np.indices(M.shape).reshape(2, -1)
    pred = model.predict(full_r, full_c)
    err = np.linalg.norm(pred - M[full_r, full_c]) / np.linalg.norm(M)
    assert err < 1e-4, err
    assert model.U.shape == (120, 3) and model.V.shape == (90, 3)


def test_string_ids_are_mapped_and_mapped_back():
    M, r, c, v = planted(m=40, n=30, rank=2, p=0.5, seed=1)
    users = np.array([f"user-{i}" for i in r], dtype=object)
    items = np.array([f"item-{j}" for j in c], dtype=object)
    by_index = solvent.complete(r, c, v, rank=2, reg=0.0, sweeps=40, tol=0)
    by_name = solvent.complete(users, items, v, rank=2, reg=0.0, sweeps=40, tol=0)
    a = by_index.predict(np.array([0, 5, 39]), np.array([1, 2, 29]))
    b = by_name.predict(["user-0", "user-5", "user-39"], ["item-1", "item-2", "item-29"])
    assert np.allclose(a, M[[0, 5, 39], [1, 2, 29]], atol=1e-4)
    assert np.allclose(b, a, atol=1e-4)
    # an id never seen gets the training mean
    assert by_name.predict(["nobody"], ["item-1"])[0] == pytest.approx(v.mean())


def test_a_table_of_columns_and_held_out_entries():
    M, r, c, v = planted(m=60, n=50, rank=2, p=0.5, seed=2)
    perm = np.random.default_rng(3).permutation(len(v))
    r, c, v = r[perm], c[perm], v[perm]
    split = len(v) * 4 // 5
    table = {"user": r[:split], "item": c[:split], "rating": v[:split]}
    model = solvent.complete(table, rank=2, reg=0.0, sweeps=40, tol=0,
                             test=(r[split:], c[split:], v[split:]))
    pred = model.predict(r[split:], c[split:])
    direct = np.sqrt(np.mean((pred - v[split:]) ** 2))
    assert model.test_rmse == pytest.approx(direct, rel=1e-6)
    assert model.test_rmse < 1e-2


def test_bad_input():
    with pytest.raises(ValueError, match="one length"):
        solvent.complete([0, 1], [0], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        solvent.complete([0, 1], [0, 1], [1.0, np.nan])
    with pytest.raises(ValueError, match="solver"):
        solvent.complete([0, 1], [0, 1], [1.0, 2.0], rank=1, solver="svd")
