"""solvent.allocate: the exact DP against brute force."""

import itertools

import numpy as np
import pytest

import solvent


def curves(layers=5, levels=4, seed=0):
    rng = np.random.default_rng(seed)
    table = {}
    for i in range(layers):
        size = int(rng.integers(50, 500))
        keep = np.linspace(1.0, 0.1, levels)
        params = np.round(size * keep).astype(int)
        dist = np.sort(rng.random(levels))  # more pruning, more distortion
        dist[0] = 0.0
        table[f"layer{i}"] = {"distortion": dist, "params": params, "sparsity": 1 - keep}
    return table


def brute_force(table, budget):
    names = list(table)
    best = np.inf
    for choice in itertools.product(*(range(len(table[n]["params"])) for n in names)):
        cost = sum(table[n]["params"][k] for n, k in zip(names, choice))
        if cost <= budget:
            best = min(best, sum(table[n]["distortion"][k] for n, k in zip(names, choice)))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dp_equals_brute_force(seed):
    table = curves(seed=seed)
    dense = sum(int(t["params"][0]) for t in table.values())
    for frac in (0.3, 0.5, 0.8):
        out = solvent.allocate(table, frac, method="dp")
        budget = int(np.floor(frac * dense))
        assert out.total_cost["params"] <= budget
        assert out.total_distortion == pytest.approx(brute_force(table, budget), abs=1e-12)
        assert out.lower_bound <= out.total_distortion + 1e-12
        assert len(out.levels) == 5


def test_units_budget_and_the_cli_schema():
    table = curves(layers=3, seed=4)
    schema = {"layers": [
        {"name": n, "options": [{"level": k, "cost": {"params": int(t["params"][k])},
                                 "distortion": float(t["distortion"][k])} for k in range(4)]}
        for n, t in table.items()]}
    a = solvent.allocate(schema, 400)
    b = solvent.allocate(table, 400)
    assert a.total_distortion == b.total_distortion == pytest.approx(brute_force(table, 400))


def test_bad_tables_and_budgets():
    with pytest.raises(ValueError, match="distortion"):
        solvent.allocate({"l": {"params": [1, 2]}}, 0.5)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        solvent.allocate(curves(), 1.5)
    with pytest.raises(ValueError, match="method"):
        solvent.allocate(curves(), 0.5, method="nope")
