"""Layer-wise allocation under a global budget: ``allocate``."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np

from . import _solvent


def _table(table: Any) -> Dict[str, Any]:
    """The CLI's JSON table schema from a dict in that schema, or from a dict of curves
    ``{layer: {"distortion": (L,), "params": (L,), "sparsity": (L,) optional,
    "shape": [...] optional, <other resource>: (L,) …}}``."""
    if not isinstance(table, Mapping):
        raise TypeError(f"table must be a dict (the CLI's table schema or a dict of curves), not "
                        f"{type(table).__name__}")
    if "layers" in table:
        return dict(table)
    layers = []
    for name, curves in table.items():
        if not isinstance(curves, Mapping) or "distortion" not in curves or "params" not in curves:
            raise ValueError(f"table[{name!r}] must be a dict with 'distortion' and 'params' arrays")
        dist = np.asarray(curves["distortion"], dtype=np.float64)
        if dist.ndim != 1:
            raise ValueError(f"table[{name!r}]['distortion'] must be 1-D")
        resources = {k: np.asarray(v) for k, v in curves.items() if k not in ("distortion", "sparsity", "shape")}
        for k, v in resources.items():
            if v.shape != dist.shape:
                raise ValueError(f"table[{name!r}][{k!r}] has {v.size} levels; 'distortion' has {dist.size}")
            if v.dtype.kind == "f" and not np.all(v == np.round(v)):
                raise ValueError(f"table[{name!r}][{k!r}]: costs must be whole numbers")
        sparsity = curves.get("sparsity")
        options = []
        for lvl in range(dist.size):
            o: Dict[str, Any] = {
                "level": lvl,
                "distortion": float(dist[lvl]),
                "cost": {k: int(v[lvl]) for k, v in resources.items()},
            }
            if sparsity is not None:
                o["sparsity"] = float(np.asarray(sparsity)[lvl])
            options.append(o)
        layer: Dict[str, Any] = {"name": str(name), "options": options}
        if "shape" in curves:
            layer["shape"] = [int(s) for s in curves["shape"]]
        layers.append(layer)
    return {"layers": layers}


class Allocation(dict):
    """The allocation as the CLI's report has it: ``layers`` (the chosen option of each
    layer: name, level, sparsity, cost, distortion), ``choice`` (option index per
    layer), ``total_cost``, ``total_distortion``, ``lower_bound`` (certified), ``gap``,
    ``relative_gap``, ``budget``, ``dense_total``, ``method``, ``details``,
    ``compare``, ``solve_s``."""

    @property
    def levels(self) -> List[int]:
        """The chosen level of every layer, in table order."""
        return [layer["level"] for layer in self["layers"]]

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def allocate(
    table: Any,
    budget: Union[float, int],
    method: str = "dp",
    *,
    resource: str = "params",
    resolution: int = 0,
    compare: bool = False,
) -> Allocation:
    """Choose one option (e.g. a sparsity level) per layer to minimise the summed
    distortion within a budget.

    Parameters
    ----------
    table : dict
        The CLI's table schema (``{"layers": [{"name", "options": [{"level",
        "sparsity", "cost": {"params": …}, "distortion"}]}]}``) or a dict of curves
        ``{layer: {"distortion": array, "params": array, ...}}`` (one entry per level).
    budget : float or int
        A float in (0, 1]: that fraction of the dense total of ``resource`` (0.5 keeps
        half); an int: that many units.
    method : {"dp", "lagrange", "uniform", "erk", "evolve"}
        ``dp``: the exact dynamic programme (certified by the LP lower bound).
    resource : str
        The cost the budget is in.
    resolution : int
        Scale costs so the budget is about this many units (faster DP; the rounding
        bound is reported); 0: exact costs.
    compare : bool
        Also run the baselines that apply and report their totals.

    Returns
    -------
    Allocation
        A dict (the CLI's report) with attribute access.
    """
    text = json.dumps(_table(table))
    if isinstance(budget, bool):
        raise TypeError("budget must be a number")
    if isinstance(budget, (int, np.integer)):
        if budget <= 0:
            raise ValueError(f"budget must be positive, found {budget}")
        fraction, units = None, int(budget)
    elif isinstance(budget, (float, np.floating)):
        if not 0.0 < budget <= 1.0:
            raise ValueError(f"budget: a fraction must be in (0, 1], found {budget} (give an int for units)")
        fraction, units = float(budget), None
    else:
        raise TypeError(f"budget must be a fraction (float) or units (int), not {type(budget).__name__}")
    out = _solvent.allocate(text, str(method), fraction, units, str(resource), int(resolution), bool(compare))
    return Allocation(json.loads(out))
