//! Typed errors of the GPU crate.

use thiserror::Error;

/// Why a GPU operation could not run.
#[derive(Debug, Error)]
pub enum GpuError {
    /// No adapter matched the request; `found` lists what the system offered.
    #[error("no usable GPU adapter: {why}; adapters found: {found}")]
    NoAdapter {
        /// Why none was taken (filters in force).
        why: String,
        /// Every adapter wgpu listed, with backend and type, or "none".
        found: String,
    },
    /// The adapter refused a device.
    #[error("GPU adapter {adapter}: could not open a device: {source}")]
    Device {
        /// Adapter name.
        adapter: String,
        /// wgpu's error.
        source: wgpu::RequestDeviceError,
    },
    /// f64 kernels were asked for on an adapter without `SHADER_F64`.
    #[error("GPU adapter {0} has no f64 shader support (SHADER_F64); use f32 with refinement")]
    NoF64(String),
    /// A buffer would exceed the adapter's limits.
    #[error("{what} needs {bytes} bytes on the GPU, over the adapter's {limit_name} of {limit} bytes{hint}")]
    TooLarge {
        /// What the buffer holds.
        what: String,
        /// Bytes needed.
        bytes: u64,
        /// Which limit.
        limit_name: &'static str,
        /// The limit.
        limit: u64,
        /// What to do about it.
        hint: String,
    },
    /// NaN or infinity in the input.
    #[error("{what} has a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// Which input.
        what: String,
        /// Flat index of the first bad entry.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Inputs of inconsistent shape.
    #[error("{0}")]
    Shape(String),
    /// A solver setting out of range.
    #[error("{0}")]
    Setting(String),
    /// Mapping a read-back buffer failed, or the device was lost.
    #[error("GPU read-back failed: {0}")]
    Readback(String),
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, GpuError>;
