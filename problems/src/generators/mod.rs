//! Sparse matrices of 2-D PDEs on the unit square, `m × m` interior grid
//! points, Dirichlet boundary, natural (row-major) ordering, `h = 1/(m+1)`,
//! and of 3-D PDEs on the unit cube (`m³` points, 7-point stencils, [`poisson3d`]).
//!
//! They cover the classes the Krylov solvers must handle: SPD (Poisson,
//! variable-coefficient diffusion), nonsymmetric (upwind convection–diffusion)
//! and symmetric indefinite (shifted Laplacian); Gaussian random fields
//! ([`GaussianRandomField`]) give the random coefficients of Darcy flow.

mod builtin;
mod family;
mod grf;
mod grid2d;
mod grid3d;

pub use builtin::BuiltinMatrix;
pub use family::{DarcyOperator, FamilyConfig, PdeFamily, PdeSample, PdeSampler};
pub use grf::{GaussianRandomField, GaussianRandomField3d, GrfParams};
pub use grid2d::{
    convection_diffusion2d, convection_diffusion2d_field, darcy2d, diffusion2d, poisson2d,
    shifted_laplacian2d, smooth_coefficient, velocity_from_stream_function, DarcyCoefficient,
};
pub use grid3d::{
    convection_diffusion3d_field, darcy3d, diffusion3d, poisson3d, shifted_laplacian3d,
    velocity_from_vector_potential,
};
