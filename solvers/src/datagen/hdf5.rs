//! HDF5 output of a [`Dataset`] in the PDEBench layout (feature `hdf5`):
//! `nu` (K, N, N) coefficients, `tensor` (K, 1, N, N) solutions,
//! `x-coordinate`, `y-coordinate` (N) — for the 3-D families `nu` (K, N, N, N),
//! `tensor` (K, 1, N, N, N) and `z-coordinate` too —, per-sample `iters`, `relres`,
//! `solve_s` (and `k` for Helmholtz), and root attributes `family`, `seed`,
//! `grid`, `count`, `tol` and the full `metadata` JSON.
//!
//! Written to a temporary sibling and renamed when complete, like every
//! other output: a failed write leaves nothing under the final name.

use super::dataset::{Dataset, Precision};
use crate::{Result, SolverError};
use hdf5_metno as h5;
use ndarray::{ArrayView, IxDyn};
use std::path::Path;

fn write_fields<T: h5::H5Type + Copy>(f: &h5::File, d: &Dataset, conv: impl Fn(f64) -> T) -> h5::Result<()> {
    let coeff: Vec<T> = d.coeff.iter().map(|&v| conv(v)).collect();
    let sol: Vec<T> = d.sol.iter().map(|&v| conv(v)).collect();
    let shape_err = |e: ndarray::ShapeError| h5::Error::from(format!("array shape: {e}").as_str());
    let nu_shape = d.field_shape();
    // PDEBench's tensor has a time axis of length 1 after the sample axis
    let mut tensor_shape = nu_shape.clone();
    tensor_shape.insert(1, 1);
    f.new_dataset_builder()
        .with_data(ArrayView::from_shape(IxDyn(&nu_shape), &coeff).map_err(shape_err)?)
        .create("nu")?;
    f.new_dataset_builder()
        .with_data(ArrayView::from_shape(IxDyn(&tensor_shape), &sol).map_err(shape_err)?)
        .create("tensor")?;
    Ok(())
}

fn str_attr(f: &h5::File, name: &str, value: &str) -> h5::Result<()> {
    let v: h5::types::VarLenUnicode = value
        .parse()
        .map_err(|e| h5::Error::from(format!("attribute {name}: {e}").as_str()))?;
    f.new_attr::<h5::types::VarLenUnicode>()
        .create(name)?
        .write_scalar(&v)
}

fn write_all(d: &Dataset, path: &Path, precision: Precision) -> h5::Result<()> {
    let f = h5::File::create(path)?;
    match precision {
        Precision::F32 => write_fields(&f, d, |v| v as f32)?,
        Precision::F64 => write_fields(&f, d, |v| v)?,
    }
    let xy = d.coordinates();
    f.new_dataset_builder()
        .with_data(ArrayView::from(&xy[..]))
        .create("x-coordinate")?;
    f.new_dataset_builder()
        .with_data(ArrayView::from(&xy[..]))
        .create("y-coordinate")?;
    if d.dim == 3 {
        f.new_dataset_builder()
            .with_data(ArrayView::from(&xy[..]))
            .create("z-coordinate")?;
    }
    f.new_dataset_builder()
        .with_data(ArrayView::from(&d.iters[..]))
        .create("iters")?;
    f.new_dataset_builder()
        .with_data(ArrayView::from(&d.relres[..]))
        .create("relres")?;
    f.new_dataset_builder()
        .with_data(ArrayView::from(&d.solve_s[..]))
        .create("solve_s")?;
    if let Some((name, v)) = &d.scalar {
        f.new_dataset_builder()
            .with_data(ArrayView::from(&v[..]))
            .create(name.as_str())?;
    }
    if let Some(index) = &d.index {
        f.new_dataset_builder()
            .with_data(ArrayView::from(&index[..]))
            .create("index")?;
    }
    let m = &d.metadata;
    str_attr(&f, "family", m["family"].as_str().unwrap_or(""))?;
    str_attr(&f, "metadata", &m.to_string())?;
    f.new_attr::<u64>()
        .create("seed")?
        .write_scalar(&m["seed"].as_u64().unwrap_or(0))?;
    f.new_attr::<u64>()
        .create("grid")?
        .write_scalar(&(d.grid as u64))?;
    f.new_attr::<u64>()
        .create("count")?
        .write_scalar(&(d.count as u64))?;
    f.new_attr::<f64>()
        .create("tol")?
        .write_scalar(&m["tol"].as_f64().unwrap_or(f64::NAN))?;
    f.close()
}

/// Writes `d` to `path` (HDF5), atomically.
pub(crate) fn write(d: &Dataset, path: &Path, precision: Precision) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = write_all(d, &tmp, precision);
    let result = result
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(SolverError::Output {
            path: path.to_path_buf(),
            message: format!("writing HDF5 failed: {e}"),
        });
    }
    Ok(())
}
