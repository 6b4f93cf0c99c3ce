use crate::error::{ProblemError, Result};
use solvent_linalg::CsrMatrix;

fn check_grid(m: usize) -> Result<()> {
    if m == 0 {
        return Err(ProblemError::Invalid("grid size must be at least 1".into()));
    }
    if m.checked_mul(m)
        .and_then(|n| n.checked_mul(5))
        .is_none_or(|nnz| nnz >= u32::MAX as usize)
    {
        return Err(ProblemError::Invalid(format!(
            "grid {m}×{m} is too large for u32 indices"
        )));
    }
    Ok(())
}

/// Assembles a 5-point stencil whose coefficients at grid point `(i, j)`
/// are `(centre, west, east, south, north)`; neighbours on the boundary are dropped.
fn assemble(m: usize, stencil: impl Fn(usize, usize) -> [f64; 5]) -> Result<CsrMatrix> {
    check_grid(m)?;
    let n = m * m;
    let mut row_ptr = Vec::with_capacity(n + 1);
    let mut col_idx = Vec::with_capacity(5 * n);
    let mut values = Vec::with_capacity(5 * n);
    row_ptr.push(0u32);
    for i in 0..m {
        for j in 0..m {
            let k = i * m + j;
            let [c, w, e, s, nn] = stencil(i, j);
            // columns in increasing order: south (k−m), west (k−1), centre, east (k+1), north (k+m)
            if i > 0 {
                col_idx.push((k - m) as u32);
                values.push(s);
            }
            if j > 0 {
                col_idx.push((k - 1) as u32);
                values.push(w);
            }
            col_idx.push(k as u32);
            values.push(c);
            if j + 1 < m {
                col_idx.push((k + 1) as u32);
                values.push(e);
            }
            if i + 1 < m {
                col_idx.push((k + m) as u32);
                values.push(nn);
            }
            row_ptr.push(col_idx.len() as u32);
        }
    }
    Ok(CsrMatrix::from_raw_parts(n, n, row_ptr, col_idx, values)?)
}

/// The 5-point Laplacian `−Δ` scaled by `h²` (diagonal 4, off-diagonals −1): SPD.
pub fn poisson2d(m: usize) -> Result<CsrMatrix> {
    assemble(m, |_, _| [4.0, -1.0, -1.0, -1.0, -1.0])
}

/// `−Δ − σ` scaled by `h²` (diagonal `4 − σh²`): symmetric, and indefinite
/// once `σ` exceeds the smallest Laplacian eigenvalue `≈ 2π²`.
pub fn shifted_laplacian2d(m: usize, sigma: f64) -> Result<CsrMatrix> {
    let h = 1.0 / (m as f64 + 1.0);
    let d = 4.0 - sigma * h * h;
    assemble(m, |_, _| [d, -1.0, -1.0, -1.0, -1.0])
}

/// `−∇·(a∇u)` by finite volumes scaled by `h²`, with harmonic-mean face
/// coefficients `2 a_P a_Q / (a_P + a_Q)` (symmetric positive definite for
/// positive `a`). `a(x, y)` is sampled at the grid points, including the
/// boundary points for the boundary faces.
pub fn diffusion2d(m: usize, a: impl Fn(f64, f64) -> f64) -> Result<CsrMatrix> {
    let h = 1.0 / (m as f64 + 1.0);
    diffusion_from(m, |i, j| a((j + 1) as f64 * h, (i + 1) as f64 * h))
}

/// The harmonic-mean finite-volume stencil from a coefficient at grid point
/// `(i, j)`, `i, j ∈ −1..=m` (−1 and m are the boundary points).
fn diffusion_from(m: usize, coef: impl Fn(isize, isize) -> f64) -> Result<CsrMatrix> {
    check_grid(m)?;
    for i in -1..=m as isize {
        for j in -1..=m as isize {
            let v = coef(i, j);
            if !(v.is_finite() && v > 0.0) {
                return Err(ProblemError::Invalid(format!(
                    "diffusion coefficient must be positive and finite, found {v} at grid point ({i}, {j})"
                )));
            }
        }
    }
    let harm = |p: f64, q: f64| 2.0 * p * q / (p + q);
    assemble(m, |i, j| {
        let (i, j) = (i as isize, j as isize);
        let c = coef(i, j);
        let w = harm(c, coef(i, j - 1));
        let e = harm(c, coef(i, j + 1));
        let s = harm(c, coef(i - 1, j));
        let n = harm(c, coef(i + 1, j));
        [w + e + s + n, -w, -e, -s, -n]
    })
}

/// How a Gaussian random field `g` becomes a Darcy permeability `a`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DarcyCoefficient {
    /// `a = exp(g)` (log-normal permeability).
    LogNormal,
    /// `a = high` where `g ≥ 0`, else `low` (the standard Darcy benchmark uses 12 / 3).
    Threshold {
        /// Value where the field is non-negative.
        high: f64,
        /// Value where the field is negative.
        low: f64,
    },
}

impl DarcyCoefficient {
    /// The benchmark's thresholded field, 12 / 3.
    pub const THRESHOLD_12_3: Self = Self::Threshold { high: 12.0, low: 3.0 };

    /// `a(g)`.
    pub fn apply(self, g: f64) -> f64 {
        match self {
            Self::LogNormal => g.exp(),
            Self::Threshold { high, low } => {
                if g >= 0.0 {
                    high
                } else {
                    low
                }
            }
        }
    }
}

/// Darcy flow `−∇·(a∇u) = f`, `u = 0` on the boundary, on the `m × m`
/// interior grid, with `a = coefficient(field)` given at the grid points
/// (row-major, `m²` values, e.g. a [`super::GaussianRandomField`] sample);
/// boundary faces take the coefficient of their interior point. Harmonic-mean
/// faces, scaled by `h²` (so `f = 1` is the right-hand side `h²·1`): SPD.
pub fn darcy2d(m: usize, field: &[f64], coefficient: DarcyCoefficient) -> Result<CsrMatrix> {
    if field.len() != m * m {
        return Err(ProblemError::Invalid(format!(
            "Darcy field has {} values, the {m}×{m} grid needs {}",
            field.len(),
            m * m
        )));
    }
    let a: Vec<f64> = field.iter().map(|&g| coefficient.apply(g)).collect();
    let clamp = |k: isize| k.clamp(0, m as isize - 1) as usize;
    diffusion_from(m, |i, j| a[clamp(i) * m + clamp(j)])
}

/// A smooth, strongly varying positive coefficient
/// `exp(2 sin(2πx) cos(3πy))` (contrast ≈ 55) for variable-coefficient tests.
pub fn smooth_coefficient(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    (2.0 * (2.0 * PI * x).sin() * (3.0 * PI * y).cos()).exp()
}

/// `−εΔu + v·∇u` with first-order upwind convection, scaled by `h²`:
/// nonsymmetric, an M-matrix for any `ε > 0`.
pub fn convection_diffusion2d(m: usize, eps: f64, vx: f64, vy: f64) -> Result<CsrMatrix> {
    if !(eps > 0.0 && eps.is_finite() && vx.is_finite() && vy.is_finite()) {
        return Err(ProblemError::Invalid(format!(
            "convection–diffusion needs ε > 0 and a finite velocity, found ε = {eps}, v = ({vx}, {vy})"
        )));
    }
    let h = 1.0 / (m as f64 + 1.0);
    // upwind: a positive vx draws from the west neighbour
    let (cxw, cxe) = (vx.max(0.0) * h, (-vx).max(0.0) * h);
    let (cys, cyn) = (vy.max(0.0) * h, (-vy).max(0.0) * h);
    let c = 4.0 * eps + cxw + cxe + cys + cyn;
    assemble(m, |_, _| [c, -eps - cxw, -eps - cxe, -eps - cys, -eps - cyn])
}

/// `−εΔu + v·∇u` with a velocity field given at the grid points (row-major
/// `m²` values each; `i` runs along y, `j` along x) and first-order upwind
/// convection, scaled by `h²`: nonsymmetric, an M-matrix for any `ε > 0`.
pub fn convection_diffusion2d_field(m: usize, eps: f64, vx: &[f64], vy: &[f64]) -> Result<CsrMatrix> {
    check_grid(m)?;
    if vx.len() != m * m || vy.len() != m * m {
        return Err(ProblemError::Invalid(format!(
            "velocity field has {} and {} values, the {m}×{m} grid needs {}",
            vx.len(),
            vy.len(),
            m * m
        )));
    }
    if !(eps > 0.0 && eps.is_finite()) {
        return Err(ProblemError::Invalid(format!(
            "convection–diffusion needs ε > 0, found {eps}"
        )));
    }
    if let Some(k) = vx.iter().chain(vy).position(|v| !v.is_finite()) {
        return Err(ProblemError::Invalid(format!(
            "velocity value {} of {} is not finite",
            k % (m * m),
            if k < m * m { "vx" } else { "vy" }
        )));
    }
    let h = 1.0 / (m as f64 + 1.0);
    assemble(m, |i, j| {
        let (u, v) = (vx[i * m + j], vy[i * m + j]);
        let (cw, ce) = (u.max(0.0) * h, (-u).max(0.0) * h);
        let (cs, cn) = (v.max(0.0) * h, (-v).max(0.0) * h);
        [
            4.0 * eps + cw + ce + cs + cn,
            -eps - cw,
            -eps - ce,
            -eps - cs,
            -eps - cn,
        ]
    })
}

/// The divergence-free velocity `v = (∂ψ/∂y, −∂ψ/∂x)` of a periodic stream
/// function `ψ` on an `m × m` grid (central differences, wrapping around),
/// scaled so that the largest speed is `speed`. Returns `(vx, vy)`.
pub fn velocity_from_stream_function(m: usize, psi: &[f64], speed: f64) -> (Vec<f64>, Vec<f64>) {
    let at = |i: usize, j: usize| psi[(i % m) * m + (j % m)];
    let mut vx = vec![0.0; m * m];
    let mut vy = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..m {
            vx[i * m + j] = (at(i + 1, j) - at(i + m - 1, j)) * 0.5;
            vy[i * m + j] = -(at(i, j + 1) - at(i, j + m - 1)) * 0.5;
        }
    }
    let vmax = vx.iter().zip(&vy).map(|(a, b)| a.hypot(*b)).fold(0.0, f64::max);
    if vmax > 0.0 {
        let s = speed / vmax;
        vx.iter_mut().chain(vy.iter_mut()).for_each(|v| *v *= s);
    }
    (vx, vy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stencils_have_the_expected_structure() {
        let a = poisson2d(4).unwrap();
        assert_eq!(a.nrows(), 16);
        assert_eq!(a.nnz(), 5 * 16 - 4 * 4);
        assert!(a.is_symmetric(0.0));
        assert_eq!(a.get(5, 5), 4.0);
        assert_eq!(a.get(5, 1), -1.0);
        // row sums vanish at interior points: constant functions are harmonic
        let (_, v) = a.row(5);
        assert_eq!(v.iter().sum::<f64>(), 0.0);

        let d = diffusion2d(6, smooth_coefficient).unwrap();
        assert!(d.is_symmetric(1e-15));
        let (cols, vals) = d.row(14);
        assert_eq!(cols.len(), 5);
        assert!(vals.iter().sum::<f64>().abs() < 1e-12);
        // constant coefficient reduces to Poisson
        let d1 = diffusion2d(4, |_, _| 1.0).unwrap();
        assert_eq!(d1.values(), a.values());

        let c = convection_diffusion2d(5, 0.01, 1.0, -0.5).unwrap();
        assert!(!c.is_symmetric(1e-12));
        let (_, v) = c.row(12);
        assert!(v.iter().sum::<f64>().abs() < 1e-15);

        assert!(diffusion2d(3, |x, _| x - 0.5).is_err());
        assert!(poisson2d(0).is_err());
        assert!(convection_diffusion2d(3, 0.0, 1.0, 1.0).is_err());
        // a constant field reproduces the constant-velocity stencil
        let f = convection_diffusion2d_field(5, 0.01, &[1.0; 25], &[-0.5; 25]).unwrap();
        assert_eq!(f.values(), c.values());
        assert!(convection_diffusion2d_field(5, 0.01, &[1.0; 24], &[0.0; 25]).is_err());
        assert!(convection_diffusion2d_field(2, 0.01, &[1.0, f64::NAN, 0.0, 0.0], &[0.0; 4]).is_err());
    }

    #[test]
    fn darcy_matches_the_stencil_and_is_spd() {
        let m = 6;
        let g: Vec<f64> = (0..m * m).map(|k| ((k * 7) % 5) as f64 - 2.0).collect();
        let a = darcy2d(m, &g, DarcyCoefficient::LogNormal).unwrap();
        assert!(a.is_symmetric(1e-15));
        // interior row (2, 3): harmonic means with the four neighbours
        let (i, j) = (2usize, 3usize);
        let c = |i: usize, j: usize| g[i * m + j].exp();
        let hm = |p: f64, q: f64| 2.0 * p * q / (p + q);
        let k = i * m + j;
        assert!((a.get(k, k - 1) + hm(c(i, j), c(i, j - 1))).abs() < 1e-14);
        assert!((a.get(k, k + m) + hm(c(i, j), c(i + 1, j))).abs() < 1e-14);
        // corner row: boundary faces carry the node's own coefficient (harmonic mean of equals)
        let d0 = a.get(0, 0) + a.get(0, 1) + a.get(0, m);
        assert!(
            (d0 - 2.0 * c(0, 0)).abs() < 1e-12,
            "two boundary faces of weight a_00"
        );
        // thresholded: three possible face values
        let t = darcy2d(m, &g, DarcyCoefficient::THRESHOLD_12_3).unwrap();
        for r in 0..m * m {
            let (cols, vals) = t.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                if c as usize != r {
                    // faces: 12|12, 3|3 or the harmonic mean 2·12·3/15 = 4.8
                    assert!(
                        [-12.0, -3.0, -4.8].iter().any(|w: &f64| (w - v).abs() < 1e-12),
                        "face {v}"
                    );
                }
            }
        }
        let ch = solvent_linalg::direct::DirectSolver::new(&t, solvent_linalg::direct::DirectKind::Cholesky);
        assert!(ch.is_ok(), "SPD");
        assert!(darcy2d(m, &g[1..], DarcyCoefficient::LogNormal).is_err());
    }

    #[test]
    fn shifted_laplacian_is_indefinite() {
        // eigenvalues of the scaled Laplacian: 4 − 2cos(πp h) − 2cos(πq h)
        let m = 15;
        let h = 1.0 / (m as f64 + 1.0);
        let lam = |p: usize, q: usize| {
            4.0 - 2.0 * (std::f64::consts::PI * p as f64 * h).cos()
                - 2.0 * (std::f64::consts::PI * q as f64 * h).cos()
        };
        let sigma = 100.0; // between several eigenvalues of −Δ
        let a = shifted_laplacian2d(m, sigma).unwrap();
        let shift = sigma * h * h;
        assert!(lam(1, 1) < shift && lam(m, m) > shift);
        assert!((a.get(0, 0) - (4.0 - shift)).abs() < 1e-15);
    }
}
