//! GPU offload for Solvent through wgpu (Vulkan, Metal, DX12; Mesa's lavapipe in CI).
//!
//! Everything iterative stays on the device: matrices ([`GpuMatrix`], one pattern with
//! one or many value sets), vectors, the Krylov basis and the scalars of CG. The CPU
//! does the small dense work (Givens rotations) and the f64 residuals of mixed-precision
//! refinement ([`refine`]). Kernels are WGSL, compiled for f32 everywhere and f64 where
//! the adapter offers `SHADER_F64`.
//!
//! - [`context`]: adapter selection (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`), limits.
//! - [`matrix`] / [`vector`]: device data and one-shot kernels (SpMV, dot, norm, axpby).
//! - [`cg`]: batched Jacobi-PCG; [`gmres`]: GMRES(m); [`refine`]: f64 refinement.
//! - [`operator`]: a [`solvent_linalg::operator::LinearOperator`] on the device.
//!
//! ```
//! use solvent_gpu::refine::solve;
//! use solvent_gpu::{GpuContext, GpuMethod, GpuRequest, RefineSettings};
//! use solvent_linalg::CsrMatrix;
//!
//! // without an adapter (no GPU, no software driver) there is nothing to run
//! if let Ok(ctx) = GpuContext::new(&GpuRequest { allow_software: true }) {
//!     let a = CsrMatrix::from_triplets(2, 2, &[(0, 0, 4.0), (0, 1, 1.0), (1, 0, 1.0), (1, 1, 3.0)]).unwrap();
//!     let s = RefineSettings::new(GpuMethod::Cg, 1e-10, ctx.default_precision());
//!     let out = solve(&ctx, &a, &[1.0, 2.0], &s).unwrap();
//!     assert!(out.converged && out.relres <= 1e-10);
//! }
//! ```
#![deny(missing_docs)]

pub mod cg;
pub mod context;
pub mod error;
pub mod gcrodr;
pub mod gmres;
mod kernels;
pub mod matrix;
pub mod operator;
pub mod refine;
pub mod vector;

pub use context::{GpuContext, GpuRequest, Precision};
pub use error::{GpuError, Result};
pub use matrix::{GpuMatrix, SpmvKernel};
pub use operator::GpuOperator;
pub use refine::{GpuMethod, RefineSettings, Refinement, SingleSolve, SystemOutcome};
pub use vector::GpuVector;

/// Environment variable that makes GPU tests fail (rather than skip) without an adapter;
/// the CI script sets it.
pub const REQUIRE_GPU_ENV: &str = "SOLVENT_REQUIRE_GPU";
