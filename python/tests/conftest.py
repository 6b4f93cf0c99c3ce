"""Shared fixtures: the CLI binary (for comparisons with the command line) and
small matrices."""

import os
import pathlib
import shutil

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def solvent_bin():
    """The `solvent` executable: $SOLVENT_BIN, else the workspace's build, else PATH."""
    env = os.environ.get("SOLVENT_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        p = ROOT / "target" / profile / "solvent"
        if p.exists():
            return str(p)
    found = shutil.which("solvent")
    if not found:
        pytest.fail("the solvent binary is needed: set SOLVENT_BIN or run cargo build")
    return found


def poisson2d(m):
    """The 5-point Laplacian on an m × m grid (SPD), as a SciPy CSR matrix."""
    import scipy.sparse as sp

    t = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m))
    i = sp.identity(m)
    return (sp.kron(i, t) + sp.kron(t, i)).tocsr()


def convdiff2d(m, peclet=0.5):
    """Upwind convection–diffusion on an m × m grid (nonsymmetric)."""
    import scipy.sparse as sp

    t = sp.diags([-1.0 - peclet, 2.0 + peclet, -1.0], [-1, 0, 1], shape=(m, m))
    d = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m))
    i = sp.identity(m)
    return (sp.kron(i, t) + sp.kron(d, i)).tocsr()
