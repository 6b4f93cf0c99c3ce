"""solvent.bilevel: Python oracles against closed forms, and the toy's minima."""

import numpy as np
import pytest

import solvent


def toy_psi(x):
    # ψ(x) = f(x, −x) of the V-PBGD toy: f = cos(4y+2)/(1+e^{2−4x}) + ½ log((4x−2)² + 1)
    y = -x
    return np.cos(4 * y + 2) / (1 + np.exp(2 - 4 * x)) + 0.5 * np.log((4 * x - 2) ** 2 + 1)


def golden(a, b):
    r = (np.sqrt(5) - 1) / 2
    for _ in range(200):
        c, d = b - r * (b - a), a + r * (b - a)
        if toy_psi(c) < toy_psi(d):
            b = d
        else:
            a = c
    return (a + b) / 2


def test_the_toy_reaches_its_local_minima():
    minima = [golden(0.2, 0.6), golden(1.0, 1.4), golden(2.6, 3.0)]
    reached = []
    for x0 in (0.1, 0.5, 1.1, 1.4, 2.7, 2.95):
        res = solvent.bilevel("toy", x0=[x0], method="penalty")
        reached.append(float(res.x[0]))
    for x in reached:
        assert min(abs(x - m) for m in minima) < 1e-3, (reached, minima)
    assert len({round(x, 2) for x in reached}) >= 2


def test_python_oracles_reach_the_closed_form():
    # f = ½‖x − a‖² + ½‖y − c‖², g = ½ yᵀ H y − yᵀ B x: y*(x) = H⁻¹ B x
    rng = np.random.default_rng(0)
    nx, ny = 3, 4
    Q = rng.standard_normal((ny, ny))
    H = Q @ Q.T + ny * np.eye(ny)
    B = rng.standard_normal((ny, nx))
    a, c = rng.standard_normal(nx), rng.standard_normal(ny)
    calls = {"f": 0, "g": 0}

    def f(x, y):
        calls["f"] += 1
        return 0.5 * (x - a) @ (x - a) + 0.5 * (y - c) @ (y - c), x - a, y - c

    def g(x, y):
        calls["g"] += 1
        return 0.5 * y @ H @ y - y @ B @ x, -B.T @ y, H @ y - B @ x

    # ψ(x) = ½‖x − a‖² + ½‖K x − c‖², K = H⁻¹B: x* = (I + KᵀK)⁻¹ (a + Kᵀc)
    K = np.linalg.solve(H, B)
    xs = np.linalg.solve(np.eye(nx) + K.T @ K, a + K.T @ c)
    res = solvent.bilevel(f, g, np.zeros(nx), np.zeros(ny), method="penalty", tol=1e-8)
    assert res.converged
    assert np.linalg.norm(res.x - xs) <= 1e-4 * np.linalg.norm(xs)
    assert calls["f"] > 0 and calls["g"] > 0


def test_builtin_quadratic_reaches_its_closed_form():
    res = solvent.bilevel("quadratic", method="penalty", dim=(5, 8), seed=1)
    xs = np.array(res.details["closed_form_x"])
    assert np.linalg.norm(res.x - xs) <= 1e-3 * np.linalg.norm(xs)


def test_an_oracle_error_is_raised_not_swallowed():
    def f(x, y):
        raise RuntimeError("oracle failed")

    def g(x, y):
        return 0.5 * y @ y, np.zeros(1), y

    with pytest.raises(RuntimeError, match="oracle failed"):
        solvent.bilevel(f, g, [0.0], [0.0])

    def wrong(x, y):
        return 0.0, np.zeros(2), np.zeros(1)

    with pytest.raises(ValueError, match="lengths 2 and 1"):
        solvent.bilevel(wrong, g, [0.0], [0.0])
