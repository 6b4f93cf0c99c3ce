//! A generated PDE data set and its on-disk formats.
//!
//! `.npz` (always available): `coeff` and `sol` as `(K, N, N)` arrays, or
//! `(K, N, N, N)` for the 3-D families (float32 by default), `iters` (int64),
//! `relres` (float64, the true relative residual of the float64 solution),
//! `solve_s` (float64), `x` and `y` (and `z` in 3-D: the interior grid
//! coordinates), `k` (Helmholtz wave numbers) and `metadata` (a JSON string:
//! `json.loads(str(d["metadata"]))`). Samples are in the original sample order.
//!
//! HDF5 in the PDEBench layout with the `hdf5` feature; without it `.h5` paths are
//! rejected before any work ([`check_output`]).

use crate::{Result, SolverError};
use solvent_linalg::io::npz::NpzWriter;
use std::path::Path;

/// Element type of the stored fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// float32 (the neural-operator convention; halves the size).
    F32,
    /// float64 (keeps the solver's accuracy).
    F64,
}

solvent_linalg::named_enum!(Precision, "precision" { F32 => "f32", F64 => "f64" });

impl Precision {
    /// Bytes per stored value.
    pub fn bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

/// The file formats a data set is written in, chosen by the output's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NumPy `.npz` (always available).
    Npz,
    /// HDF5 in the PDEBench layout (`.h5`, `.hdf5`; feature `hdf5`).
    Hdf5,
}

/// The format of `path`, after checking that this build can write it and that a data set
/// of `count` samples on a grid of `grid` points per side in `dim` dimensions (2 or 3:
/// `grid^dim` values per sample) in `precision` fits it (an `.npz` member holds at most
/// 4 GiB): the check a front end runs before any work.
pub fn check_output(
    path: &Path,
    count: usize,
    grid: usize,
    dim: usize,
    precision: Precision,
) -> Result<Format> {
    let bad = |reason: String| SolverError::setting("output", path.display(), reason);
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("npz") => Format::Npz,
        Some("h5" | "hdf5") => Format::Hdf5,
        _ => {
            return Err(bad(
                "unknown format (use .npz, or .h5 with the hdf5 feature)".into()
            ))
        }
    };
    if format == Format::Hdf5 && !cfg!(feature = "hdf5") {
        return Err(bad(
            "HDF5 output needs the `hdf5` feature (cargo build --release --features hdf5, with libhdf5-dev); use .npz"
                .into(),
        ));
    }
    let field_bytes = count as u128 * (grid as u128).pow(dim as u32) * precision.bytes() as u128;
    if format == Format::Npz && field_bytes + 1024 >= u32::MAX as u128 {
        let smaller = match precision {
            Precision::F64 => ", or --precision f32",
            Precision::F32 => "",
        };
        return Err(bad(format!(
            "{count} samples of {} take {:.1} GB per field, over the 4 GiB .npz member limit; write .h5 (feature hdf5) or fewer samples{smaller}",
            grid_name(grid, dim),
            field_bytes as f64 / 1e9
        )));
    }
    Ok(format)
}

/// `"N×N"` or `"N×N×N"`: a grid of `grid` points per side in `dim` dimensions, for messages.
pub fn grid_name(grid: usize, dim: usize) -> String {
    vec![grid.to_string(); dim.max(1)].join("×")
}

/// A data set held in memory until it is written.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Samples K.
    pub count: usize,
    /// Grid side N.
    pub grid: usize,
    /// Space dimension (2: fields of `N²` values, `(K, N, N)`; 3: `N³`, `(K, N, N, N)`).
    pub dim: usize,
    /// Coefficient fields, `K·N^dim`, sample-major.
    pub coeff: Vec<f64>,
    /// Solutions, `K·N^dim`, sample-major.
    pub sol: Vec<f64>,
    /// Iterations per sample.
    pub iters: Vec<i64>,
    /// True relative residual per sample.
    pub relres: Vec<f64>,
    /// Solve seconds per sample.
    pub solve_s: Vec<f64>,
    /// Scalar parameter per sample (Helmholtz `k`), if the family has one.
    pub scalar: Option<(String, Vec<f64>)>,
    /// Generation metadata.
    pub metadata: serde_json::Value,
    /// For a piece of a data set ([`super::DatagenConfig::shard`]): the sample number of
    /// each entry in the whole data set (increasing); `None` for a whole data set, whose
    /// entry `i` is sample `i`. Written as `index` when present.
    pub index: Option<Vec<i64>>,
}

impl Dataset {
    /// Copies `piece` — a piece of this data set ([`super::DatagenConfig::shard`], its
    /// `index` saying which samples it holds) — into place: fields, records and the
    /// family's scalar. Used to put a data set together from pieces made elsewhere (MPI
    /// ranks); a piece of another grid or an index outside this data set is an error.
    pub fn place(&mut self, piece: &Dataset) -> Result<()> {
        let n = self.points();
        let bad = |why: String| SolverError::setting("piece", format!("{} samples", piece.count), why);
        if piece.grid != self.grid || piece.dim != self.dim {
            return Err(bad(format!(
                "grid {} is not this data set's {}",
                grid_name(piece.grid, piece.dim),
                grid_name(self.grid, self.dim)
            )));
        }
        let index = piece
            .index
            .as_ref()
            .ok_or_else(|| bad("a piece needs its sample index".into()))?;
        let k = piece.count;
        let scalar_ok = piece.scalar.as_ref().is_none_or(|(_, v)| v.len() == k);
        if index.len() != k
            || piece.sol.len() != k * n
            || piece.coeff.len() != k * n
            || piece.iters.len() != k
            || piece.relres.len() != k
            || piece.solve_s.len() != k
            || !scalar_ok
        {
            return Err(bad("its arrays do not match its count".into()));
        }
        for (j, &i) in index.iter().enumerate() {
            let i = usize::try_from(i)
                .ok()
                .filter(|&i| i < self.count)
                .ok_or_else(|| bad(format!("sample {i} is outside the {} samples", self.count)))?;
            self.coeff[i * n..(i + 1) * n].copy_from_slice(&piece.coeff[j * n..(j + 1) * n]);
            self.sol[i * n..(i + 1) * n].copy_from_slice(&piece.sol[j * n..(j + 1) * n]);
            self.iters[i] = piece.iters[j];
            self.relres[i] = piece.relres[j];
            self.solve_s[i] = piece.solve_s[j];
            if let Some((name, values)) = &piece.scalar {
                let (_, all) = self
                    .scalar
                    .get_or_insert_with(|| (name.clone(), vec![f64::NAN; self.count]));
                all[i] = values[j];
            }
        }
        Ok(())
    }
    /// An empty data set of `count` samples on a `grid × grid` grid.
    pub fn new(count: usize, grid: usize) -> Self {
        Self::with_dim(count, grid, 2)
    }

    /// An empty data set of `count` samples on a grid of `grid` points per side in `dim`
    /// dimensions (2 or 3; [`PdeFamily::dim`](solvent_problems::generators::PdeFamily::dim)).
    pub fn with_dim(count: usize, grid: usize, dim: usize) -> Self {
        let n = grid.pow(dim as u32);
        Self {
            count,
            grid,
            dim,
            coeff: vec![0.0; count * n],
            sol: vec![0.0; count * n],
            iters: vec![0; count],
            relres: vec![f64::NAN; count],
            solve_s: vec![0.0; count],
            scalar: None,
            metadata: serde_json::Value::Null,
            index: None,
        }
    }

    /// Values per sample and field: `N^dim`.
    pub fn points(&self) -> usize {
        self.grid.pow(self.dim as u32)
    }

    /// The shape of the `coeff` and `sol` arrays: `[K, N, N]` or `[K, N, N, N]`.
    pub fn field_shape(&self) -> Vec<usize> {
        let mut shape = vec![self.count];
        shape.extend(std::iter::repeat_n(self.grid, self.dim));
        shape
    }

    /// Interior grid coordinates `h, 2h, …, N h` with `h = 1/(N+1)` (the same along
    /// every axis).
    pub fn coordinates(&self) -> Vec<f64> {
        let h = 1.0 / (self.grid as f64 + 1.0);
        (1..=self.grid).map(|i| i as f64 * h).collect()
    }

    /// Writes `.npz`, or HDF5 for `.h5`/`.hdf5` paths ([`check_output`] first),
    /// atomically: a failed write leaves nothing under `path`.
    pub fn write(&self, path: &Path, precision: Precision) -> Result<()> {
        match check_output(path, self.count, self.grid, self.dim, precision)? {
            Format::Npz => self.write_npz(path, precision),
            Format::Hdf5 => self.write_hdf5(path, precision),
        }
    }

    fn write_npz(&self, path: &Path, precision: Precision) -> Result<()> {
        let (k, n) = (self.count, self.grid);
        let shape = self.field_shape();
        let mut w = NpzWriter::new();
        match precision {
            Precision::F32 => {
                let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
                w.add("coeff", &shape, &f(&self.coeff))?;
                w.add("sol", &shape, &f(&self.sol))?;
            }
            Precision::F64 => {
                w.add("coeff", &shape, &self.coeff)?;
                w.add("sol", &shape, &self.sol)?;
            }
        }
        w.add("iters", &[k], &self.iters)?;
        w.add("relres", &[k], &self.relres)?;
        w.add("solve_s", &[k], &self.solve_s)?;
        let xy = self.coordinates();
        w.add("x", &[n], &xy)?;
        w.add("y", &[n], &xy)?;
        if self.dim == 3 {
            w.add("z", &[n], &xy)?;
        }
        if let Some((name, v)) = &self.scalar {
            w.add(name, &[k], v)?;
        }
        if let Some(index) = &self.index {
            w.add("index", &[k], index)?;
        }
        w.add_str("metadata", &self.metadata.to_string())?;
        w.write(path)?;
        Ok(())
    }

    #[cfg(not(feature = "hdf5"))]
    fn write_hdf5(&self, path: &Path, _precision: Precision) -> Result<()> {
        // check_output refused .h5 already; kept for the type checker
        Err(SolverError::setting(
            "output",
            path.display(),
            "HDF5 output needs the `hdf5` feature",
        ))
    }

    #[cfg(feature = "hdf5")]
    fn write_hdf5(&self, path: &Path, precision: Precision) -> Result<()> {
        super::hdf5::write(self, path, precision)
    }
}
