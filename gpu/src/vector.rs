//! Device vectors and one-shot vector operations (SpMV, dot, norm, axpby) for callers
//! outside the resident solvers: tests, benchmarks, the `LinearOperator` adapter.
//! Each call records its own launch; the solvers instead build their launches once.

use crate::context::{from_bytes, GpuContext, Precision};
use crate::error::{GpuError, Result};
use crate::kernels::{record, Launch, Module};
use crate::matrix::{check_finite, GpuMatrix};
use std::sync::Arc;

/// A batch of `systems` vectors of length `n` on the device.
pub struct GpuVector {
    pub(crate) ctx: Arc<GpuContext>,
    pub(crate) buf: wgpu::Buffer,
    pub(crate) n: usize,
    pub(crate) systems: usize,
    pub(crate) prec: Precision,
}

impl GpuVector {
    /// Uploads `data` as `systems` vectors of length `data.len() / systems`.
    pub fn from_slice(ctx: &Arc<GpuContext>, data: &[f64], systems: usize, prec: Precision) -> Result<Self> {
        if systems == 0 || !data.len().is_multiple_of(systems) {
            return Err(GpuError::Shape(format!(
                "{} values do not split into {systems} vectors",
                data.len()
            )));
        }
        check_finite("vector", data)?;
        Ok(Self {
            ctx: ctx.clone(),
            buf: ctx.upload("vector", data, prec)?,
            n: data.len() / systems,
            systems,
            prec,
        })
    }

    /// A zero batch.
    pub fn zeros(ctx: &Arc<GpuContext>, n: usize, systems: usize, prec: Precision) -> Result<Self> {
        Ok(Self {
            ctx: ctx.clone(),
            buf: ctx.storage("vector", n * systems, prec)?,
            n,
            systems,
            prec,
        })
    }

    /// Overwrites the contents.
    pub fn write(&self, data: &[f64]) -> Result<()> {
        if data.len() != self.n * self.systems {
            return Err(GpuError::Shape(format!(
                "{} values for a vector batch of {}",
                data.len(),
                self.n * self.systems
            )));
        }
        check_finite("vector", data)?;
        self.ctx.write(&self.buf, data, self.prec);
        Ok(())
    }

    /// Reads the batch back (converted to f64).
    pub fn to_vec(&self) -> Result<Vec<f64>> {
        let bytes = (self.n * self.systems) as u64 * self.prec.bytes();
        let staging = self.ctx.staging(bytes);
        let raw = self
            .ctx
            .read_back(self.ctx.encoder(), &self.buf, &staging, bytes)?;
        let mut out = vec![0.0; self.n * self.systems];
        from_bytes(&raw, self.prec, &mut out);
        Ok(out)
    }

    /// Length of one vector.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the vectors are empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Vectors in the batch.
    pub fn systems(&self) -> usize {
        self.systems
    }
}

fn same_shape(x: &GpuVector, y: &GpuVector) -> Result<()> {
    if x.n != y.n || x.systems != y.systems || x.prec != y.prec {
        return Err(GpuError::Shape(format!(
            "vector batches differ: {}×{} {:?} vs {}×{} {:?}",
            x.systems, x.n, x.prec, y.systems, y.n, y.prec
        )));
    }
    if x.systems as u64 > x.ctx.max_groups() as u64 {
        return Err(GpuError::Shape(format!(
            "{} vectors in one batch exceed the adapter's {} workgroups per dimension; split the batch",
            x.systems,
            x.ctx.max_groups()
        )));
    }
    Ok(())
}

/// Input and output of a kernel must be different buffers (one is bound read-only,
/// the other read-write).
fn distinct(x: &GpuVector, y: &GpuVector) -> Result<()> {
    if x.buf == y.buf {
        return Err(GpuError::Shape(
            "the same vector is both input and output; use a separate output vector".into(),
        ));
    }
    Ok(())
}

/// `y = A x` (batched: system s uses value set s, or the only one).
pub fn spmv(a: &GpuMatrix, x: &GpuVector, y: &GpuVector) -> Result<()> {
    same_shape(x, y)?;
    distinct(x, y)?;
    if x.n != a.n || x.prec != a.prec {
        return Err(GpuError::Shape(format!(
            "vector of length {} ({:?}) for a matrix of order {} ({:?})",
            x.n, x.prec, a.n, a.prec
        )));
    }
    let l = a.spmv_launch(&x.buf, &y.buf, x.systems, 0, 0)?;
    let mut enc = a.ctx.encoder();
    record(&mut enc, &[&l]);
    a.ctx.queue.submit([enc.finish()]);
    Ok(())
}

/// Seconds per SpMV over `reps` back-to-back launches (one submission, one wait),
/// after one warm-up launch.
pub fn time_spmv(a: &GpuMatrix, x: &GpuVector, y: &GpuVector, reps: usize) -> Result<f64> {
    same_shape(x, y)?;
    distinct(x, y)?;
    let l = a.spmv_launch(&x.buf, &y.buf, x.systems, 0, 0)?;
    time_launch(&a.ctx, &l, reps)
}

/// Seconds per launch of `l` over `reps` launches in one submission, after a warm-up.
fn time_launch(ctx: &GpuContext, l: &Launch, reps: usize) -> Result<f64> {
    let run = |count: usize| -> Result<f64> {
        let mut enc = ctx.encoder();
        for _ in 0..count {
            record(&mut enc, &[l]);
        }
        let t = std::time::Instant::now();
        ctx.queue.submit([enc.finish()]);
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        Ok(t.elapsed().as_secs_f64())
    };
    run(1)?;
    Ok(run(reps.max(1))? / reps.max(1) as f64)
}

/// Per-system dot products `x_sᵀ y_s`, reduced on the device in two passes.
pub fn dot(x: &GpuVector, y: &GpuVector) -> Result<Vec<f64>> {
    same_shape(x, y)?;
    let ctx = &x.ctx;
    let np = ctx.groups_for(x.n);
    let part = ctx.storage("partial sums", np as usize * x.systems, x.prec)?;
    let out = ctx.storage("dots", x.systems, x.prec)?;
    let p1 = ctx.pipeline(Module::Blas, "dot_partial", x.prec)?;
    let params = ctx.params([x.n as u32, np, 0, 0, 0, 0, 0, 0]);
    let l1 = Launch {
        group: ctx.bind(&p1, &[(0, &params), (1, &x.buf), (2, &y.buf), (3, &part)]),
        pipeline: p1,
        x: np,
        y: x.systems as u32,
    };
    let p2 = ctx.pipeline(Module::Finish, "main", x.prec)?;
    let l2 = Launch {
        group: ctx.bind(&p2, &[(0, &params), (1, &part), (2, &out)]),
        pipeline: p2,
        x: 1,
        y: x.systems as u32,
    };
    let mut enc = ctx.encoder();
    record(&mut enc, &[&l1, &l2]);
    let bytes = x.systems as u64 * x.prec.bytes();
    let staging = ctx.staging(bytes);
    let raw = ctx.read_back(enc, &out, &staging, bytes)?;
    let mut v = vec![0.0; x.systems];
    from_bytes(&raw, x.prec, &mut v);
    Ok(v)
}

/// Per-system Euclidean norms.
pub fn norm2(x: &GpuVector) -> Result<Vec<f64>> {
    Ok(dot(x, x)?.into_iter().map(f64::sqrt).collect())
}

/// `y_s = α_s x_s + β_s y_s` with one (α, β) per system.
pub fn axpby(alpha_beta: &[(f64, f64)], x: &GpuVector, y: &GpuVector) -> Result<()> {
    same_shape(x, y)?;
    distinct(x, y)?;
    if alpha_beta.len() != x.systems {
        return Err(GpuError::Shape(format!(
            "{} coefficient pairs for {} systems",
            alpha_beta.len(),
            x.systems
        )));
    }
    let ctx = &x.ctx;
    let flat: Vec<f64> = alpha_beta.iter().flat_map(|&(a, b)| [a, b]).collect();
    let coef = ctx.upload("axpby coefficients", &flat, x.prec)?;
    let p = ctx.pipeline(Module::Axpy, "main", x.prec)?;
    let params = ctx.params([x.n as u32, 0, 0, 0, 0, 0, 0, 0]);
    let l = Launch {
        group: ctx.bind(&p, &[(0, &params), (1, &coef), (2, &x.buf), (3, &y.buf)]),
        pipeline: p,
        x: ctx.groups_for(x.n),
        y: x.systems as u32,
    };
    let mut enc = ctx.encoder();
    record(&mut enc, &[&l]);
    ctx.queue.submit([enc.finish()]);
    Ok(())
}

/// Seconds per streaming pass `y = αx + βy` over two vectors of `len` elements of `prec`
/// (3·len elements moved), over `reps` launches in one submission after a warm-up: the
/// bandwidth a compute kernel reaches on this device, the practical ceiling of SpMV.
pub fn time_stream(ctx: &Arc<GpuContext>, len: usize, prec: Precision, reps: usize) -> Result<f64> {
    let x = GpuVector::zeros(ctx, len, 1, prec)?;
    let y = GpuVector::zeros(ctx, len, 1, prec)?;
    let coef = ctx.upload("axpby coefficients", &[1.0, 1.0], prec)?;
    let p = ctx.pipeline(Module::Axpy, "main", prec)?;
    let params = ctx.params([len as u32, 0, 0, 0, 0, 0, 0, 0]);
    let l = Launch {
        group: ctx.bind(&p, &[(0, &params), (1, &coef), (2, &x.buf), (3, &y.buf)]),
        pipeline: p,
        x: ctx.groups_for(len),
        y: 1,
    };
    time_launch(ctx, &l, reps)
}
