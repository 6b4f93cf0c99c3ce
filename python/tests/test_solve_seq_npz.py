"""`solvent solve-seq FILE.npz`: a sequence written with numpy + scipy.sparse, as a
Python pipeline would hand it over, solved by the CLI."""

import json
import subprocess

import numpy as np
from conftest import convdiff2d


def _sequence(k=6, m=8):
    """k convection–diffusion matrices sharing one pattern (the Péclet number varies),
    and a permutation that shuffles the entries within each row, as an unstructured
    FEM assembly may leave them."""
    mats = [convdiff2d(m, peclet=0.1 + 0.2 * i) for i in range(k)]
    for a in mats:
        a.sort_indices()
        assert np.array_equal(a.indptr, mats[0].indptr) and np.array_equal(a.indices, mats[0].indices)
    rng = np.random.default_rng(0)
    ptr = mats[0].indptr
    perm = np.concatenate([s + rng.permutation(e - s) for s, e in zip(ptr[:-1], ptr[1:])])
    return mats, perm


def test_an_npz_of_csr_arrays_is_solved(tmp_path, solvent_bin):
    mats, perm = _sequence()
    k, n = len(mats), mats[0].shape[0]
    rng = np.random.default_rng(1)
    rhs = rng.standard_normal((k, n))
    path = tmp_path / "seq.npz"
    np.savez(
        path,
        indptr=mats[0].indptr,
        indices=mats[0].indices[perm],  # unsorted within rows
        data=np.stack([a.data[perm] for a in mats]),
        b=rhs,
        features=np.linspace(0.0, 1.0, k)[:, None],
    )
    out = tmp_path / "x.npz"
    report = tmp_path / "r.json"
    subprocess.run(
        [solvent_bin, "solve-seq", str(path), "--out", str(out), "--json", str(report),
         "--tol", "1e-10", "--quiet"],
        check=True,
    )
    with np.load(out) as f:
        x, relres, converged = f["x"], f["relres"], f["converged"]
    assert x.shape == (k, n) and converged.dtype == np.bool_ and converged.all()
    for i, a in enumerate(mats):
        res = np.linalg.norm(rhs[i] - a @ x[i]) / np.linalg.norm(rhs[i])
        assert res <= 1e-10, (i, res)
        assert abs(relres[i] - res) <= 1e-3 * res + 1e-15
    assert json.loads(report.read_text())["ordered_by"] == "features"


def test_a_bad_archive_is_a_one_line_error(tmp_path, solvent_bin):
    a = convdiff2d(4)
    path = tmp_path / "bad.npz"
    np.savez(path, indptr=a.indptr, indices=a.indices, data=a.data[:-1], b=np.ones(a.shape[0]))
    r = subprocess.run([solvent_bin, "solve-seq", str(path), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 1
    assert "member 'data' has shape" in r.stderr
    assert not (tmp_path / "bad.solutions.npz").exists()
