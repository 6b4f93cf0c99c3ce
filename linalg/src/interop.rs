//! Conversions between Solvent's types and the types users already hold:
//! sprs `CsMat` (feature `sprs`) and nalgebra `DMatrix`/`DVector` (feature
//! `nalgebra`).

#[cfg(feature = "sprs")]
mod sprs_impl {
    use crate::error::{LinalgError, Result};
    use crate::CsrMatrix;

    impl CsrMatrix {
        /// Converts a sprs matrix (CSR or CSC) to CSR.
        pub fn from_sprs(m: &sprs::CsMat<f64>) -> Result<Self> {
            let csr = if m.is_csr() { m.clone() } else { m.to_csr() };
            let (nrows, ncols) = (csr.rows(), csr.cols());
            let mut row_ptr = Vec::with_capacity(nrows + 1);
            let mut col_idx = Vec::with_capacity(csr.nnz());
            let mut values = Vec::with_capacity(csr.nnz());
            row_ptr.push(0u32);
            for row in csr.outer_iterator() {
                for (j, &v) in row.iter() {
                    col_idx.push(
                        u32::try_from(j)
                            .map_err(|_| LinalgError::InvalidMatrix("column index exceeds u32".into()))?,
                    );
                    values.push(v);
                }
                row_ptr.push(
                    u32::try_from(col_idx.len())
                        .map_err(|_| LinalgError::InvalidMatrix("nnz exceeds u32".into()))?,
                );
            }
            Self::from_raw_parts(nrows, ncols, row_ptr, col_idx, values)
        }

        /// Converts to a sprs CSR matrix.
        pub fn to_sprs(&self) -> sprs::CsMat<f64> {
            sprs::CsMat::new(
                (self.nrows(), self.ncols()),
                self.row_ptr().iter().map(|&p| p as usize).collect(),
                self.col_idx().iter().map(|&j| j as usize).collect(),
                self.values().to_vec(),
            )
        }
    }
}

#[cfg(feature = "nalgebra")]
mod nalgebra_impl {
    use crate::error::Result;
    use crate::CsrMatrix;

    impl CsrMatrix {
        /// Converts a dense nalgebra matrix, keeping its non-zero entries.
        pub fn from_nalgebra(m: &nalgebra::DMatrix<f64>) -> Result<Self> {
            let mut t = Vec::new();
            for i in 0..m.nrows() {
                for j in 0..m.ncols() {
                    let v = m[(i, j)];
                    if v != 0.0 {
                        t.push((i, j, v));
                    }
                }
            }
            Self::from_triplets(m.nrows(), m.ncols(), &t)
        }

        /// Dense nalgebra copy.
        pub fn to_nalgebra(&self) -> nalgebra::DMatrix<f64> {
            let mut m = nalgebra::DMatrix::zeros(self.nrows(), self.ncols());
            for i in 0..self.nrows() {
                let (cols, vals) = self.row(i);
                for (&j, &v) in cols.iter().zip(vals) {
                    m[(i, j as usize)] = v;
                }
            }
            m
        }
    }

    /// Copies a nalgebra vector into a plain `Vec`.
    pub fn vec_from_nalgebra(v: &nalgebra::DVector<f64>) -> Vec<f64> {
        v.iter().copied().collect()
    }

    /// Copies a slice into a nalgebra vector.
    pub fn vec_to_nalgebra(v: &[f64]) -> nalgebra::DVector<f64> {
        nalgebra::DVector::from_column_slice(v)
    }
}

#[cfg(feature = "nalgebra")]
pub use nalgebra_impl::{vec_from_nalgebra, vec_to_nalgebra};

#[cfg(all(test, feature = "sprs"))]
mod sprs_tests {
    use crate::CsrMatrix;

    #[test]
    fn sprs_round_trip_csr_and_csc() {
        let a =
            CsrMatrix::from_triplets(3, 4, &[(0, 1, 2.0), (2, 3, -1.0), (1, 0, 5.0), (2, 0, 0.5)]).unwrap();
        let s = a.to_sprs();
        let b = CsrMatrix::from_sprs(&s).unwrap();
        assert_eq!(a.values(), b.values());
        assert_eq!(a.col_idx(), b.col_idx());
        let c = CsrMatrix::from_sprs(&s.to_csc()).unwrap();
        assert_eq!(a.row_ptr(), c.row_ptr());
        assert_eq!(a.values(), c.values());
    }
}

#[cfg(all(test, feature = "nalgebra"))]
mod nalgebra_tests {
    use super::*;
    use crate::CsrMatrix;

    #[test]
    fn nalgebra_round_trip() {
        let m = nalgebra::DMatrix::from_row_slice(2, 3, &[1.0, 0.0, 2.0, 0.0, -3.0, 0.0]);
        let a = CsrMatrix::from_nalgebra(&m).unwrap();
        assert_eq!(a.nnz(), 3);
        assert_eq!(a.to_nalgebra(), m);
        let v = vec![1.0, 2.0];
        assert_eq!(vec_from_nalgebra(&vec_to_nalgebra(&v)), v);
    }
}
