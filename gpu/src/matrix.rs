//! Sparse matrices on the device: one CSR pattern with one or many value sets (a batch
//! of systems from one discretisation), and the SpMV kernel chosen by row length.

use crate::context::{GpuContext, Precision};
use crate::error::{GpuError, Result};
use crate::kernels::{Launch, Module, WG};
use solvent_linalg::CsrMatrix;
use std::sync::Arc;

/// Average row length from which the cooperative (32 invocations per row) kernel is used.
pub const WARP_ROW_THRESHOLD: f64 = 12.0;

/// Which SpMV kernel a matrix uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpmvKernel {
    /// One invocation per row: stencils (≈5–7 entries per row).
    Row,
    /// 32 invocations per row: long rows.
    Warp,
}

impl SpmvKernel {
    /// The kernel for an average row length.
    pub fn for_row_length(avg: f64) -> Self {
        if avg >= WARP_ROW_THRESHOLD {
            Self::Warp
        } else {
            Self::Row
        }
    }
    fn entry(self) -> &'static str {
        match self {
            Self::Row => "row",
            Self::Warp => "warp",
        }
    }
}

/// A square CSR pattern with `batch` value sets resident on the device, plus the
/// inverse diagonals for Jacobi preconditioning.
pub struct GpuMatrix {
    pub(crate) ctx: Arc<GpuContext>,
    pub(crate) prec: Precision,
    pub(crate) n: usize,
    pub(crate) nnz: usize,
    pub(crate) batch: usize,
    pub(crate) row_ptr: wgpu::Buffer,
    pub(crate) col_idx: wgpu::Buffer,
    pub(crate) values: wgpu::Buffer,
    pub(crate) dinv: wgpu::Buffer,
    /// Smallest diagonal entry over the batch (Jacobi-PCG needs it positive).
    pub(crate) min_diag: f64,
    kernel: SpmvKernel,
    max_row: usize,
}

impl std::fmt::Debug for GpuMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GpuMatrix(n = {}, nnz = {}, batch = {}, {:?}, {:?})",
            self.n, self.nnz, self.batch, self.prec, self.kernel
        )
    }
}

/// Index of the first non-finite entry.
pub(crate) fn check_finite(what: &str, data: &[f64]) -> Result<()> {
    match data.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(GpuError::NonFinite {
            what: what.to_string(),
            index,
            value: data[index],
        }),
        None => Ok(()),
    }
}

impl GpuMatrix {
    /// Uploads one matrix.
    pub fn new(ctx: &Arc<GpuContext>, a: &CsrMatrix, prec: Precision) -> Result<Self> {
        Self::batch(ctx, a, a.values(), prec)
    }

    /// Uploads `values.len() / nnz` value sets over the pattern of `pattern` (its own
    /// values are ignored): system s has the entries `values[s·nnz .. (s+1)·nnz]`.
    pub fn batch(
        ctx: &Arc<GpuContext>,
        pattern: &CsrMatrix,
        values: &[f64],
        prec: Precision,
    ) -> Result<Self> {
        ctx.check_precision(prec)?;
        let n = pattern.nrows();
        if pattern.ncols() != n {
            return Err(GpuError::Shape(format!(
                "the GPU solvers need a square matrix, got {} × {}",
                n,
                pattern.ncols()
            )));
        }
        let nnz = pattern.nnz();
        if nnz == 0 || !values.len().is_multiple_of(nnz) || values.is_empty() {
            return Err(GpuError::Shape(format!(
                "{} values do not make whole value sets of the pattern's {nnz} entries",
                values.len()
            )));
        }
        let batch = values.len() / nnz;
        if (batch as u64) * (n.max(nnz) as u64) >= u32::MAX as u64 {
            return Err(GpuError::Shape(format!(
                "a batch of {batch} systems with {nnz} entries overflows the kernels' 32-bit indices; split the batch"
            )));
        }
        check_finite("matrix values", values)?;
        let hint = if batch > 1 {
            "split the batch into smaller ones"
        } else {
            "the matrix is too large for one binding on this adapter; use the CPU solvers (--device cpu)"
        };
        ctx.check_fits("matrix values", values.len() as u64 * prec.bytes(), hint)?;
        let rp = pattern.row_ptr();
        let max_row = (0..n).map(|i| (rp[i + 1] - rp[i]) as usize).max().unwrap_or(0);
        let kernel = SpmvKernel::for_row_length(nnz as f64 / n.max(1) as f64);
        // inverse diagonals, per value set
        let diag_pos = pattern.diagonal_positions("Jacobi").ok();
        let mut dinv = vec![1.0; batch * n];
        let mut min_diag = f64::INFINITY;
        for s in 0..batch {
            let vals = &values[s * nnz..(s + 1) * nnz];
            for i in 0..n {
                let d = diag_pos.as_ref().map_or(0.0, |p| vals[p[i]]);
                min_diag = min_diag.min(d);
                if d != 0.0 {
                    dinv[s * n + i] = 1.0 / d;
                }
            }
        }
        Ok(Self {
            ctx: ctx.clone(),
            prec,
            n,
            nnz,
            batch,
            row_ptr: ctx.upload_u32("row pointers", rp)?,
            col_idx: ctx.upload_u32("column indices", pattern.col_idx())?,
            values: ctx.upload("matrix values", values, prec)?,
            dinv: ctx.upload("inverse diagonal", &dinv, prec)?,
            min_diag,
            kernel,
            max_row,
        })
    }

    /// Forces an SpMV kernel (benchmarks, tests).
    pub fn with_kernel(mut self, k: SpmvKernel) -> Self {
        self.kernel = k;
        self
    }

    /// The SpMV kernel in use.
    pub fn kernel(&self) -> SpmvKernel {
        self.kernel
    }

    /// Unknowns per system.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Entries per system.
    pub fn nnz(&self) -> usize {
        self.nnz
    }

    /// Number of value sets.
    pub fn batch_len(&self) -> usize {
        self.batch
    }

    /// Longest row.
    pub fn max_row(&self) -> usize {
        self.max_row
    }

    /// Element type on the device.
    pub fn precision(&self) -> Precision {
        self.prec
    }

    /// Smallest diagonal entry over the batch.
    pub fn min_diagonal(&self) -> f64 {
        self.min_diag
    }

    /// The inverse diagonal the solvers scale with, and its stride between systems: the
    /// matrix's (one per value set) with Jacobi, a shared vector of ones without.
    pub(crate) fn diagonal_scaling(&self, jacobi: bool) -> Result<(wgpu::Buffer, u32)> {
        if jacobi {
            let stride = if self.batch > 1 { self.n as u32 } else { 0 };
            Ok((self.dinv.clone(), stride))
        } else {
            Ok((
                self.ctx.upload("unit diagonal", &vec![1.0; self.n], self.prec)?,
                0,
            ))
        }
    }

    /// Bytes one SpMV over `systems` systems moves at least (values, indices, x, y).
    pub fn spmv_bytes(&self, systems: usize) -> f64 {
        let e = self.prec.bytes() as f64;
        let per = self.nnz as f64 * (e + 4.0) + (self.n as f64 + 1.0) * 4.0 + 2.0 * self.n as f64 * e;
        per * systems as f64
    }

    /// A recorded SpMV `y[y_off + s·n ..] = A_s x[x_off + s·n ..]` for `systems` systems
    /// (the value set of system s is s when the matrix is batched, the only one otherwise).
    pub(crate) fn spmv_launch(
        &self,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        systems: usize,
        x_off: usize,
        y_off: usize,
    ) -> Result<Launch> {
        if self.batch != 1 && self.batch != systems {
            return Err(GpuError::Shape(format!(
                "{systems} right-hand sides for a batch of {} matrices",
                self.batch
            )));
        }
        let vstride = if self.batch == 1 { 0 } else { self.nnz as u32 };
        let pipeline = self.ctx.pipeline(Module::Spmv, self.kernel.entry(), self.prec)?;
        let params = self
            .ctx
            .params([self.n as u32, 0, vstride, 0, x_off as u32, y_off as u32, 0, 0]);
        let group = self.ctx.bind(
            &pipeline,
            &[
                (0, &params),
                (1, &self.row_ptr),
                (2, &self.col_idx),
                (3, &self.values),
                (4, x),
                (5, y),
            ],
        );
        let rows_per_group = match self.kernel {
            SpmvKernel::Row => WG as usize,
            SpmvKernel::Warp => 8,
        };
        let x_groups = self
            .n
            .div_ceil(rows_per_group)
            .clamp(1, self.ctx.max_groups() as usize) as u32;
        Ok(Launch {
            pipeline,
            group,
            x: x_groups,
            y: systems as u32,
        })
    }
}
