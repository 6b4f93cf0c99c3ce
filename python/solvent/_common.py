"""Conversions and checks shared by the public functions."""

from __future__ import annotations

import json
import warnings
from typing import Any, Dict, Tuple

import numpy as np


class ConvergenceWarning(UserWarning):
    """A run stopped before reaching its tolerance.

    The result is still returned (its ``status`` says why the run stopped); this
    warning makes sure a non-converged answer is never silent. Filter it with
    ``warnings.simplefilter("ignore", solvent.ConvergenceWarning)``.
    """


class NotFittedError(ValueError, AttributeError):
    """An estimator used before ``fit`` (a ``ValueError`` and an ``AttributeError``, as
    scikit-learn's ``NotFittedError``)."""


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this package."""
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    return level


def warn_not_converged(what: str, status: str, detail: str = "") -> None:
    """Emit a :class:`ConvergenceWarning` for a run that ended with ``status``, pointed
    at the user's line that called into the package."""
    extra = f" ({detail})" if detail else ""
    warnings.warn(
        f"{what} did not converge: {status}{extra}",
        ConvergenceWarning,
        stacklevel=_caller_level(),
    )


def number(value: Any) -> float:
    """A number from a JSON report (NaN and infinities travel as null)."""
    return float("nan") if value is None else float(value)


def is_sparse(a: Any) -> bool:
    """Whether ``a`` is a SciPy sparse matrix or array (without importing SciPy)."""
    return hasattr(a, "tocsr") and hasattr(a, "nnz") and hasattr(a, "shape")


def real_dtype(dtype: Any, name: str) -> None:
    """``TypeError`` naming ``name`` unless ``dtype`` holds real numbers."""
    if dtype.kind == "c":
        raise TypeError(f"{name} is complex ({dtype}); Solvent solves real systems")
    if dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers, found dtype {dtype}")


def csr_arrays(a: Any, name: str, square: bool = False) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Tuple[int, int]]:
    """``(indptr, indices, data, shape)`` of ``a`` as int32/int32/float64 CSR arrays.

    ``a`` is a SciPy sparse matrix or array in any format (converted to CSR once;
    a canonical float64 CSR matrix with int32 indices is passed on without a copy)
    or a dense 2-D array-like. Raises ``TypeError`` for what is not a matrix of real
    numbers and ``ValueError`` (naming ``name``) for a wrong shape or non-finite values.
    """
    if is_sparse(a):
        m = a if getattr(a, "format", None) == "csr" else a.tocsr()
        if (m.dtype == np.float64 and m.indptr.dtype == np.int32 and m.indices.dtype == np.int32
                and m.has_canonical_format):
            # the common case, passed as it is (the extension checks finiteness and structure)
            shape = m.shape
            if square and shape[0] != shape[1]:
                raise ValueError(f"{name} must be square, found shape {shape}")
            if shape[0] == 0 or shape[1] == 0:
                raise ValueError(f"{name} is empty (shape {shape})")
            return m.indptr, m.indices, m.data, (int(shape[0]), int(shape[1]))
        if not m.has_canonical_format:
            m = m.copy()
            m.sum_duplicates()
        real_dtype(m.dtype, name)
        shape = (int(m.shape[0]), int(m.shape[1]))
        data = np.ascontiguousarray(m.data, dtype=np.float64)
        indptr = np.ascontiguousarray(m.indptr, dtype=np.int32)
        indices = np.ascontiguousarray(m.indices, dtype=np.int32)
    else:
        if isinstance(a, (str, bytes)) or a is None:
            raise TypeError(f"{name} must be a matrix (SciPy sparse or a 2-D array), not {type(a).__name__}")
        d = np.asarray(a)
        real_dtype(d.dtype, name)
        if d.ndim != 2:
            raise ValueError(f"{name} must be 2-D, found shape {d.shape}")
        d = np.asarray(d, dtype=np.float64)
        shape = (int(d.shape[0]), int(d.shape[1]))
        rows, cols = np.nonzero(d)
        data = np.ascontiguousarray(d[rows, cols])
        indices = np.ascontiguousarray(cols, dtype=np.int32)
        counts = np.bincount(rows, minlength=shape[0])
        indptr = np.zeros(shape[0] + 1, dtype=np.int32)
        np.cumsum(counts, out=indptr[1:])
    if square and shape[0] != shape[1]:
        raise ValueError(f"{name} must be square, found shape {shape}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {shape})")
    if not np.isfinite(data).all():
        bad = int(np.flatnonzero(~np.isfinite(data))[0])
        row = int(np.searchsorted(indptr, bad, side="right") - 1)
        raise ValueError(f"{name} holds a non-finite value ({data[bad]}) in row {row}")
    return indptr, indices, data, shape


def vector(v: Any, name: str, n: int) -> np.ndarray:
    """``v`` as a contiguous float64 vector of length ``n``, or ``ValueError``/``TypeError``."""
    if type(v) is np.ndarray and v.dtype == np.float64 and v.ndim == 1 and v.flags.c_contiguous:
        if v.shape[0] != n:
            raise ValueError(f"{name} has {v.shape[0]} entries; expected {n}")
        if not np.isfinite(v).all():
            bad = int(np.flatnonzero(~np.isfinite(v))[0])
            raise ValueError(f"{name}[{bad}] is {v[bad]}: values must be finite")
        return v
    if isinstance(v, (str, bytes)) or v is None:
        raise TypeError(f"{name} must be an array of numbers, not {type(v).__name__}")
    a = np.asarray(v)
    real_dtype(a.dtype, name)
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, found shape {a.shape}")
    if a.shape[0] != n:
        raise ValueError(f"{name} has {a.shape[0]} entries; expected {n}")
    if not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a))[0])
        raise ValueError(f"{name}[{bad}] is {a[bad]}: values must be finite")
    return a


def positive(value: Any, name: str, integer: bool = False, allow_zero: bool = False) -> Any:
    """Checks a positive number setting (``ValueError``/``TypeError`` naming it)."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise TypeError(f"{name} must be {'an integer' if integer else 'a number'}, not {type(value).__name__}")
    ok = value >= 0 if allow_zero else value > 0
    if not ok or (not integer and not np.isfinite(value)):
        raise ValueError(f"{name} must be {'≥ 0' if allow_zero else '> 0'}, found {value}")
    return int(value) if integer else float(value)


def status_name(status: Dict[str, Any]) -> str:
    """The status kind of a report (``converged``, ``iteration_limit``, …)."""
    return str(status.get("kind", "unknown"))


def load(text: str) -> Dict[str, Any]:
    """A report handed over as JSON text."""
    return json.loads(text)
