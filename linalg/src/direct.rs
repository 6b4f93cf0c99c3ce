//! Sparse direct solves through faer: supernodal/simplicial Cholesky for SPD
//! matrices, LU with partial pivoting otherwise.
//!
//! The symbolic analysis (fill-reducing ordering, elimination tree) is kept
//! so that a matrix with the same pattern can be refactorised without it,
//! which is what sequences of related systems need.

use crate::error::{check_finite, LinalgError, Result};
use crate::CsrMatrix;
use faer::linalg::solvers::Solve;
use faer::sparse::linalg::solvers::{Llt, Lu, SymbolicLlt, SymbolicLu};
use faer::sparse::linalg::{LltError, LuError};
use faer::Side;

/// Largest `n` whose factorization and solves always run on one thread. faer would split
/// them over every rayon thread, and on the 2-vCPU machines this project is measured on
/// that made them slower at every size tried (`solvent datagen … --strategy independent
/// --method direct`, `RAYON_NUM_THREADS=1` vs `2`, before this rule): 100 Helmholtz LU
/// refactorisations + solves at n = 10⁴ 2.0 vs 3.8 s, 10 Darcy Cholesky ones at
/// n = 9·10⁴ 1.2 vs 2.3 s, 3 at n = 3.6·10⁵ 2.0 vs 3.3 s, 2 at n = 10⁶ 6.5 vs 7.6 s.
/// Above this size, faer's parallelism is kept on pools of more than two threads (not
/// measured here).
pub const SERIAL_MAX_N: usize = 250_000;

/// Runs `f` on one thread when `n ≤` [`SERIAL_MAX_N`] or the pool has at most two threads
/// (faer's default parallelism, all of the current pool's threads, then means one), on
/// the caller's pool otherwise. Each calling thread gets its own one-thread pool, so
/// callers solving different systems in parallel are not serialised.
fn sized<R: Send>(n: usize, f: impl FnOnce() -> R + Send) -> R {
    let threads = rayon::current_num_threads();
    if threads == 1 || (n > SERIAL_MAX_N && threads > 2) {
        return f();
    }
    thread_local! {
        static ONE: Option<rayon::ThreadPool> =
            rayon::ThreadPoolBuilder::new().num_threads(1).build().ok();
    }
    ONE.with(|pool| match pool {
        Some(pool) => pool.install(f),
        None => f(),
    })
}

/// Which factorization to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectKind {
    /// `A = L Lᵀ`; the matrix must be symmetric positive definite (only its
    /// lower triangle is read).
    Cholesky,
    /// `P A Q = L U`; any square non-singular matrix.
    Lu,
}

enum Factor {
    Llt(SymbolicLlt<u32>, Llt<u32, f64>),
    Lu(SymbolicLu<u32>, Box<Lu<u32, f64>>),
}

/// A factorised sparse matrix that solves `A x = b`.
pub struct DirectSolver {
    n: usize,
    kind: DirectKind,
    factor: Factor,
}

impl std::fmt::Debug for DirectSolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectSolver")
            .field("n", &self.n)
            .field("kind", &self.kind)
            .finish()
    }
}

impl DirectSolver {
    /// Analyses and factorises `a`.
    pub fn new(a: &CsrMatrix, kind: DirectKind) -> Result<Self> {
        if a.nrows() != a.ncols() {
            return Err(LinalgError::dims(
                "direct solve: square matrix columns",
                a.nrows(),
                a.ncols(),
            ));
        }
        if a.nrows() == 0 {
            return Err(LinalgError::Empty("direct solve of a 0×0 matrix".into()));
        }
        let csc = a.to_csc()?;
        let factor = sized(a.nrows(), || -> Result<Factor> {
            Ok(match kind {
                DirectKind::Cholesky => {
                    let sym = SymbolicLlt::try_new(csc.symbolic(), Side::Lower).map_err(faer_err)?;
                    let num = Llt::try_new_with_symbolic(sym.clone(), csc.as_ref(), Side::Lower)
                        .map_err(llt_err)?;
                    Factor::Llt(sym, num)
                }
                DirectKind::Lu => {
                    let sym = SymbolicLu::try_new(csc.symbolic()).map_err(faer_err)?;
                    let num = Lu::try_new_with_symbolic(sym.clone(), csc.as_ref()).map_err(lu_err)?;
                    Factor::Lu(sym, Box::new(num))
                }
            })
        })?;
        Ok(Self {
            n: a.nrows(),
            kind,
            factor,
        })
    }

    /// Refactorises a matrix with the same sparsity pattern, reusing the
    /// symbolic analysis.
    pub fn refactor(&mut self, a: &CsrMatrix) -> Result<()> {
        if a.nrows() != self.n || a.ncols() != self.n {
            return Err(LinalgError::dims("refactor: matrix size", self.n, a.nrows()));
        }
        let csc = a.to_csc()?;
        let old = &self.factor;
        let factor = sized(self.n, || -> Result<Factor> {
            Ok(match old {
                Factor::Llt(sym, _) => {
                    let num = Llt::try_new_with_symbolic(sym.clone(), csc.as_ref(), Side::Lower)
                        .map_err(llt_err)?;
                    Factor::Llt(sym.clone(), num)
                }
                Factor::Lu(sym, _) => {
                    let num = Lu::try_new_with_symbolic(sym.clone(), csc.as_ref()).map_err(lu_err)?;
                    Factor::Lu(sym.clone(), Box::new(num))
                }
            })
        })?;
        self.factor = factor;
        Ok(())
    }

    /// The factorization in use.
    pub fn kind(&self) -> DirectKind {
        self.kind
    }

    /// Solves `A x = b`. A non-finite solution (a numerically singular
    /// matrix) is reported as [`LinalgError::Singular`].
    pub fn solve(&self, b: &[f64], x: &mut [f64]) -> Result<()> {
        if b.len() != self.n {
            return Err(LinalgError::dims("right-hand side length", self.n, b.len()));
        }
        if x.len() != self.n {
            return Err(LinalgError::dims("solution length", self.n, x.len()));
        }
        x.copy_from_slice(b);
        let factor = &self.factor;
        sized(self.n, || {
            let col = faer::ColMut::from_slice_mut(&mut *x);
            match factor {
                Factor::Llt(_, f) => f.solve_in_place(col.as_mat_mut()),
                Factor::Lu(_, f) => f.solve_in_place(col.as_mat_mut()),
            }
        });
        check_finite("direct solution", x).map_err(|e| {
            LinalgError::Singular(format!("the factorised solve produced a non-finite value ({e})"))
        })
    }
}

/// Entries the sparse Cholesky factor of `a` would store (faer's fill-reducing ordering
/// and symbolic analysis of the lower triangle, no numeric work): what deciding between
/// a direct and an iterative solve needs. On 2-D 5-point grids it grows like n·log n; on
/// 3-D 7-point grids like n^(4/3), with the factorisation's work like n². For a matrix
/// whose pattern is not symmetric it estimates the fill of the symmetrised pattern's
/// lower half, a lower bound for LU's.
pub fn cholesky_fill(a: &CsrMatrix) -> Result<usize> {
    if a.nrows() != a.ncols() {
        return Err(LinalgError::dims(
            "Cholesky fill: square matrix columns",
            a.nrows(),
            a.ncols(),
        ));
    }
    let csc = a.to_csc()?;
    let sym = faer::sparse::linalg::cholesky::factorize_symbolic_cholesky(
        csc.symbolic(),
        Side::Lower,
        Default::default(),
        Default::default(),
    )
    .map_err(faer_err)?;
    Ok(sym.len_val())
}

fn faer_err(e: faer::sparse::FaerError) -> LinalgError {
    LinalgError::InvalidMatrix(format!("symbolic factorization failed: {e:?}"))
}

fn llt_err(e: LltError) -> LinalgError {
    match e {
        LltError::Numeric(faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot { index }) => {
            LinalgError::NotPositiveDefinite {
                method: "cholesky",
                row: index,
                pivot: f64::NAN,
            }
        }
        LltError::Generic(g) => LinalgError::InvalidMatrix(format!("cholesky failed: {g:?}")),
    }
}

fn lu_err(e: LuError) -> LinalgError {
    match e {
        LuError::SymbolicSingular { index } => LinalgError::Singular(format!(
            "structurally singular: no pivot available at step {index}"
        )),
        LuError::Generic(g) => LinalgError::InvalidMatrix(format!("LU failed: {g:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::precond::test_support::laplacian;
    use crate::vector::relative_residual;

    #[test]
    fn cholesky_and_lu_solve_a_laplacian() {
        let a = laplacian(20, 0.0);
        let b: Vec<f64> = (0..a.nrows()).map(|i| (i as f64 * 0.37).sin()).collect();
        for kind in [DirectKind::Cholesky, DirectKind::Lu] {
            let s = DirectSolver::new(&a, kind).unwrap();
            let mut x = vec![0.0; b.len()];
            s.solve(&b, &mut x).unwrap();
            assert!(relative_residual(&a, &x, &b) < 1e-12);
        }
    }

    #[test]
    fn refactor_reuses_the_pattern() {
        let a = laplacian(10, 0.0);
        let mut s = DirectSolver::new(&a, DirectKind::Cholesky).unwrap();
        let a2 = laplacian(10, 1.5);
        s.refactor(&a2).unwrap();
        let b = vec![1.0; a.nrows()];
        let mut x = vec![0.0; b.len()];
        s.solve(&b, &mut x).unwrap();
        assert!(relative_residual(&a2, &x, &b) < 1e-12);
    }

    #[test]
    fn failures_are_typed() {
        let indefinite = laplacian(5, -3.0);
        assert!(matches!(
            DirectSolver::new(&indefinite, DirectKind::Cholesky),
            Err(LinalgError::NotPositiveDefinite { .. })
        ));
        // a zero column: structurally singular
        let sing = CsrMatrix::from_triplets(3, 3, &[(0, 0, 1.0), (1, 0, 1.0), (2, 2, 1.0)]).unwrap();
        let r = DirectSolver::new(&sing, DirectKind::Lu).and_then(|s| {
            let mut x = vec![0.0; 3];
            s.solve(&[1.0, 1.0, 1.0], &mut x)
        });
        assert!(matches!(r, Err(LinalgError::Singular(_))), "{r:?}");
        // numerically singular (rank-one block with full pattern)
        let sing =
            CsrMatrix::from_triplets(2, 2, &[(0, 0, 1.0), (0, 1, 2.0), (1, 0, 2.0), (1, 1, 4.0)]).unwrap();
        let r = DirectSolver::new(&sing, DirectKind::Lu).and_then(|s| {
            let mut x = vec![0.0; 2];
            s.solve(&[1.0, 0.0], &mut x)
        });
        assert!(matches!(r, Err(LinalgError::Singular(_))), "{r:?}");
    }
}
