"""Solvent against pyamg and PETSc on 3-D sequences (issue 30): the same systems,
exported by `solvent datagen FAMILY --systems FILE.npz`, solved one after the other
to a relative true residual of `--tol`, every setup (AMG hierarchy, ILU factor)
counted in the time. Run by benches/seq3d_peers.sh, which installs the peers.

Rows: Solvent's `auto`, `skr`, `independent` (GMRES(40) + ILU(0)) and CG + AMG (from
zero, and warm-started under auto); pyamg smoothed aggregation + CG (SPD) or GMRES;
PETSc (petsc4py) CG or GMRES(40) with GAMG, hypre BoomerAMG and ILU(0). Solvent's time
is its report's ordering time plus the solve phase's wall time (matrix assembly
from the arrays and the solves; reading the file excluded), the peers' the loop over the systems.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp


def load(path):
    z = np.load(path)
    indptr, indices, data, b = z["indptr"], z["indices"], z["data"], z["b"]
    n = len(indptr) - 1
    mats = [sp.csr_matrix((data[i], indices, indptr), shape=(n, n)) for i in range(data.shape[0])]
    return mats, [np.ascontiguousarray(b[i]) for i in range(b.shape[0])]


def relres(a, x, b):
    return float(np.linalg.norm(b - a @ x) / np.linalg.norm(b))


def solvent_row(binary, path, label, args, env_extra=None):
    with tempfile.TemporaryDirectory() as d:
        rep = os.path.join(d, "r.json")
        env = dict(os.environ, **(env_extra or {}))
        cmd = [binary, "solve-seq", path, "--out", os.path.join(d, "x.npz"), "--json", rep, "--quiet"] + args
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if p.returncode not in (0, 2):
            return {"solver": label, "error": p.stderr.strip()[-300:]}
        s = json.load(open(rep))
        worst = max(x["relres"] for x in s["systems"])
        return {
            "solver": label,
            "iterations": s["total_iterations"],
            "time_s": s["timings"]["ordering_s"] + s["solve_wall_s"],
            "max_relres": worst,
            "plan": s["plan"].get("reason", ""),
        }


def pyamg_row(mats, rhs, tol, spd):
    import pyamg

    its, worst = 0, 0.0
    t = time.perf_counter()
    for a, b in zip(mats, rhs):
        res = []
        if spd:
            ml = pyamg.smoothed_aggregation_solver(a)
            x = ml.solve(b, tol=tol, accel="cg", maxiter=2000, residuals=res)
        else:
            ml = pyamg.smoothed_aggregation_solver(a, symmetry="nonsymmetric")
            x = ml.solve(b, tol=tol, accel="gmres", maxiter=2000, residuals=res)
        its += max(len(res) - 1, 0)
        worst = max(worst, relres(a, x, b))
    return {
        "solver": "pyamg SA + " + ("CG" if spd else "GMRES"),
        "iterations": its,
        "time_s": time.perf_counter() - t,
        "max_relres": worst,
    }


def petsc_row(mats, rhs, tol, ksp_type, pc, label):
    from petsc4py import PETSc

    its, worst = 0, 0.0
    n = mats[0].shape[0]
    t = time.perf_counter()
    for a, b in zip(mats, rhs):
        A = PETSc.Mat().createAIJ(size=(n, n), csr=(a.indptr.astype(PETSc.IntType), a.indices.astype(PETSc.IntType), a.data))
        ksp = PETSc.KSP().create()
        ksp.setOperators(A)
        ksp.setType(ksp_type)
        if ksp_type == "gmres":
            ksp.setGMRESRestart(40)
            ksp.setPCSide(PETSc.PC.Side.RIGHT)
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        ksp.setTolerances(rtol=tol, atol=0.0, max_it=20000)
        p = ksp.getPC()
        if pc == "hypre":
            p.setType("hypre")
            p.setHYPREType("boomeramg")
        else:
            p.setType(pc)
        ksp.setFromOptions()
        x = A.createVecRight()
        bb = PETSc.Vec().createWithArray(b)
        ksp.solve(bb, x)
        its += ksp.getIterationNumber()
        worst = max(worst, relres(a, x.getArray().copy(), b))
        ksp.destroy()
        A.destroy()
    return {"solver": label, "iterations": its, "time_s": time.perf_counter() - t, "max_relres": worst}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--solvent", required=True)
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--out", default="target/seq3d_peers.json")
    ap.add_argument("files", nargs="+")
    o = ap.parse_args()
    rows = []
    for path in o.files:
        name = os.path.basename(path)[:-4]
        mats, rhs = load(path)
        spd = abs(mats[0] - mats[0].T).max() == 0
        tol = ["--tol", str(o.tol)]
        cands = [
            solvent_row(o.solvent, path, "Solvent auto", tol),
            solvent_row(o.solvent, path, "Solvent auto (1 thread)", tol, {"RAYON_NUM_THREADS": "1"}),
            solvent_row(o.solvent, path, "Solvent skr", tol + ["--strategy", "skr", "--precond", "ilu0"]),
            solvent_row(o.solvent, path, "Solvent independent GMRES(40) + ILU(0)", tol + ["--strategy", "independent", "--precond", "ilu0"]),
        ]
        if spd:
            cands += [
                solvent_row(o.solvent, path, "Solvent CG + AMG (from zero)", tol + ["--strategy", "independent", "--method", "cg", "--precond", "amg"]),
                solvent_row(o.solvent, path, "Solvent auto, CG + AMG", tol + ["--precond", "amg"]),
                solvent_row(o.solvent, path, "Solvent auto, CG + IC(0)", tol + ["--precond", "ic0"]),
            ]
        cands.append(pyamg_row(mats, rhs, o.tol, spd))
        k = "cg" if spd else "gmres"
        K = "CG" if spd else "GMRES(40)"
        cands += [
            petsc_row(mats, rhs, o.tol, k, "gamg", f"PETSc {K} + GAMG"),
            petsc_row(mats, rhs, o.tol, k, "hypre", f"PETSc {K} + hypre BoomerAMG"),
            petsc_row(mats, rhs, o.tol, "gmres", "ilu", "PETSc GMRES(40) + ILU(0)"),
        ]
        if spd:
            cands.append(petsc_row(mats, rhs, o.tol, "cg", "icc", "PETSc CG + IC(0)"))
        for c in cands:
            c["case"] = name
            rows.append(c)
            if "error" in c:
                print(f"{name:16} {c['solver']:42} error: {c['error']}", flush=True)
            else:
                print(f"{name:16} {c['solver']:42} {c['iterations']:7d} it {c['time_s']:8.3f} s  max relres {c['max_relres']:.1e}", flush=True)
    os.makedirs(os.path.dirname(o.out) or ".", exist_ok=True)
    json.dump(rows, open(o.out, "w"), indent=1)
    # markdown
    print("\n| case | solver | iterations | time (s) | max relres |\n|---|---|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['case']} | {r['solver']} | error | | |")
        else:
            print(f"| {r['case']} | {r['solver']} | {r['iterations']} | {r['time_s']:.3f} | {r['max_relres']:.1e} |")


if __name__ == "__main__":
    sys.exit(main())
