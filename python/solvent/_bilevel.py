"""Bilevel optimisation by first-order penalty methods: ``bilevel``."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from . import _solvent
from ._common import load, number, positive, status_name, warn_not_converged

Oracle = Callable[[np.ndarray, np.ndarray], Tuple[float, np.ndarray, np.ndarray]]


class BilevelResult:
    """What :func:`bilevel` returns.

    Attributes
    ----------
    x : ndarray
        The upper variable.
    y : ndarray
        The lower solution at ``x`` (the penalised one, for penalty methods).
    status : str
    converged : bool
    iterations : int
        Outer iterations.
    grad_norm : float
        The projected hypergradient norm at the end (the convergence measure).
    value : float or None
        The upper objective ``f(x, y)``.
    calls : dict
        Oracle calls.
    report : dict
    """

    def __init__(self, x, y, info):
        report = info["report"]
        self.x = x
        self.y = y
        self.report = info
        self.status = status_name(report["status"])
        self.converged = self.status == "converged"
        self.iterations = int(report["iterations"])
        self.grad_norm = number(report["metrics"]["value"])
        self.value = number(report["metrics"].get("objective"))
        self.calls = info.get("calls")
        self.details = info.get("details")

    def __repr__(self) -> str:
        return (f"BilevelResult(status={self.status!r}, iterations={self.iterations}, "
                f"grad_norm={self.grad_norm:.3e}, x={np.array2string(self.x, threshold=6)})")


class _Settings:
    def __init__(self, method, sigma, sigma_min, step, seed, tol, maxiter):
        self.method = str(method)
        self.sigma = None if sigma is None else positive(sigma, "sigma")
        self.sigma_min = None if sigma_min is None else positive(sigma_min, "sigma_min")
        self.step = None if step is None else positive(step, "step")
        self.seed = positive(seed, "seed", integer=True, allow_zero=True)
        self.tol = positive(tol, "tol")
        self.maxiter = None if maxiter is None else positive(maxiter, "maxiter", integer=True)


def _bounds(b: Any, n: int, name: str):
    if b is None:
        return None
    lo, hi = b
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (n,)).tolist()
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (n,)).tolist()
    return lo, hi


def bilevel(
    f: Union[Oracle, str],
    g: Optional[Oracle] = None,
    x0: Any = None,
    y0: Any = None,
    *,
    method: str = "penalty",
    x_bounds: Optional[Tuple[Any, Any]] = None,
    y_bounds: Optional[Tuple[Any, Any]] = None,
    sigma: Optional[float] = None,
    sigma_min: Optional[float] = None,
    step: Optional[float] = None,
    tol: float = 1e-6,
    maxiter: Optional[int] = None,
    seed: int = 0,
    dim: Tuple[int, int] = (10, 10),
    condition: float = 10.0,
) -> BilevelResult:
    """Minimise ``f(x, y*(x))`` over ``x`` where ``y*(x)`` minimises ``g(x, ·)``, with
    fully first-order penalty methods (no Hessians).

    Parameters
    ----------
    f, g : callable
        ``f(x, y) -> (value, grad_x, grad_y)`` and the same for ``g``, with NumPy
        arrays; called back from the solver (with the GIL held for the call only).
        Or ``f`` the name of a built-in problem (``"toy"``: the nonconvex toy on
        x ∈ [0, 3]; ``"quadratic"``: a random quadratic with a closed form, sizes
        ``dim``), and ``g`` None.
    x0, y0 : array-like
        Starting point (for ``"toy"``/``"quadratic"``: ``x0`` only, optional).
    method : {"penalty", "penalty-stoch", "penalty-single-loop", "f2sa", "aid"}
        ``aid`` needs Hessian-vector products and works on built-in problems only.
    x_bounds, y_bounds : (lo, hi), optional
        Box constraints (scalars or arrays).
    sigma, sigma_min : float, optional
        Penalty parameter σ (fixed), or decreasing from ``sigma`` to ``sigma_min``.
    step : float, optional
        Outer step (default: from the problem's smoothness estimates).
    tol : float
        Stop when the projected hypergradient norm is at most ``tol``.
    maxiter : int, optional
        Outer iterations (default 1000; 500,000 for the single loop).
    seed : int

    Returns
    -------
    BilevelResult

    Warns
    -----
    ConvergenceWarning
        When the run stops before ``tol``.
    """
    settings = _Settings(method, sigma, sigma_min, step, seed, tol, maxiter)
    if isinstance(f, str):
        if g is not None or y0 is not None or x_bounds is not None or y_bounds is not None:
            raise ValueError(f"built-in problem {f!r}: give x0 only (its sets are its own)")
        x0l = None if x0 is None else np.asarray(x0, dtype=np.float64).ravel().tolist()
        dx, dy = (positive(dim[0], "dim[0]", integer=True), positive(dim[1], "dim[1]", integer=True))
        x, y, text = _solvent.bilevel_builtin(f, x0l, (dx, dy), float(condition), settings)
    else:
        if not callable(f) or not callable(g):
            raise TypeError("f and g must be callables returning (value, grad_x, grad_y), or f a problem name")
        if x0 is None or y0 is None:
            raise ValueError("x0 and y0 are needed with callables")
        x0a = np.asarray(x0, dtype=np.float64).ravel()
        y0a = np.asarray(y0, dtype=np.float64).ravel()

        def wrap(h, name):
            def call(x, y):
                out = h(x, y)
                if not (isinstance(out, tuple) and len(out) == 3):
                    raise TypeError(f"{name}(x, y) must return (value, grad_x, grad_y)")
                v, gx, gy = out
                return (float(v), np.ascontiguousarray(gx, dtype=np.float64).ravel(),
                        np.ascontiguousarray(gy, dtype=np.float64).ravel())
            return call

        x, y, text = _solvent.bilevel_callables(wrap(f, "f"), wrap(g, "g"), x0a.tolist(), y0a.tolist(),
                                                _bounds(x_bounds, x0a.size, "x_bounds"),
                                                _bounds(y_bounds, y0a.size, "y_bounds"), settings)
    result = BilevelResult(x, y, load(text))
    if not result.converged:
        warn_not_converged("bilevel", result.status, f"hypergradient norm {result.grad_norm:.3e}")
    return result
