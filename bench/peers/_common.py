"""Shared by the peer adapters of `solvent bench`: reading a suite's problem files and
writing the trace schema (docs/bench.md). Standard library only, so that a peer whose
own library is missing can still report itself as skipped."""
import json
import os
import struct
import sys
import zipfile


def write_trace(out, solver, version="", status="ok", reason="", trace=()):
    """Writes the trace schema to `out`, atomically (a temporary file renamed), so that
    an adapter may call it after every point and a run killed at the time limit keeps
    the points it had."""
    tmp = f"{out}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump({"solver": solver, "version": version, "status": status,
                   "reason": reason, "trace": list(trace)}, f)
    os.replace(tmp, out)


def skipped(out, solver, error):
    """Reports a peer whose library is not installed, and exits 0."""
    write_trace(out, solver, status="skipped", reason=f"not installed here: {error}")
    sys.exit(0)


def _npy(raw):
    """A .npy member as (shape, list of numbers), for the dtypes the suites write."""
    assert raw[:6] == b"\x93NUMPY", "not an .npy array"
    major = raw[6]
    hlen = struct.unpack("<H" if major == 1 else "<I", raw[8:10] if major == 1 else raw[8:12])[0]
    start = 10 if major == 1 else 12
    header = eval(raw[start:start + hlen].decode("latin1"))  # a Python dict literal by the format's spec
    shape = tuple(header["shape"])
    code = {"<f8": "d", "<i8": "q", "<f4": "f", "<i4": "i"}[header["descr"]]
    count = 1
    for d in shape:
        count *= d
    data = struct.unpack(f"<{count}{code}", raw[start + hlen:start + hlen + count * struct.calcsize(code)])
    return shape, list(data)


def read_npz(path):
    """Every array of an .npz file, as {name: (shape, values)}."""
    with zipfile.ZipFile(path) as z:
        return {n[:-4]: _npy(z.read(n)) for n in z.namelist() if n.endswith(".npy")}


def glm_problem(path):
    """The CSR design (data, indices, indptr, (n, p)), labels and λ of a lasso or
    l1-logistic problem file."""
    a = read_npz(path)
    n, p = (int(v) for v in a["shape"][1])
    return a["data"][1], a["indices"][1], a["indptr"][1], (n, p), a["y"][1], a["lambda"][1][0]


def glm_objective(np, X, y, lam, kind, w):
    """Solvent's objective of coefficients `w`: (1/2n)‖y − Xw‖² + λ‖w‖₁ for the Lasso,
    the mean logistic loss + λ‖w‖₁ for L1-logistic (labels ±1)."""
    z = X @ w
    if kind == "lasso":
        return 0.5 / X.shape[0] * float(np.sum((y - z) ** 2)) + lam * float(np.abs(w).sum())
    return float(np.mean(np.logaddexp(0.0, -y * z))) + lam * float(np.abs(w).sum())
