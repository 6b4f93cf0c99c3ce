"""Neural-operator data sets: ``datagen`` and ``merge_shards``."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _solvent
from ._common import load, positive, warn_not_converged
from ._linear import _Settings

_PUBLISHED_GRID = {"darcy": 80, "helmholtz": 100}


class Dataset(dict):
    """The arrays of a data set, keyed as in the ``.npz`` file ``solvent datagen`` writes.

    ``coeff`` and ``sol`` have shape (K, N, N) (float32 by default), ``iters`` (int64),
    ``relres``, ``solve_s`` (float64, K), ``x`` and ``y`` (the interior grid
    coordinates, N), the family's scalar parameter when it has one (``k`` for
    Helmholtz), ``index`` for a piece made with ``shard`` (each entry's sample number),
    and ``metadata`` (JSON text as a 0-d string array, as in the file).

    ``report`` holds how the sequence was solved (plan, order, per-system records,
    totals, the baseline and speed-up when asked for).
    """

    report: Dict[str, Any]

    def __repr__(self) -> str:
        k = self["coeff"].shape[0]
        return f"Dataset({k} samples, keys={sorted(self.keys())})"


def datagen(
    family: str,
    grid: Optional[int] = None,
    count: int = 100,
    seed: int = 0,
    strategy: str = "auto",
    *,
    method: str = "auto",
    precond: str = "auto",
    tol: float = 1e-8,
    maxiter: int = 20_000,
    restart: int = 40,
    recycle: Optional[int] = None,
    refresh_every: Optional[int] = None,
    jobs: int = 1,
    device: str = "auto",
    precision: str = "f32",
    preset: str = "standard",
    baseline: bool = False,
    out: Optional[os.PathLike] = None,
    shard: Optional[Tuple[int, int]] = None,
    progress: bool = False,
) -> Dataset:
    """Generate a PDE data set: K coefficient fields and the solutions of their systems.

    The same job as ``solvent datagen FAMILY --grid N --count K …``, with the same
    defaults, returning the arrays instead of (or as well as) writing them.

    Parameters
    ----------
    family : {"darcy", "darcy-threshold", "helmholtz", "convdiff", "poisson-rhs", "darcy3d", "helmholtz3d", "convdiff3d"}
        The ``…3d`` families live on the unit cube: ``coeff`` and ``sol`` are (K, N, N, N)
        and a ``z`` coordinate joins ``x`` and ``y`` (``convdiff3d``'s ``coeff`` is the speed |v|).
    grid : int, optional
        Interior points per side N (N² unknowns per system, N³ for the 3-D families).
        Default 64 (32 for the 3-D families), or with ``preset="published"`` the paper's
        grid (80 for darcy, 100 for helmholtz).
    count : int
        Samples K.
    seed : int
        Seed of every random draw (sample i depends only on the seed and i).
    strategy : {"auto", "skr", "independent"}
        How the sequence is solved (see :func:`solve_sequence`).
    method, precond, tol, maxiter, restart, recycle, refresh_every, jobs, device
        Solver settings, as the CLI's flags.
    precision : {"f32", "f64"}
        Element type of ``coeff`` and ``sol``.
    preset : {"standard", "published"}
        ``published``: the SKR paper's operators, fields and grids.
    baseline : bool
        Also solve everything with ``independent`` and report the speed-up.
    out : path, optional
        Also write the data set there (``.npz``; ``.h5`` when built with HDF5), atomically.
    shard : (i, R), optional
        Generate only piece ``i`` of the ``R`` contiguous pieces of the globally
        sorted sequence: exactly chain ``i`` of the one-process run with ``jobs=R``.
        Run the R pieces anywhere (a job array, Ray, Dask) and put them together with
        :func:`merge_shards`: the result equals ``datagen(..., jobs=R)``.
    progress : bool
        Print progress on standard error.

    Returns
    -------
    Dataset
        A dict of NumPy arrays (the npz keys, dtypes and shapes), with ``.report``.

    Examples
    --------
    Wrap it for PyTorch::

        data = solvent.datagen("darcy", grid=32, count=64)
        a, u = torch.from_numpy(data["coeff"]), torch.from_numpy(data["sol"])
        dataset = torch.utils.data.TensorDataset(a.unsqueeze(1), u.unsqueeze(1))
    """
    family = str(family)
    if preset not in ("standard", "published"):
        raise ValueError(f"preset must be 'standard' or 'published', not {preset!r}")
    published = preset == "published"
    if grid is None:
        default = 32 if family.endswith("3d") else 64
        grid = _PUBLISHED_GRID.get(family, default) if published else default
    grid = positive(grid, "grid", integer=True)
    count = positive(count, "count", integer=True)
    seed = positive(seed, "seed", integer=True, allow_zero=True)
    maxiter = positive(maxiter, "maxiter", integer=True)
    positive(tol, "tol")
    if shard is not None:
        try:
            i, r = (int(v) for v in shard)
        except (TypeError, ValueError):
            raise TypeError(f"shard must be a pair (i, R) of integers, not {shard!r}") from None
        if r < 1 or not 0 <= i < r:
            raise ValueError(f"shard = ({i}, {r}): need 0 ≤ i < R")
        shard = (i, r)
    settings = _Settings(strategy, method, precond, restart, recycle, refresh_every, jobs, device)
    path = None if out is None else os.fspath(out)
    arrays, text = _solvent.datagen(family, grid, count, seed, settings, float(tol), maxiter, str(precision),
                                    published, bool(baseline), shard, path, bool(progress))
    data = Dataset(arrays)
    data["metadata"] = np.array(arrays["metadata"])
    data.report = load(text)
    failed = data.report["report"]["failed"]
    if failed:
        warn_not_converged("datagen", f"{len(failed)} of {len(data['iters'])} systems",
                           f"first: sample {failed[0]}")
    return data


def merge_shards(pieces: Sequence[Dict[str, Any]]) -> Dict[str, np.ndarray]:
    """Put the pieces made with ``datagen(..., shard=(i, R))`` together into the whole
    data set (entry ``j`` = sample ``j``), as ``datagen(..., jobs=R)`` returns it.

    Raises ``ValueError`` when the pieces overlap or leave samples out.
    """
    if not pieces:
        raise ValueError("pieces: nothing to merge")
    for j, p in enumerate(pieces):
        if "index" not in p:
            raise ValueError(f"pieces[{j}] has no 'index': it is not a piece made with shard=")
    index = np.concatenate([np.asarray(p["index"]) for p in pieces])
    meta = json.loads(str(pieces[0]["metadata"])) if "metadata" in pieces[0] else {}
    count = int(meta.get("count", index.size))
    order = np.argsort(index, kind="stable")
    if index.size != count or not np.array_equal(index[order], np.arange(count)):
        missing = sorted(set(range(count)) - set(index.tolist()))[:5]
        raise ValueError(f"pieces: {index.size} samples for a data set of {count}; samples missing or "
                         f"repeated (missing: {missing}…)")
    merged: Dict[str, Any] = {}
    per_sample = [k for k, v in pieces[0].items()
                  if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == len(pieces[0]["index"])
                  and k not in ("x", "y", "z", "index")]
    for key in per_sample:
        merged[key] = np.concatenate([np.asarray(p[key]) for p in pieces])[order]
    for key in ("x", "y", "z"):
        if key in pieces[0]:
            merged[key] = pieces[0][key]
    if meta:
        meta.pop("shard", None)
        merged["metadata"] = np.array(json.dumps(meta))
    return merged
