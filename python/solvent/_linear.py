"""Linear systems: one (``solve``) or a sequence (``solve_sequence``)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _solvent
from ._common import csr_arrays, load, positive, status_name, vector, warn_not_converged


class SolveResult:
    """What :func:`solve` reports about one solve.

    The fields are those of the Rust report (``solvent::solvers::Report`` and the
    ``SolvePlan``); ``report`` holds it whole.

    Attributes
    ----------
    status : str
        How the run ended: ``"converged"``, ``"iteration_limit"``, ``"time_limit"``,
        ``"interrupted"``, ``"stalled"``, ``"diverged"`` or ``"breakdown"``.
    converged : bool
        Whether ``status == "converged"``.
    iterations : int
        Krylov iterations (0 for a direct solve).
    residual : float
        The convergence measure at the end: the relative residual ``‖b − Ax‖/‖b‖``.
    time : float
        Seconds in the solver (setup excluded).
    setup_time : float
        Seconds analysing the matrix and building the preconditioner or factor.
    method, precond : str
        What ran (``auto`` resolved).
    reason : str
        Why the plan chose them.
    trace : list of dict
        ``{"iteration", "time_s", "residual"}`` samples along the run.
    report : dict
        The full report.
    """

    __slots__ = ("_outcome", "_report", "status", "converged", "iterations", "residual", "time", "setup_time",
                 "call_time", "method", "precond")

    def __init__(self, outcome: Any):
        self._outcome = outcome
        self._report: Optional[Dict[str, Any]] = None
        self.status: str = outcome.status
        self.converged: bool = self.status == "converged"
        self.iterations: int = outcome.iterations
        self.residual: float = outcome.residual
        self.time: float = outcome.elapsed_s
        self.setup_time: float = outcome.setup_s
        #: seconds of the library call alone (the rest of the Python call is the bindings')
        self.call_time: float = outcome.call_s
        self.method: str = outcome.method
        self.precond: str = outcome.precond

    @property
    def reason(self) -> str:
        """Why the plan chose this method and preconditioner."""
        return self._outcome.reason

    @property
    def report(self) -> Dict[str, Any]:
        """The full report (``{"report", "plan", "setup_s", "call_s"}``), built on first use."""
        if self._report is None:
            self._report = load(self._outcome.json())
        return self._report

    @property
    def trace(self) -> List[Dict[str, float]]:
        """``{"iteration", "time_s", "residual"}`` samples along the run."""
        return [
            {"iteration": t["iteration"], "time_s": t["time_s"], "residual": t["metrics"]["value"]}
            for t in self.report["report"].get("trace", [])
        ]

    def __repr__(self) -> str:
        return (
            f"SolveResult(status={self.status!r}, iterations={self.iterations}, "
            f"residual={self.residual:.3e}, time={self.time:.3g}s, method={self.method!r}, "
            f"precond={self.precond!r})"
        )


def solve(
    A: Any,
    b: Any,
    method: str = "auto",
    precond: str = "auto",
    tol: float = 1e-8,
    maxiter: Optional[int] = None,
    x0: Any = None,
    *,
    restart: int = 40,
    device: str = "cpu",
    time_limit: Optional[float] = None,
    trace: bool = True,
) -> Tuple[np.ndarray, Union[SolveResult, List[SolveResult]]]:
    """Solve the sparse linear system ``A x = b``.

    Parameters
    ----------
    A : sparse matrix or array, shape (n, n)
        Any ``scipy.sparse`` matrix or array (CSR, CSC, COO, …; converted to CSR once,
        a canonical float64 CSR with int32 indices passed without conversion) or a
        dense 2-D array.
    b : ndarray, shape (n,) or (n, k)
        Right-hand side, or ``k`` right-hand sides as columns (solved one by one).
    method : {"auto", "cg", "gmres", "gcrodr", "bicgstab", "minres", "direct"}
        ``auto`` analyses the matrix (symmetry, definiteness, predicted factor fill)
        and picks a sparse direct solve or a Krylov method; the choice and its reason
        are in the result.
    precond : {"auto", "none", "jacobi", "ssor", "ilu0", "ic0"}
        Preconditioner of the Krylov methods; ``auto`` picks one for the method.
    tol : float
        Stop when the relative residual ``‖b − Ax‖ / ‖b‖`` is at most ``tol``.
    maxiter : int, optional
        Iteration limit (default: the library's, 10,000).
    x0 : ndarray, shape (n,), optional
        Starting guess.
    restart : int
        GMRES restart length (GCRO-DR: its basis size).
    device : {"cpu", "gpu", "auto"}
        Where to solve (``gpu`` needs a Vulkan, Metal or DX12 adapter). Default
        ``cpu`` (the CLI's ``solve`` defaults to ``auto``).
    time_limit : float, optional
        Stop after this many seconds.
    trace : bool
        Record the residual along the run (``result.trace``).

    Returns
    -------
    x : ndarray, shape (n,) or (n, k)
        The solution (the last iterate when the run did not converge).
    result : SolveResult, or a list of them for several right-hand sides
        Status, iterations, residual, times, plan and its reason, trace.

    Raises
    ------
    ValueError
        A non-square ``A``, a ``b`` of the wrong length, NaN or infinity in the
        input, an unknown method or preconditioner.
    TypeError
        An input that is not a real matrix or vector.

    Warns
    -----
    ConvergenceWarning
        When the run stops before reaching ``tol`` (the result says why).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, solvent
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(100, 100), format="csr")
    >>> x, info = solvent.solve(A, np.ones(100))
    >>> info.converged
    True
    """
    indptr, indices, data, shape = csr_arrays(A, "A", square=True)
    n = shape[0]
    if maxiter is not None:
        maxiter = positive(maxiter, "maxiter", integer=True)
    positive(tol, "tol")
    restart = positive(restart, "restart", integer=True)
    x0v = None if x0 is None else vector(x0, "x0", n)
    bb = np.asarray(b) if not isinstance(b, (str, bytes)) and b is not None else b
    if isinstance(bb, np.ndarray) and bb.ndim == 2:
        if bb.shape[0] != n:
            raise ValueError(f"b has {bb.shape[0]} rows; A has {n}")
        xs, results = [], []
        for j in range(bb.shape[1]):
            x, r = _solve_one(indptr, indices, data, n, vector(bb[:, j], f"b[:, {j}]", n), method, precond,
                              tol, maxiter, x0v, restart, device, time_limit, trace)
            xs.append(x)
            results.append(r)
        return np.column_stack(xs) if xs else np.zeros((n, 0)), results
    return _solve_one(indptr, indices, data, n, vector(b, "b", n), method, precond, tol, maxiter, x0v,
                      restart, device, time_limit, trace)


def _solve_one(indptr, indices, data, n, b, method, precond, tol, maxiter, x0, restart, device, time_limit,
               trace):
    x, outcome = _solvent.solve_csr(indptr, indices, data, n, b, str(method), str(precond), float(tol), maxiter,
                                    x0, restart, str(device), time_limit, bool(trace))
    result = SolveResult(outcome)
    if not result.converged:
        warn_not_converged("solve", result.status, f"relative residual {result.residual:.3e}")
    return x, result


class SequenceResult:
    """What :func:`solve_sequence` reports (the Rust ``SequenceReport``).

    Attributes
    ----------
    converged : bool
        Whether every system converged.
    failed : list of int
        Indices of the systems that did not.
    order : list of int
        The solve order (original indices).
    total_iterations : int
    solve_time, ordering_time, assembly_time, wall_time : float
        Seconds.
    reason : str
        Why the plan (strategy, method, preconditioner) was chosen.
    plan : dict
    systems : list of dict
        Per system, in the original order: ``index``, ``iterations``, ``relres``,
        ``converged``, ``status``, ``setup_s``, ``solve_s``, …
    report : dict
        The full report.
    """

    def __init__(self, report: Dict[str, Any]):
        self.report = report
        self.failed: List[int] = list(report["failed"])
        self.converged: bool = not self.failed
        self.order: List[int] = list(report["order"])
        self.total_iterations: int = int(report["total_iterations"])
        self.solve_time: float = float(report["solve_s"])
        self.ordering_time: float = float(report["ordering_s"])
        self.assembly_time: float = float(report["assembly_s"])
        self.wall_time: float = float(report["wall_s"])
        self.plan: Dict[str, Any] = report["plan"]
        self.reason: str = str(report["plan"]["reason"])
        self.systems: List[Dict[str, Any]] = report["systems"]

    def __repr__(self) -> str:
        return (
            f"SequenceResult(systems={len(self.systems)}, total_iterations={self.total_iterations}, "
            f"solve_time={self.solve_time:.3g}s, failed={len(self.failed)})"
        )


class _InOrder:
    """Serves a one-pass iterable to the solver, which asks for items 0, 1, 2, … in turn
    (each at most twice in a row): only the current item is held."""

    def __init__(self, items: Iterable[Any]):
        self._it = iter(items)
        self._pos = -1
        self._cur: Any = None

    def __call__(self, i: int) -> Any:
        if i == self._pos:
            return self._cur
        if i != self._pos + 1:
            raise ValueError(
                f"matrices: an iterator is read once, in order (asked for item {i} after {self._pos}); "
                "pass a sequence or a callable i -> matrix for sorted or parallel solves"
            )
        try:
            self._cur = next(self._it)
        except StopIteration:
            raise ValueError(f"matrices: the iterator ended after {i} items; count says more") from None
        self._pos = i
        return self._cur


def solve_sequence(
    matrices: Union[Iterable[Any], Sequence[Any], Callable[[int], Any]],
    rhs: Any = None,
    params: Any = None,
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
    device: str = "cpu",
    count: Optional[int] = None,
    on_done: Optional[Callable[[int, np.ndarray, Dict[str, Any]], None]] = None,
    progress: bool = False,
) -> Tuple[Optional[np.ndarray], SequenceResult]:
    """Solve a sequence of related sparse systems ``A_i x_i = b_i``, carrying what helps
    from one to the next (recycled Krylov space, warm start, preconditioner, factor).

    Parameters
    ----------
    matrices : iterable, sequence, or callable
        The matrices (SciPy sparse or dense), or ``(A_i, b_i)`` pairs when ``rhs`` is
        None. An iterator or generator is consumed lazily, one system at a time, in
        the given order (a generator of 10⁴ systems is never held at once). A sequence
        (``len`` and indexing) or a callable ``i -> A_i`` (with ``count``) is asked for
        systems in any order, which sorting and ``jobs > 1`` need.
    rhs : ndarray, optional
        One right-hand side for all systems (shape (n,)), or one per system (shape
        (K, n)); None when the items are ``(A_i, b_i)`` pairs.
    params : ndarray, shape (K, d), optional
        The parameters of each system; with them the sequence is sorted so that
        neighbours are similar (the SKR ordering) before solving. Without them the
        systems are solved in the given order.
    strategy : {"auto", "skr", "independent"}
        ``skr``: the published sorted GCRO-DR; ``independent``: every system from zero
        with GMRES(m), the baseline; ``auto``: every trick, chosen per sequence.
    method, precond, tol, maxiter, restart, recycle, refresh_every
        As in ``solvent solve-seq``, with its defaults (``maxiter`` per system;
        ``recycle``: GCRO-DR's k, default 20 for ``skr``, 5 for ``auto``, which then
        runs GCRO-DR(restart + k, k) on large nonsymmetric sequences; naming it under
        ``auto`` asks for GCRO-DR at any size).
    jobs : int
        Cut the solve order into this many contiguous chains solved at once.
    device : {"cpu", "gpu", "auto"}
        Default ``cpu`` (``solve-seq`` defaults to ``auto``): a Python source is
        read on the solving thread.
    count : int, optional
        Number of systems when ``matrices`` has no length (a generator or callable).
    on_done : callable, optional
        ``on_done(index, x, record)`` for every solved system (in solve order); the
        solutions are then not kept and the first return value is None.
    progress : bool
        Print progress on standard error.

    Returns
    -------
    X : ndarray, shape (K, n), or None with ``on_done``
        Solution ``i`` in row ``i``.
    result : SequenceResult

    Warns
    -----
    ConvergenceWarning
        When a system does not converge (the others are still solved).
    """
    if is_mapping_like(matrices):
        raise TypeError("matrices must be an iterable, a sequence or a callable of matrices")
    feats = None
    if params is not None:
        p = np.asarray(params, dtype=np.float64)
        if p.ndim == 1:
            p = p[:, None]
        if p.ndim != 2:
            raise ValueError(f"params must be (K, d), found shape {p.shape}")
        if not np.isfinite(p).all():
            raise ValueError("params must be finite")
        feats = p.tolist()
    jobs = positive(jobs, "jobs", integer=True)
    if callable(matrices) and not hasattr(matrices, "__len__"):
        getter = matrices
        k = count if count is not None else (len(feats) if feats is not None else None)
        if k is None:
            raise ValueError("count: a callable has no length; pass count=K")
    elif hasattr(matrices, "__len__") and hasattr(matrices, "__getitem__"):
        seq = matrices
        getter = seq.__getitem__
        k = len(seq)
    else:
        if str(device) != "cpu":
            raise ValueError("matrices: an iterator is solved on the CPU (device='cpu'); the GPU path "
                             "assembles systems in batches, out of order: pass a sequence or a callable")
        if feats is not None or jobs > 1:
            raise ValueError(
                "matrices: sorting (params) and jobs > 1 need the systems in any order; pass a sequence "
                "or a callable i -> matrix (with count), or leave params out to solve in the given order"
            )
        getter = _InOrder(matrices)
        k = count if count is not None else None
        if k is None:
            raise ValueError("count: an iterator has no length; pass count=K")
    k = positive(k, "count", integer=True)
    if feats is not None and len(feats) != k:
        raise ValueError(f"params has {len(feats)} rows for {k} systems")
    rhs_arr: Any = None
    if rhs is not None:
        try:
            rhs_arr = np.asarray(rhs, dtype=np.float64)
        except (ValueError, TypeError):
            # ragged: one vector per system, of their own lengths
            if len(rhs) != k:
                raise ValueError(f"rhs has {len(rhs)} vectors for {k} systems") from None
            rhs_arr = list(rhs)
        if isinstance(rhs_arr, np.ndarray):
            if rhs_arr.ndim not in (1, 2):
                raise ValueError(f"rhs must be (n,) or (K, n), found shape {rhs_arr.shape}")
            if rhs_arr.ndim == 2 and rhs_arr.shape[0] != k:
                raise ValueError(f"rhs has {rhs_arr.shape[0]} rows for {k} systems")

    def get(i: int):
        item = getter(i)
        if rhs_arr is None:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise ValueError(f"matrices[{i}]: without rhs every item must be an (A, b) pair")
            a, b = item
        else:
            a = item
            b = rhs_arr if isinstance(rhs_arr, np.ndarray) and rhs_arr.ndim == 1 else rhs_arr[i]
        indptr, indices, data, shape = csr_arrays(a, f"matrices[{i}]", square=True)
        return indptr, indices, data, shape[0], vector(b, f"rhs[{i}]", shape[0])

    cb = None
    if on_done is not None:
        def cb(index, x, record):
            on_done(index, x, load(record))

    settings = _Settings(strategy, method, precond, restart, recycle, refresh_every, jobs, device)
    maxiter = positive(maxiter, "maxiter", integer=True)
    X, text = _solvent.solve_sequence_source(get, k, feats, settings, float(tol), maxiter, cb, bool(progress))
    result = SequenceResult(load(text))
    if result.failed:
        warn_not_converged("solve_sequence", f"{len(result.failed)} of {len(result.systems)} systems",
                           f"first: system {result.failed[0]}")
    return X, result


def is_mapping_like(x: Any) -> bool:
    return isinstance(x, (dict, str, bytes))


class _Settings:
    """Sequence settings as the extension reads them (attribute access)."""

    def __init__(self, strategy, method, precond, restart, recycle, refresh_every, jobs, device):
        self.strategy = str(strategy)
        self.method = str(method)
        self.precond = str(precond)
        self.restart = positive(restart, "restart", integer=True)
        self.recycle = None if recycle is None else positive(recycle, "recycle", integer=True)
        self.refresh_every = None if refresh_every is None else positive(refresh_every, "refresh_every",
                                                                           integer=True)
        self.jobs = positive(jobs, "jobs", integer=True)
        self.device = str(device)
