//! NumPy arrays and strings in, library types out; library errors out as Python
//! exceptions.

use numpy::{PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use solvent::linalg::CsrMatrix;
use solvent::solvers::SolverError;
use std::str::FromStr;

/// A library error as a Python `ValueError` (bad input or settings; the message names
/// what and where).
pub fn err(e: SolverError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Any displayable error as a `ValueError` about argument `what`.
pub fn value_err(what: &str, e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{what}: {e}"))
}

/// A setting given by name (`"gmres"`, `"ilu0"`, `"darcy"`, …), or a `ValueError` naming
/// the argument and what it accepts.
pub fn parse<T: FromStr>(what: &str, text: &str) -> PyResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>().map_err(|e| value_err(what, e))
}

/// The contiguous data of a 1-D array (the Python side makes arrays contiguous).
pub fn slice<'a, T: numpy::Element>(what: &str, a: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| {
        value_err(
            what,
            format!("must be a contiguous 1-D array, found shape {:?}", a.shape()),
        )
    })
}

/// A CSR matrix from SciPy's arrays (`indptr`, `indices` as int32, `data` as float64):
/// one copy into the library's storage, every structural invariant and finiteness
/// checked ([`CsrMatrix::from_raw_parts`]).
pub fn csr(
    what: &str,
    shape: (usize, usize),
    indptr: &PyReadonlyArray1<'_, i32>,
    indices: &PyReadonlyArray1<'_, i32>,
    data: &PyReadonlyArray1<'_, f64>,
) -> PyResult<CsrMatrix> {
    let to_u32 = |name: &str, v: &[i32]| -> PyResult<Vec<u32>> {
        if let Some(bad) = v.iter().find(|&&x| x < 0) {
            return Err(value_err(what, format!("negative {name} entry {bad}")));
        }
        Ok(v.iter().map(|&x| x as u32).collect())
    };
    let row_ptr = to_u32("indptr", slice(what, indptr)?)?;
    let col_idx = to_u32("indices", slice(what, indices)?)?;
    let values = slice(what, data)?.to_vec();
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        // name the row, as the Python side's own check does
        let row = row_ptr.partition_point(|&p| p as usize <= k).saturating_sub(1);
        return Err(PyValueError::new_err(format!(
            "{what} holds a non-finite value ({}) in row {row}",
            values[k]
        )));
    }
    CsrMatrix::from_raw_parts(shape.0, shape.1, row_ptr, col_idx, values).map_err(|e| value_err(what, e))
}

/// A value as JSON text, for the Python side to load (reports, plans).
pub fn json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value)
        .map_err(|e| PyValueError::new_err(format!("could not serialise a report: {e}")))
}

/// A time limit in seconds (`None`: none), or a `ValueError` naming `time_limit`.
pub fn time_limit(seconds: Option<f64>) -> PyResult<Option<std::time::Duration>> {
    match seconds {
        None => Ok(None),
        Some(t) if t.is_finite() && t > 0.0 => Ok(Some(std::time::Duration::from_secs_f64(t))),
        Some(t) => Err(value_err(
            "time_limit",
            format!("must be a positive number of seconds, found {t}"),
        )),
    }
}
