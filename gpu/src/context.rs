//! Adapter selection and the device context every GPU object hangs off.
//!
//! The adapter is chosen among those wgpu lists for the backends in `WGPU_BACKEND`
//! (default: Vulkan, Metal, DX12), keeping only names containing `WGPU_ADAPTER_NAME`
//! (case-insensitive) when it is set, and preferring discrete over integrated over
//! virtual GPUs. Software adapters (Mesa's lavapipe, type `Cpu`) are taken only when
//! the request allows them: tests and `--device gpu` do, `--device auto` does not,
//! since a CPU pretending to be a GPU is slower than the CPU solvers.

use crate::error::{GpuError, Result};
use crate::kernels::KernelCache;
use std::sync::Arc;
use wgpu::util::DeviceExt;

/// Element type of device vectors and matrix values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 32-bit floats: every adapter; pair with f64 refinement on the CPU for tight tolerances.
    F32,
    /// 64-bit floats: adapters with `SHADER_F64` (datacenter GPUs run it at half rate).
    F64,
}

impl Precision {
    /// Bytes per element.
    pub fn bytes(self) -> u64 {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }
    /// Unit roundoff.
    pub fn eps(self) -> f64 {
        match self {
            Self::F32 => f32::EPSILON as f64 / 2.0,
            Self::F64 => f64::EPSILON / 2.0,
        }
    }
    /// `"f32"` or `"f64"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }
}

/// What adapter to look for.
#[derive(Clone, Debug, Default)]
pub struct GpuRequest {
    /// Accept software adapters (lavapipe). Needed in CI.
    pub allow_software: bool,
}

/// An open device with its queue, limits and compiled kernels.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    f64: bool,
    binding_limit_override: Option<u64>,
    pub(crate) kernels: KernelCache,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

fn describe_adapter(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

impl GpuContext {
    /// Picks an adapter (see the module docs) and opens a device with the adapter's
    /// full limits and, where offered, `SHADER_F64`.
    pub fn new(req: &GpuRequest) -> Result<Arc<Self>> {
        let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = pollster::block_on(instance.enumerate_adapters(backends));
        let found = if adapters.is_empty() {
            "none (is a Vulkan driver installed? e.g. apt-get install mesa-vulkan-drivers libvulkan1)"
                .to_string()
        } else {
            adapters
                .iter()
                .map(|a| describe_adapter(&a.get_info()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let name_filter = std::env::var("WGPU_ADAPTER_NAME").ok().map(|s| s.to_lowercase());
        let mut candidates: Vec<wgpu::Adapter> = adapters
            .into_iter()
            .filter(|a| {
                let info = a.get_info();
                name_filter
                    .as_ref()
                    .is_none_or(|f| info.name.to_lowercase().contains(f))
                    && (req.allow_software || info.device_type != wgpu::DeviceType::Cpu)
            })
            .collect();
        candidates.sort_by_key(|a| rank(a.get_info().device_type));
        let Some(adapter) = candidates.into_iter().next() else {
            let mut why = format!("backends {backends:?}");
            if let Some(f) = &name_filter {
                why.push_str(&format!(", WGPU_ADAPTER_NAME contains \"{f}\""));
            }
            if !req.allow_software {
                why.push_str(", software (CPU) adapters excluded");
            }
            return Err(GpuError::NoAdapter { why, found });
        };
        let info = adapter.get_info();
        let f64 = adapter.features().contains(wgpu::Features::SHADER_F64);
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("solvent"),
            required_features: if f64 {
                wgpu::Features::SHADER_F64
            } else {
                wgpu::Features::empty()
            },
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|source| GpuError::Device {
            adapter: describe_adapter(&info),
            source,
        })?;
        Ok(Arc::new(Self {
            device,
            queue,
            info,
            limits,
            f64,
            binding_limit_override: None,
            kernels: KernelCache::default(),
        }))
    }

    /// Same device, with the storage-binding limit lowered to `bytes` (tests of the
    /// too-large path without allocating gigabytes).
    pub fn with_binding_limit(ctx: &Arc<Self>, bytes: u64) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            device: ctx.device.clone(),
            queue: ctx.queue.clone(),
            info: ctx.info.clone(),
            limits: ctx.limits.clone(),
            f64: ctx.f64,
            binding_limit_override: Some(bytes),
            kernels: KernelCache::default(),
        }))
    }

    /// `name (backend, type)` of the adapter in use.
    pub fn describe(&self) -> String {
        describe_adapter(&self.info)
    }

    /// Adapter name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Whether this is a software adapter (lavapipe and the like).
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Whether f64 kernels are available.
    pub fn has_f64(&self) -> bool {
        self.f64
    }

    /// The precision used when the caller does not choose: f64 where the adapter has it
    /// (unless `SOLVENT_GPU_PRECISION=f32`), else f32.
    pub fn default_precision(&self) -> Precision {
        match std::env::var("SOLVENT_GPU_PRECISION").as_deref() {
            Ok("f32") => Precision::F32,
            _ if self.f64 => Precision::F64,
            _ => Precision::F32,
        }
    }

    /// Checks that `prec` is usable here.
    pub fn check_precision(&self, prec: Precision) -> Result<()> {
        if prec == Precision::F64 && !self.f64 {
            return Err(GpuError::NoF64(self.describe()));
        }
        Ok(())
    }

    /// Largest storage binding in bytes.
    pub fn max_binding(&self) -> u64 {
        let l = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        self.binding_limit_override.map_or(l, |o| o.min(l))
    }

    /// Most workgroups along one dispatch dimension (bounds batch sizes).
    pub fn max_groups(&self) -> u32 {
        self.limits.max_compute_workgroups_per_dimension
    }

    /// Fails with a clear error when a buffer of `bytes` does not fit one binding.
    pub fn check_fits(&self, what: &str, bytes: u64, hint: &str) -> Result<()> {
        let limit = self.max_binding();
        if bytes > limit {
            return Err(GpuError::TooLarge {
                what: what.to_string(),
                bytes,
                limit_name: "max storage buffer binding size",
                limit,
                hint: if hint.is_empty() {
                    String::new()
                } else {
                    format!("; {hint}")
                },
            });
        }
        Ok(())
    }

    /// A zeroed storage buffer of `len` elements of `prec` (checked against the limits).
    pub(crate) fn storage(&self, what: &str, len: usize, prec: Precision) -> Result<wgpu::Buffer> {
        let bytes = (len.max(1) as u64) * prec.bytes();
        self.check_fits(what, bytes, "")?;
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(what),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }))
    }

    /// A storage buffer holding `data` converted to `prec`.
    pub(crate) fn upload(&self, what: &str, data: &[f64], prec: Precision) -> Result<wgpu::Buffer> {
        let bytes = to_bytes(data, prec);
        self.upload_bytes(what, &bytes)
    }

    /// A storage buffer holding `data`.
    pub(crate) fn upload_u32(&self, what: &str, data: &[u32]) -> Result<wgpu::Buffer> {
        self.upload_bytes(what, bytemuck::cast_slice(data))
    }

    fn upload_bytes(&self, what: &str, bytes: &[u8]) -> Result<wgpu::Buffer> {
        self.check_fits(what, bytes.len() as u64, "")?;
        let mut padded;
        let contents = if bytes.is_empty() {
            padded = vec![0u8; 4];
            &padded[..]
        } else if !bytes.len().is_multiple_of(4) {
            padded = bytes.to_vec();
            padded.resize(bytes.len().div_ceil(4) * 4, 0);
            &padded[..]
        } else {
            bytes
        };
        Ok(self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(what),
            contents,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        }))
    }

    /// Overwrites the start of `buf` with `data` converted to `prec`.
    pub(crate) fn write(&self, buf: &wgpu::Buffer, data: &[f64], prec: Precision) {
        self.queue.write_buffer(buf, 0, &to_bytes(data, prec));
    }

    /// A uniform block of kernel parameters.
    pub(crate) fn params(&self, p: [u32; 8]) -> wgpu::Buffer {
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::cast_slice(&p),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
    }

    /// Rewrites a parameter block (applied before the next submission).
    pub(crate) fn set_params(&self, buf: &wgpu::Buffer, p: [u32; 8]) {
        self.queue.write_buffer(buf, 0, bytemuck::cast_slice(&p));
    }
}

/// Converts to the device element type.
pub(crate) fn to_bytes(data: &[f64], prec: Precision) -> Vec<u8> {
    match prec {
        Precision::F32 => {
            let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
            bytemuck::cast_slice(&v).to_vec()
        }
        Precision::F64 => bytemuck::cast_slice(data).to_vec(),
    }
}

/// Converts from the device element type.
pub(crate) fn from_bytes(bytes: &[u8], prec: Precision, out: &mut [f64]) {
    match prec {
        Precision::F32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64;
            }
        }
        Precision::F64 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                *o = f64::from_le_bytes(c.try_into().expect("8 bytes"));
            }
        }
    }
}
