"""Type stubs of the extension module ``solvent._solvent`` (internal: use the functions
of the ``solvent`` package, which check their arguments and build result objects)."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

class SolveOutcome:
    """One solve's outcome: the fields below, and the whole report on demand."""

    @property
    def status(self) -> str: ...
    @property
    def iterations(self) -> int: ...
    @property
    def residual(self) -> float: ...
    @property
    def elapsed_s(self) -> float: ...
    @property
    def setup_s(self) -> float: ...
    @property
    def call_s(self) -> float: ...
    @property
    def method(self) -> str: ...
    @property
    def precond(self) -> str: ...
    @property
    def reason(self) -> str: ...
    def json(self) -> str: ...

def solve_csr(
    indptr: npt.NDArray[np.int32],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float64],
    n: int,
    b: npt.NDArray[np.float64],
    method: str,
    precond: str,
    tol: float,
    maxiter: Optional[int],
    x0: Optional[npt.NDArray[np.float64]],
    restart: int,
    device: str,
    time_limit: Optional[float],
    trace: bool,
) -> Tuple[npt.NDArray[np.float64], SolveOutcome]: ...
def solve_sequence_source(
    get: Callable[[int], Tuple[Any, Any, Any, int, Any]],
    count: int,
    features: Optional[List[List[float]]],
    settings: Any,
    tol: float,
    maxiter: int,
    on_done: Optional[Callable[[int, npt.NDArray[np.float64], str], None]],
    progress: bool,
) -> Tuple[Optional[npt.NDArray[np.float64]], str]: ...
def datagen(
    family: str,
    grid: int,
    count: int,
    seed: int,
    settings: Any,
    tol: float,
    maxiter: int,
    precision: str,
    published: bool,
    baseline: bool,
    shard: Optional[Tuple[int, int]],
    out: Optional[str],
    progress: bool,
) -> Tuple[Dict[str, Any], str]: ...
def bcd_fit(
    indptr: npt.NDArray[np.int32],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float64],
    shape: Tuple[int, int],
    y: npt.NDArray[np.float64],
    kind: str,
    lam: Optional[float],
    lambda_ratio: Optional[float],
    l2: Optional[float],
    intercept: bool,
    settings: Any,
    tol: float,
    maxiter: int,
    sample_weight: Optional[npt.NDArray[np.float64]] = ...,
) -> Tuple[npt.NDArray[np.float64], List[float], str]: ...
def complete(
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    shape: Tuple[int, int],
    rank: int,
    reg: float,
    solver: str,
    sweeps: int,
    tol: float,
    seed: int,
    center: bool,
    test: Optional[Tuple[Any, Any, Any]],
    time_limit: Optional[float],
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], str]: ...
def allocate(
    table: str,
    method: str,
    fraction: Optional[float],
    units: Optional[int],
    resource: str,
    resolution: int,
    compare: bool,
) -> str: ...
def bilevel_callables(
    f: Callable[[Any, Any], Tuple[float, Any, Any]],
    g: Callable[[Any, Any], Tuple[float, Any, Any]],
    x0: Sequence[float],
    y0: Sequence[float],
    x_bounds: Optional[Tuple[Sequence[float], Sequence[float]]],
    y_bounds: Optional[Tuple[Sequence[float], Sequence[float]]],
    settings: Any,
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], str]: ...
def bilevel_builtin(
    name: str,
    x0: Optional[Sequence[float]],
    dim: Tuple[int, int],
    condition: float,
    settings: Any,
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], str]: ...
