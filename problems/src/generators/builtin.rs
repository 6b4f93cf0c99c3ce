//! The built-in single matrices (`solvent solve --generate`), one per class the Krylov
//! solvers must handle.

use super::grf::{GaussianRandomField, GrfParams};
use super::grid2d::{
    convection_diffusion2d, darcy2d, diffusion2d, poisson2d, shifted_laplacian2d, smooth_coefficient,
    DarcyCoefficient,
};
use crate::error::Result;
use solvent_linalg::CsrMatrix;

/// A built-in matrix on an `m × m` interior grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinMatrix {
    /// 5-point Poisson (SPD).
    Poisson2d,
    /// Variable-coefficient diffusion, harmonic-mean faces (SPD).
    Diffusion2d,
    /// Upwind convection–diffusion, ε = 0.01, velocity (1, 0.5) (nonsymmetric).
    Convdiff2d,
    /// Darcy flow with a log-normal permeability exp(GRF), GRF α = 2, τ = 3, seeded (SPD).
    Darcy2d,
    /// Shifted Laplacian −Δ − σ with σ = 20π², ten times the smallest eigenvalue of −Δ
    /// (symmetric indefinite).
    Shifted2d,
}

solvent_linalg::named_enum!(BuiltinMatrix, "matrix" {
    Poisson2d => "poisson2d",
    Diffusion2d => "diffusion2d",
    Convdiff2d => "convdiff2d",
    Darcy2d => "darcy2d",
    Shifted2d => "shifted2d",
});

impl BuiltinMatrix {
    /// The matrix on an `m × m` grid; `seed` draws Darcy's random field (the others
    /// ignore it).
    pub fn build(self, m: usize, seed: u64) -> Result<CsrMatrix> {
        match self {
            Self::Poisson2d => poisson2d(m),
            Self::Diffusion2d => diffusion2d(m, smooth_coefficient),
            Self::Convdiff2d => convection_diffusion2d(m, 0.01, 1.0, 0.5),
            Self::Darcy2d => {
                let grf = GaussianRandomField::new(m, GrfParams::default(), seed)?;
                darcy2d(m, &grf.sample(0), DarcyCoefficient::LogNormal)
            }
            Self::Shifted2d => shifted_laplacian2d(m, 10.0 * 2.0 * std::f64::consts::PI.powi(2)),
        }
    }
}
