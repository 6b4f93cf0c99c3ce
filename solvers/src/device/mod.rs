//! The GPU back end (feature `gpu`) of [`crate::krylov::solve_system`] and
//! [`crate::sequence::solve_sequence`]: the same plans, reports and records as on the
//! CPU, solved by `solvent-gpu`'s device Krylov methods with f64 refinement on the CPU.
//! The choices (device, method, the rescue of CG breakdowns) are
//! [`crate::policy`]'s.

mod job;
mod sequence;
mod single;

pub(crate) use sequence::solve_sequence;
pub(crate) use single::solve_system;
