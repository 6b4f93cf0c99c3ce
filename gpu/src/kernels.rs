//! WGSL kernels, compiled once per (module, entry point, precision) and cached, plus
//! the small helpers that record launches and read results back.

use crate::context::{GpuContext, Precision};
use crate::error::{GpuError, Result};
use std::collections::HashMap;
use std::sync::Mutex;

/// Workgroup size of every kernel (matches `WG` in the shaders).
pub(crate) const WG: u32 = 256;
/// Upper bound on workgroups of a grid-stride vector kernel (and so on partial sums per
/// reduction): enough to fill a large GPU, few enough that the second pass is cheap.
pub(crate) const MAX_PARTIALS: u32 = 2048;

const COMMON: &str = include_str!("shaders/common.wgsl");

/// A shader module of the crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Module {
    Spmv,
    Blas,
    Finish,
    Axpy,
    Cg,
    Gmres,
}

impl Module {
    fn source(self) -> &'static str {
        match self {
            Self::Spmv => include_str!("shaders/spmv.wgsl"),
            Self::Blas => include_str!("shaders/blas.wgsl"),
            Self::Finish => include_str!("shaders/finish.wgsl"),
            Self::Axpy => include_str!("shaders/axpy.wgsl"),
            Self::Cg => include_str!("shaders/cg.wgsl"),
            Self::Gmres => include_str!("shaders/gmres.wgsl"),
        }
    }
}

/// Compiled pipelines of one context.
#[derive(Default)]
pub(crate) struct KernelCache {
    pipelines: Mutex<HashMap<(Module, &'static str, Precision), wgpu::ComputePipeline>>,
}

impl GpuContext {
    /// The pipeline of `entry` in `module` for `prec`, compiled on first use.
    pub(crate) fn pipeline(
        &self,
        module: Module,
        entry: &'static str,
        prec: Precision,
    ) -> Result<wgpu::ComputePipeline> {
        self.check_precision(prec)?;
        let mut map = self.kernels.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = map.get(&(module, entry, prec)) {
            return Ok(p.clone());
        }
        let src = format!("alias T = {};\n{COMMON}\n{}", prec.as_str(), module.source());
        let shader = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(entry),
            source: wgpu::ShaderSource::Wgsl(src.into()),
        });
        let p = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &shader,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            });
        map.insert((module, entry, prec), p.clone());
        Ok(p)
    }

    /// A bind group for `pipeline` with `(binding, buffer)` entries (whole buffers).
    pub(crate) fn bind(
        &self,
        pipeline: &wgpu::ComputePipeline,
        entries: &[(u32, &wgpu::Buffer)],
    ) -> wgpu::BindGroup {
        let layout = pipeline.get_bind_group_layout(0);
        let entries: Vec<wgpu::BindGroupEntry> = entries
            .iter()
            .map(|&(binding, buf)| wgpu::BindGroupEntry {
                binding,
                resource: buf.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &entries,
        })
    }

    /// Workgroups in x for a grid-stride kernel over `n` elements.
    pub(crate) fn groups_for(&self, n: usize) -> u32 {
        (n.div_ceil(WG as usize) as u64).clamp(1, MAX_PARTIALS.min(self.max_groups()) as u64) as u32
    }

    /// Copies `bytes` from `src` into `staging` after `enc`'s work, submits, waits and
    /// returns the bytes: the one read-back of an iteration.
    pub(crate) fn read_back(
        &self,
        mut enc: wgpu::CommandEncoder,
        src: &wgpu::Buffer,
        staging: &wgpu::Buffer,
        bytes: u64,
    ) -> Result<Vec<u8>> {
        enc.copy_buffer_to_buffer(src, 0, staging, 0, bytes);
        self.queue.submit([enc.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, ..bytes, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        rx.recv()
            .map_err(|e| GpuError::Readback(e.to_string()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let out = {
            let view = staging
                .get_mapped_range(..bytes)
                .map_err(|e| GpuError::Readback(format!("{e:?}")))?;
            view.to_vec()
        };
        staging.unmap();
        Ok(out)
    }

    /// A buffer to read `bytes` back through.
    pub(crate) fn staging(&self, bytes: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: bytes.max(4).div_ceil(4) * 4,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// A fresh command encoder.
    pub(crate) fn encoder(&self) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
    }
}

/// One recorded launch: pipeline, bind group and workgroup counts.
pub(crate) struct Launch {
    pub pipeline: wgpu::ComputePipeline,
    pub group: wgpu::BindGroup,
    pub x: u32,
    pub y: u32,
}

/// Records `launches` into one compute pass of `enc` (wgpu orders the dispatches).
pub(crate) fn record(enc: &mut wgpu::CommandEncoder, launches: &[&Launch]) {
    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: None,
        timestamp_writes: None,
    });
    for l in launches {
        pass.set_pipeline(&l.pipeline);
        pass.set_bind_group(0, &l.group, &[]);
        pass.dispatch_workgroups(l.x, l.y, 1);
    }
}
