//! Cheap structural facts about a matrix that every automatic choice reads.

use serde::Serialize;
use solvent_linalg::CsrMatrix;

/// Cheap structural facts about a matrix (one transpose, one pass).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MatrixAnalysis {
    /// Unknowns.
    pub n: usize,
    /// Stored entries.
    pub nnz: usize,
    /// Symmetric to 1e-12 relative.
    pub symmetric: bool,
    /// Every diagonal entry positive (necessary for SPD).
    pub positive_diagonal: bool,
    /// Some diagonal entry zero or missing.
    pub zero_diagonal: bool,
    /// Every row weakly diagonally dominant, `|a_ii| ≥ Σ_{j≠i} |a_ij|` (to 1e-12
    /// relative), and at least one row strictly. With a positive diagonal, Gershgorin
    /// puts every eigenvalue in the closed right half-plane, and for an irreducible
    /// matrix (not checked) the strict row rules out a singular one (M-matrix-like:
    /// upwind convection–diffusion or P1 diffusion with Dirichlet rows). GMRES + ILU(0)
    /// is at home there; a shifted (Helmholtz) operator, or a pure Neumann/periodic one
    /// whose rows all sum to zero, is not dominant in this sense.
    pub diagonally_dominant: bool,
    /// Entries the sparse Cholesky factor would store (faer's ordering and symbolic
    /// analysis of the lower triangle; see [`solvent_linalg::direct::cholesky_fill`]):
    /// `None` from [`analyse`], set by [`MatrixAnalysis::with_fill`] (or `None` when
    /// that analysis failed).
    pub cholesky_fill: Option<usize>,
}

impl MatrixAnalysis {
    /// The same facts with [`MatrixAnalysis::cholesky_fill`] predicted for `a`: the
    /// one `auto` decides by ([`super::direct_pays`]), and not cheap (faer's ordering and
    /// symbolic factorisation, 0.6 s at n = 10⁶), so only `auto` asks for it.
    pub fn with_fill(mut self, a: &CsrMatrix) -> Self {
        self.cholesky_fill = solvent_linalg::direct::cholesky_fill(a).ok();
        self
    }
}

impl MatrixAnalysis {
    /// Symmetric with a positive diagonal: the matrices CG, IC(0) and Cholesky are tried
    /// on first (necessary for SPD, not sufficient: a Helmholtz operator with a positive
    /// diagonal is indefinite, which CG or Cholesky then finds out). The one test every
    /// automatic choice uses for "SPD-like".
    pub fn spd_like(&self) -> bool {
        self.symmetric && self.positive_diagonal
    }
    /// Diagonally dominant ([`MatrixAnalysis::diagonally_dominant`]) with a positive
    /// diagonal: by Gershgorin every eigenvalue lies in the closed right half-plane,
    /// where GMRES/GCRO-DR + ILU(0) converge reliably.
    pub fn dominant_positive(&self) -> bool {
        self.positive_diagonal && self.diagonally_dominant
    }
}

/// Whether every row of `a` is weakly diagonally dominant (to 1e-12 relative) and at
/// least one strictly ([`MatrixAnalysis::diagonally_dominant`]).
fn diagonally_dominant(a: &CsrMatrix) -> bool {
    let mut strict = false;
    let weak = (0..a.nrows()).all(|i| {
        let (cols, vals) = a.row(i);
        let (mut diag, mut off) = (0.0f64, 0.0f64);
        for (&j, &v) in cols.iter().zip(vals) {
            if j as usize == i {
                diag += v;
            } else {
                off += v.abs();
            }
        }
        strict |= diag.abs() > off * (1.0 + 1e-12);
        diag.abs() >= off * (1.0 - 1e-12)
    });
    weak && strict
}

/// Analyses `a`.
pub fn analyse(a: &CsrMatrix) -> MatrixAnalysis {
    let d = a.diagonal();
    MatrixAnalysis {
        n: a.nrows(),
        nnz: a.nnz(),
        symmetric: a.is_symmetric(1e-12),
        positive_diagonal: d.iter().all(|&v| v > 0.0),
        zero_diagonal: d.contains(&0.0),
        diagonally_dominant: diagonally_dominant(a),
        cholesky_fill: None,
    }
}
