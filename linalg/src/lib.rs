//! Solvent's numerical core.
//!
//! Sparse matrices are faer's compressed types with `u32` indices (chosen for
//! bandwidth: a 5-point CSR row moves 60 bytes of matrix data instead of 80 with
//! `usize`), dense vectors are plain `[f64]` slices, and every iterative method
//! consumes the [`LinearOperator`] trait so that a CSR matrix, a matrix-free
//! stencil or a GPU operator are interchangeable.
//!
//! - [`CsrMatrix`]: CSR storage on faer's `SparseRowMat`, parallel SpMV.
//! - [`cg`]: preconditioned conjugate gradients, the one CG iteration every CG in
//!   Solvent takes.
//! - [`vector`]: bandwidth-minded dense kernels with deterministic reductions.
//! - [`gram_schmidt`]: two-pass classical Gram–Schmidt (CGS2).
//! - [`precond`]: Jacobi, SSOR, ILU(0), IC(0), smoothed-aggregation AMG.
//! - [`sparse_product`]: parallel sparse matrix–matrix products.
//! - [`small`]: Givens rotations, triangular solves and harmonic Ritz vectors: the
//!   small dense algebra of GMRES and GCRO-DR, shared by the CPU and GPU solvers.
//! - [`simd`]: run-time choice of AVX2 + FMA builds of the hand-written kernels.
//! - [`direct`]: sparse Cholesky and LU through faer.
//! - [`io`]: Matrix Market and NumPy `.npy`, with errors that name file and line.
//! - [`names`]: one spelling per setting ([`Named`]), shared by every front end.
//! - [`mem`]: memory guards (predicted allocations against what the process may have).
//! - [`interop`]: conversions to and from sprs and nalgebra (features `sprs`, `nalgebra`).
//!
//! ```
//! use solvent_linalg::{CsrMatrix, LinearOperator};
//! use solvent_linalg::precond::{build, PrecondKind};
//!
//! // a 3 × 3 SPD matrix from triplets, applied and preconditioned
//! let a = CsrMatrix::from_triplets(3, 3, &[(0, 0, 4.0), (0, 1, -1.0), (1, 0, -1.0), (1, 1, 4.0), (2, 2, 2.0)]).unwrap();
//! let mut y = vec![0.0; 3];
//! a.apply(&[1.0, 1.0, 1.0], &mut y);
//! assert_eq!(y, vec![3.0, 3.0, 2.0]);
//! let ilu = build(PrecondKind::Ilu0, &a).unwrap();
//! let mut z = vec![0.0; 3];
//! ilu.apply(&y, &mut z); // ILU(0) of a matrix with no fill is exact
//! assert!(z.iter().all(|v| (v - 1.0).abs() < 1e-12));
//! assert_eq!("ilu0".parse::<PrecondKind>(), Ok(PrecondKind::Ilu0));
//! ```
#![deny(missing_docs)]

pub mod cg;
pub mod csr;
pub mod direct;
pub mod error;
pub mod gram_schmidt;
pub mod interop;
pub mod io;
pub mod mem;
pub mod names;
pub mod operator;
pub mod precond;
pub mod simd;
pub mod small;
pub mod sparse_product;
pub mod vector;

pub use csr::CsrMatrix;
pub use names::Named;

pub use error::{LinalgError, Result};
pub use operator::{LinearOperator, Preconditioner};
#[doc(hidden)]
pub use serde;
