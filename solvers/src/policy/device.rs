//! Where the work runs: the CPU, or a GPU through `solvent-gpu` (feature `gpu`).

use crate::krylov::Method;
use crate::{Result, SolverError};
use solvent_linalg::precond::PrecondKind;

/// Where to solve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// The CPU solvers.
    Cpu,
    /// A GPU through wgpu, software adapters (lavapipe) included; an error when none
    /// can be opened or the job cannot run there.
    Gpu,
    /// A hardware GPU when there is one and the job is large enough
    /// ([`AUTO_MIN_UNKNOWNS`]) and runs there; the CPU otherwise.
    Auto,
}

solvent_linalg::named_enum!(Device, "device" {
    Cpu => "cpu",
    Gpu => "gpu",
    Auto => "auto",
});

/// Total unknowns (over all systems of a job) from which [`Device::Auto`] prefers a
/// hardware GPU: below it, uploads and launches cost more than the device gains.
pub const AUTO_MIN_UNKNOWNS: usize = 1_000_000;

/// The outcome of [`choose_device`].
#[derive(Clone, Debug)]
pub enum DeviceChoice {
    /// Solve on the CPU; `note` says why when a GPU was considered and not taken.
    Cpu {
        /// Why not the GPU (for plan reasons), when `auto` looked for one.
        note: Option<String>,
    },
    /// Solve on this GPU.
    #[cfg(feature = "gpu")]
    Gpu(std::sync::Arc<solvent_gpu::GpuContext>),
}

/// Whether a job with this method and preconditioner can run on the GPU: the device
/// has CG, GMRES and GCRO-DR with Jacobi (or no) preconditioning; `auto` picks among
/// them ([`gpu_method_for`]). `Err` says why not.
pub fn gpu_capable(method: Method, precond: Option<PrecondKind>) -> std::result::Result<(), String> {
    match method {
        Method::Auto | Method::Cg | Method::Gmres | Method::Gcrodr => {}
        other => {
            return Err(format!(
                "method {} does not run on the GPU (cg, gmres, gcrodr or auto do)",
                other.as_str()
            ))
        }
    }
    match precond {
        None | Some(PrecondKind::Jacobi) | Some(PrecondKind::None) => Ok(()),
        Some(k) => Err(format!(
            "preconditioner {} does not run on the GPU (jacobi, none or auto do)",
            k.as_str()
        )),
    }
}

/// Decides where a job of `work` unknowns in all runs. `capable` is `Err(why)` when the
/// job cannot run on a GPU: then [`Device::Gpu`] is an error naming why, and
/// [`Device::Auto`] stays on the CPU. [`Device::Gpu`] opens any adapter (software ones
/// included) or fails with the list found; [`Device::Auto`] opens only a hardware GPU,
/// and only from [`AUTO_MIN_UNKNOWNS`] unknowns, and otherwise notes why it stayed on
/// the CPU.
pub fn choose_device(
    device: Device,
    work: usize,
    capable: std::result::Result<(), String>,
) -> Result<DeviceChoice> {
    match device {
        Device::Cpu => Ok(DeviceChoice::Cpu { note: None }),
        Device::Gpu => {
            capable.map_err(|why| SolverError::setting("device", "gpu", why))?;
            open(true)
        }
        Device::Auto => {
            if work < AUTO_MIN_UNKNOWNS || capable.is_err() {
                return Ok(DeviceChoice::Cpu { note: None });
            }
            match open(false) {
                Ok(choice) => Ok(choice),
                Err(e) => Ok(DeviceChoice::Cpu {
                    note: Some(format!("device auto: {e}; solved on the CPU")),
                }),
            }
        }
    }
}

#[cfg(feature = "gpu")]
fn open(allow_software: bool) -> Result<DeviceChoice> {
    let ctx = solvent_gpu::GpuContext::new(&solvent_gpu::GpuRequest { allow_software })?;
    Ok(DeviceChoice::Gpu(ctx))
}

#[cfg(not(feature = "gpu"))]
fn open(_allow_software: bool) -> Result<DeviceChoice> {
    Err(SolverError::setting(
        "device",
        "gpu",
        "this build has no GPU support (build with the `gpu` feature)",
    ))
}

/// The device method for a matrix when the user left it to `auto`: CG when SPD-like
/// ([`super::MatrixAnalysis::spd_like`]), GMRES otherwise. A system on which device CG
/// breaks down (indefinite) is solved again with [`GPU_BREAKDOWN_RETRY`].
#[cfg(feature = "gpu")]
pub fn gpu_method_for(requested: Method, an: &super::MatrixAnalysis) -> solvent_gpu::GpuMethod {
    use solvent_gpu::GpuMethod;
    match requested {
        Method::Cg => GpuMethod::Cg,
        Method::Gmres => GpuMethod::Gmres,
        Method::Gcrodr => GpuMethod::Gcrodr,
        _ if an.spd_like() => GpuMethod::Cg,
        _ => GpuMethod::Gmres,
    }
}

/// What the device runs again when CG breaks down on a system under `auto`: it has no
/// MINRES (the CPU's [`super::BREAKDOWN_RETRY`]), so GMRES(m) + Jacobi.
#[cfg(feature = "gpu")]
pub const GPU_BREAKDOWN_RETRY: solvent_gpu::GpuMethod = solvent_gpu::GpuMethod::Gmres;
