//! Preconditioned conjugate gradients, written once: [`cg_iteration`] is the step every
//! CG in Solvent takes (the Krylov solver `solvent_solvers::krylov::Cg` calls it once per
//! run-loop step on large sparse systems), and [`pcg`] is the loop the small and
//! matrix-free solves run to a residual target (a completion row's normal equations, a
//! BCD block's Newton system, AID's lower-level Hessian system).
//!
//! ```
//! use solvent_linalg::cg::{pcg, PcgStop};
//!
//! // [[4, 1], [1, 3]] x = [1, 2] from x = 0: CG is exact in two steps
//! let a = |p: &[f64], q: &mut [f64]| -> Result<(), ()> {
//!     q[0] = 4.0 * p[0] + p[1];
//!     q[1] = p[0] + 3.0 * p[1];
//!     Ok(())
//! };
//! let (mut x, mut r, mut work) = (vec![0.0; 2], vec![1.0, 2.0], vec![0.0; 6]);
//! let out = pcg(&mut x, &mut r, &mut work, 1e-24, 10, a, None).unwrap();
//! assert_eq!(out.stop, PcgStop::Converged);
//! assert!((x[0] - 1.0 / 11.0).abs() < 1e-12 && (x[1] - 7.0 / 11.0).abs() < 1e-12);
//! ```

use crate::vector::{axpy, dot, xpby};

/// A preconditioner as a function `z = M⁻¹ r` (`None`: the identity, at no cost).
pub type PrecondFn<'r, 'f> = Option<&'r mut (dyn FnMut(&[f64], &mut [f64]) + 'f)>;

/// The vectors of a CG iteration.
pub struct CgVectors<'a> {
    /// The iterate.
    pub x: &'a mut [f64],
    /// The residual `b − A x`.
    pub r: &'a mut [f64],
    /// The preconditioned residual `M⁻¹ r` (unused without a preconditioner).
    pub z: &'a mut [f64],
    /// The search direction.
    pub p: &'a mut [f64],
    /// `A p`.
    pub q: &'a mut [f64],
}

/// What one iteration did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CgIteration {
    /// The iterate moved; `rr = ‖r‖²` after the step.
    Moved {
        /// `‖r‖²` of the new residual.
        rr: f64,
    },
    /// `pᵀAp ≤ 0` (or NaN): the operator is not positive definite; nothing moved.
    NonPositiveCurvature {
        /// The value of `pᵀAp`.
        pap: f64,
    },
    /// `rᵀM⁻¹r < 0`: the preconditioner is not positive definite (the iterate moved).
    IndefinitePreconditioner {
        /// The value of `rᵀM⁻¹r`.
        rz: f64,
    },
}

/// Starts CG from the residual in `v.r`: `z = M⁻¹ r`, `p = z`; returns `rᵀz`.
pub fn cg_start(v: &mut CgVectors<'_>, precond: PrecondFn<'_, '_>) -> f64 {
    match precond {
        Some(m) => {
            m(v.r, v.z);
            v.p.copy_from_slice(v.z);
            dot(v.r, v.z)
        }
        None => {
            v.p.copy_from_slice(v.r);
            dot(v.r, v.r)
        }
    }
}

/// One preconditioned CG iteration (Hestenes–Stiefel with `M⁻¹` applied to the
/// residual): `q = A p`, `α = rz/pᵀq`, `x += α p`, `r −= α q`, `z = M⁻¹ r`,
/// `β = rᵀz/rz`, `p = z + β p`; `rz` is updated. One operator and one preconditioner
/// application, two dot products (one without a preconditioner), three vector updates,
/// with [`crate::vector`]'s kernels (parallel and deterministic on long vectors).
pub fn cg_iteration<E>(
    v: &mut CgVectors<'_>,
    rz: &mut f64,
    apply: impl FnOnce(&[f64], &mut [f64]) -> Result<(), E>,
    precond: PrecondFn<'_, '_>,
) -> Result<CgIteration, E> {
    apply(v.p, v.q)?;
    let pq = dot(v.p, v.q);
    if pq.is_nan() || pq <= 0.0 {
        return Ok(CgIteration::NonPositiveCurvature { pap: pq });
    }
    let alpha = *rz / pq;
    axpy(alpha, v.p, v.x);
    axpy(-alpha, v.q, v.r);
    let rr = dot(v.r, v.r);
    let (z, rz_new): (&[f64], f64) = match precond {
        Some(m) => {
            m(v.r, v.z);
            (&*v.z, dot(v.r, v.z))
        }
        None => (&*v.r, rr),
    };
    if rz_new < 0.0 {
        return Ok(CgIteration::IndefinitePreconditioner { rz: rz_new });
    }
    let beta = rz_new / *rz;
    *rz = rz_new;
    xpby(z, beta, v.p);
    Ok(CgIteration::Moved { rr })
}

/// Why [`pcg`] stopped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PcgStop {
    /// `‖r‖² ≤ stop_rr`.
    Converged,
    /// `max_iters` iterations.
    IterationLimit,
    /// `pᵀAp ≤ 0`: the operator is not positive definite.
    NonPositiveCurvature {
        /// The value of `pᵀAp`.
        pap: f64,
    },
    /// `rᵀM⁻¹r < 0`: the preconditioner is not positive definite.
    IndefinitePreconditioner {
        /// The value of `rᵀM⁻¹r`.
        rz: f64,
    },
}

/// What [`pcg`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PcgOutcome {
    /// Iterations taken (operator applications after the start).
    pub iterations: usize,
    /// `‖r‖²` at the end.
    pub rr: f64,
    /// Why it stopped.
    pub stop: PcgStop,
}

/// Preconditioned CG on `A x = b` from the `x` given, with `r = b − A x` given in `r`,
/// until `‖r‖² ≤ stop_rr` (an absolute target: callers scale it, e.g. by `‖r₀‖²`) or
/// `max_iters` iterations. `work` holds at least `3n` values (z, p, q); nothing is
/// allocated. An error from `apply` stops the loop and is returned.
pub fn pcg<E>(
    x: &mut [f64],
    r: &mut [f64],
    work: &mut [f64],
    stop_rr: f64,
    max_iters: usize,
    mut apply: impl FnMut(&[f64], &mut [f64]) -> Result<(), E>,
    mut precond: PrecondFn<'_, '_>,
) -> Result<PcgOutcome, E> {
    let n = x.len();
    let (z, rest) = work[..3 * n].split_at_mut(n);
    let (p, q) = rest.split_at_mut(n);
    let mut v = CgVectors { x, r, z, p, q };
    let mut rr = dot(v.r, v.r);
    let mut rz = cg_start(&mut v, precond.as_deref_mut());
    let mut iterations = 0;
    let stop = loop {
        if rr <= stop_rr || rr == 0.0 {
            break PcgStop::Converged;
        }
        if iterations >= max_iters {
            break PcgStop::IterationLimit;
        }
        match cg_iteration(&mut v, &mut rz, &mut apply, precond.as_deref_mut())? {
            CgIteration::Moved { rr: next } => rr = next,
            CgIteration::NonPositiveCurvature { pap } => break PcgStop::NonPositiveCurvature { pap },
            CgIteration::IndefinitePreconditioner { rz } => {
                iterations += 1;
                break PcgStop::IndefinitePreconditioner { rz };
            }
        }
        iterations += 1;
    };
    Ok(PcgOutcome { iterations, rr, stop })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random SPD matrix `BᵀB + I` of order n, row-major.
    fn spd(n: usize) -> Vec<f64> {
        let b: Vec<f64> = (0..n * n)
            .map(|i| ((i * 7919 % 101) as f64 / 101.0) - 0.5)
            .collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| b[k * n + i] * b[k * n + j]).sum::<f64>() + f64::from(i == j);
            }
        }
        a
    }

    #[test]
    fn pcg_matches_a_dense_solve_with_and_without_a_preconditioner() {
        let n = 30;
        let a = spd(n);
        let b: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let mul = |p: &[f64], q: &mut [f64]| -> Result<(), ()> {
            for i in 0..n {
                q[i] = (0..n).map(|j| a[i * n + j] * p[j]).sum();
            }
            Ok(())
        };
        let diag: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
        let mut jacobi = |r: &[f64], z: &mut [f64]| {
            for i in 0..n {
                z[i] = r[i] / diag[i];
            }
        };
        let mut xs = Vec::new();
        for pre in [false, true] {
            let (mut x, mut r, mut w) = (vec![0.0; n], b.clone(), vec![0.0; 3 * n]);
            let m: PrecondFn<'_, '_> = if pre { Some(&mut jacobi) } else { None };
            let out = pcg(&mut x, &mut r, &mut w, 1e-26, 200, mul, m).unwrap();
            assert_eq!(out.stop, PcgStop::Converged, "precond {pre}");
            let mut ax = vec![0.0; n];
            mul(&x, &mut ax).unwrap();
            let res: f64 = ax
                .iter()
                .zip(&b)
                .map(|(p, q)| (p - q).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(res < 1e-11, "precond {pre}: residual {res:e}");
            xs.push(x);
        }
        let d: f64 = xs[0]
            .iter()
            .zip(&xs[1])
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max);
        assert!(d < 1e-10);
    }

    #[test]
    fn pcg_reports_indefiniteness_and_limits_and_passes_errors_on() {
        // diag(1, −1): pᵀAp = 0 on the first step from r = (1, 1)
        let ind = |p: &[f64], q: &mut [f64]| -> Result<(), ()> {
            q[0] = p[0];
            q[1] = -p[1];
            Ok(())
        };
        let (mut x, mut r, mut w) = (vec![0.0; 2], vec![1.0, 1.0], vec![0.0; 6]);
        let out = pcg(&mut x, &mut r, &mut w, 0.0, 10, ind, None).unwrap();
        assert!(matches!(out.stop, PcgStop::NonPositiveCurvature { .. }));
        assert_eq!(x, vec![0.0, 0.0]);
        // one iteration only
        let id = |p: &[f64], q: &mut [f64]| -> Result<(), ()> {
            q.copy_from_slice(p);
            q[0] *= 2.0;
            Ok(())
        };
        let (mut x, mut r) = (vec![0.0; 2], vec![1.0, 1.0]);
        let out = pcg(&mut x, &mut r, &mut w, 0.0, 1, id, None).unwrap();
        assert_eq!((out.stop, out.iterations), (PcgStop::IterationLimit, 1));
        // an operator's error comes back
        let fails = |_: &[f64], _: &mut [f64]| -> Result<(), &'static str> { Err("no") };
        let (mut x, mut r) = (vec![0.0; 2], vec![1.0, 1.0]);
        assert_eq!(pcg(&mut x, &mut r, &mut w, 0.0, 5, fails, None), Err("no"));
    }
}
