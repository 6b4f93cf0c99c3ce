//! NumPy `.npy` arrays (through the `npyz` crate), read as `f64` whatever
//! their numeric dtype, written as `f64` or `f32`.

use crate::error::{LinalgError, Result};
use crate::io::atomic_write;
use npyz::WriterBuilder;
use std::path::Path;

/// An n-dimensional array read from a `.npy` file, in C (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f64>,
}

fn fmt_err(path: &Path, message: impl Into<String>) -> LinalgError {
    LinalgError::Format {
        path: path.to_path_buf(),
        line: None,
        message: message.into(),
    }
}

/// Reads an array of any real or integer dtype as `f64`; Fortran-ordered
/// arrays are transposed into C order.
pub fn read(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| LinalgError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes, path)
}

/// Checks the shape a `.npy` header declares before anything is sized by it: every
/// dimension a number, their product representable, and no more elements than the file
/// has bytes for (a corrupt header must be an error, not a panic or a huge allocation).
fn check_declared_shape(bytes: &[u8], path: &Path) -> Result<()> {
    let bad = |m: String| Err(fmt_err(path, m));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return bad("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return bad(format!("unsupported .npy version {v}")),
    };
    let Some(header) = bytes.get(start..start.saturating_add(len)) else {
        return bad(format!(
            "the header declares {len} bytes, the file has {}",
            bytes.len()
        ));
    };
    let header = String::from_utf8_lossy(header);
    let Some(at) = header.find("'shape'") else {
        return bad("the header has no shape".into());
    };
    let rest = &header[at..];
    let (Some(open), Some(close)) = (rest.find('('), rest.find(')')) else {
        return bad("the header's shape is not a tuple".into());
    };
    if close < open {
        return bad("the header's shape is not a tuple".into());
    }
    let mut count: u64 = 1;
    for d in rest[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let Ok(d) = d.parse::<u64>() else {
            return bad(format!("shape dimension `{d}` is not a non-negative integer"));
        };
        match count.checked_mul(d) {
            Some(c) => count = c,
            None => return bad("the shape's element count overflows".into()),
        }
    }
    let data = bytes.len().saturating_sub(start + len) as u64;
    if count > data {
        return bad(format!(
            "the shape declares {count} elements, the file holds {data} bytes of data"
        ));
    }
    Ok(())
}

/// Decodes the bytes of a `.npy` file (`path` names it in errors).
pub fn decode(bytes: &[u8], path: &Path) -> Result<NpyArray> {
    check_declared_shape(bytes, path)?;
    let npy = npyz::NpyFile::new(bytes).map_err(|e| fmt_err(path, format!("not a valid .npy file: {e}")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let fortran = npy.order() == npyz::Order::Fortran;
    let descr = match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => {
            return Err(fmt_err(
                path,
                format!("unsupported dtype {other:?} (plain numeric arrays only)"),
            ))
        }
    };
    let kind_size = descr.trim_start_matches(['<', '>', '|', '=']);
    let conv = |e: std::io::Error| fmt_err(path, format!("reading {descr} data: {e}"));
    let data: Vec<f64> = match kind_size {
        "f8" => npy.into_vec::<f64>().map_err(conv)?,
        "f4" => npy
            .into_vec::<f32>()
            .map_err(conv)?
            .into_iter()
            .map(f64::from)
            .collect(),
        "i8" => npy
            .into_vec::<i64>()
            .map_err(conv)?
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        "i4" => npy
            .into_vec::<i32>()
            .map_err(conv)?
            .into_iter()
            .map(f64::from)
            .collect(),
        "u8" => npy
            .into_vec::<u64>()
            .map_err(conv)?
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        "u4" => npy
            .into_vec::<u32>()
            .map_err(conv)?
            .into_iter()
            .map(f64::from)
            .collect(),
        "i2" => npy
            .into_vec::<i16>()
            .map_err(conv)?
            .into_iter()
            .map(f64::from)
            .collect(),
        "u1" => npy
            .into_vec::<u8>()
            .map_err(conv)?
            .into_iter()
            .map(f64::from)
            .collect(),
        "b1" => npy
            .into_vec::<bool>()
            .map_err(conv)?
            .into_iter()
            .map(|b| b as u8 as f64)
            .collect(),
        _ => return Err(fmt_err(path, format!("unsupported dtype '{descr}'"))),
    };
    let expected: usize = shape.iter().product();
    if data.len() != expected {
        return Err(fmt_err(
            path,
            format!(
                "shape {shape:?} needs {expected} values, file holds {}",
                data.len()
            ),
        ));
    }
    let data = if fortran && shape.len() > 1 {
        fortran_to_c(&data, &shape)
    } else {
        data
    };
    Ok(NpyArray { shape, data })
}

fn fortran_to_c(data: &[f64], shape: &[usize]) -> Vec<f64> {
    let nd = shape.len();
    let mut out = vec![0.0; data.len()];
    let mut idx = vec![0usize; nd];
    for (c_pos, slot) in out.iter_mut().enumerate() {
        // c_pos → multi-index (row-major)
        let mut rem = c_pos;
        for d in (0..nd).rev() {
            idx[d] = rem % shape[d];
            rem /= shape[d];
        }
        let mut f_pos = 0;
        for d in (0..nd).rev() {
            f_pos = f_pos * shape[d] + idx[d];
        }
        *slot = data[f_pos];
    }
    out
}

fn check_shape(shape: &[usize], len: usize) -> Result<()> {
    let expected: usize = shape.iter().product();
    if expected != len {
        return Err(LinalgError::dims(
            format!("npy data for shape {shape:?}"),
            expected,
            len,
        ));
    }
    Ok(())
}

fn write_to<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    w: &mut dyn std::io::Write,
    shape: &[usize],
    data: &[T],
) -> std::io::Result<()> {
    let shape64: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape64)
        .writer(w)
        .begin_nd()?;
    writer.extend(data.iter().copied())?;
    writer.finish()
}

/// The bytes of a `.npy` file holding `data` (row-major, of `shape`), in the
/// element type's native dtype (`f64` → `<f8`, `f32` → `<f4`, `i64` → `<i8`, …).
pub fn encode<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    shape: &[usize],
    data: &[T],
) -> Result<Vec<u8>> {
    check_shape(shape, data.len())?;
    let mut out = Vec::with_capacity(128 + std::mem::size_of_val(data));
    write_to(&mut out, shape, data).map_err(|e| LinalgError::Unsupported(format!("encoding .npy: {e}")))?;
    Ok(out)
}

fn write_impl<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[usize],
    data: &[T],
) -> Result<()> {
    check_shape(shape, data.len())?;
    atomic_write(path, |w| write_to(w, shape, data))
}

/// Writes `f64` data of the given shape (row-major), atomically.
pub fn write_f64(path: impl AsRef<Path>, shape: &[usize], data: &[f64]) -> Result<()> {
    write_impl(path.as_ref(), shape, data)
}

/// Writes `f32` data of the given shape (row-major), atomically.
pub fn write_f32(path: impl AsRef<Path>, shape: &[usize], data: &[f32]) -> Result<()> {
    write_impl(path.as_ref(), shape, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let data: Vec<f64> = (0..6).map(|i| i as f64 * 0.5).collect();
        write_f64(&p, &[2, 3], &data).unwrap();
        let a = read(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, data);
        let q = dir.path().join("b.npy");
        write_f32(&q, &[3], &[1.5f32, 2.0, -1.0]).unwrap();
        assert_eq!(read(&q).unwrap().data, vec![1.5, 2.0, -1.0]);
        assert!(write_f64(&p, &[4], &data).is_err());
        std::fs::write(dir.path().join("bad.npy"), b"not numpy").unwrap();
        assert!(matches!(
            read(dir.path().join("bad.npy")),
            Err(LinalgError::Format { .. })
        ));
    }

    #[test]
    fn fortran_order_is_transposed() {
        // 2×3 array [[0,1,2],[3,4,5]] stored column-major is 0,3,1,4,2,5
        let c = fortran_to_c(&[0.0, 3.0, 1.0, 4.0, 2.0, 5.0], &[2, 3]);
        assert_eq!(c, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }
}
