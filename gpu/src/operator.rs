//! [`LinearOperator`] on the device: lets every CPU solver of the engine run with its
//! SpMV on the GPU (one upload and one read-back per product: useful for large
//! matrices applied a few times; the resident solvers avoid the transfers).

use crate::context::{from_bytes, to_bytes, GpuContext, Precision};
use crate::error::Result;
use crate::kernels::{record, Launch};
use crate::matrix::GpuMatrix;
use solvent_linalg::operator::LinearOperator;
use solvent_linalg::CsrMatrix;
use std::sync::{Arc, Mutex};

struct Work {
    x: wgpu::Buffer,
    y: wgpu::Buffer,
    staging: wgpu::Buffer,
    launch: Launch,
}

/// A CSR matrix resident on the device, applied through [`LinearOperator`].
pub struct GpuOperator {
    matrix: GpuMatrix,
    host: CsrMatrix,
    work: Mutex<Work>,
}

impl GpuOperator {
    /// Uploads `a` (kept on the host as well, for preconditioners and `as_csr`).
    pub fn new(ctx: &Arc<GpuContext>, a: CsrMatrix, prec: Precision) -> Result<Self> {
        let matrix = GpuMatrix::new(ctx, &a, prec)?;
        let n = a.nrows();
        let x = ctx.storage("operator input", n, prec)?;
        let y = ctx.storage("operator output", n, prec)?;
        let launch = matrix.spmv_launch(&x, &y, 1, 0, 0)?;
        let staging = ctx.staging(n as u64 * prec.bytes());
        Ok(Self {
            matrix,
            host: a,
            work: Mutex::new(Work {
                x,
                y,
                staging,
                launch,
            }),
        })
    }

    /// The device matrix.
    pub fn matrix(&self) -> &GpuMatrix {
        &self.matrix
    }
}

impl LinearOperator for GpuOperator {
    fn nrows(&self) -> usize {
        self.host.nrows()
    }
    fn ncols(&self) -> usize {
        self.host.ncols()
    }
    /// `y = A x` on the device.
    ///
    /// # Panics
    /// If the device is lost mid-product (the trait has no error path).
    fn apply(&self, x: &[f64], y: &mut [f64]) {
        let ctx = &self.matrix.ctx;
        let prec = self.matrix.prec;
        let w = self.work.lock().unwrap_or_else(|e| e.into_inner());
        ctx.queue.write_buffer(&w.x, 0, &to_bytes(x, prec));
        let mut enc = ctx.encoder();
        record(&mut enc, &[&w.launch]);
        let bytes = y.len() as u64 * prec.bytes();
        let raw = ctx
            .read_back(enc, &w.y, &w.staging, bytes)
            .unwrap_or_else(|e| panic!("GPU operator: {e}"));
        from_bytes(&raw, prec, y);
    }
    fn as_csr(&self) -> Option<&CsrMatrix> {
        Some(&self.host)
    }
}
