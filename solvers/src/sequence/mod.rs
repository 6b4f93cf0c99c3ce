//! Solving sequences of related linear systems `A_i x_i = b_i` — the PDE
//! data-generation workload — as a sequence rather than one by one.
//!
//! A [`SystemSource`] yields the systems on demand (assembled from a sampler
//! or read from files) with a parameter vector per system for ordering. A
//! [`SequencePlan`] says how to order them and what to carry from one solve
//! to the next: a recycled Krylov subspace (GCRO-DR), the previous solution
//! as a warm start, the preconditioner, or a sparse factorisation whose
//! symbolic analysis (or, for an unchanged matrix, the whole factor) is
//! reused. [`Strategy`] names the three user-facing choices: the published
//! baseline, the published SKR method, and `auto`.
//!
//! [`NpzSequenceSource`] reads a whole sequence from one `.npz` archive of
//! CSR arrays sharing one pattern; [`write_systems_npz`] writes one.
//!
//! Results come back per system in the original order, whatever the solve
//! order was.

mod directory;
mod npz_export;
mod npz_source;
mod plan;
mod progress;
mod run;
mod solve;
mod source;

pub use directory::DirectorySource;
pub use npz_export::write_systems_npz;
pub use npz_source::{
    solve_npz, NpzOrdering, NpzSequenceError, NpzSequenceSource, SequenceSolutions, MAX_VALUE_FEATURES,
};
#[cfg(feature = "gpu")]
pub use plan::GpuBackend;
pub use plan::{
    resolve_plan, Backend, OrderKind, SeqMethod, SequenceConfig, SequencePlan, Strategy, AUTO_RECYCLE,
    DEFAULT_RECYCLE, DEFAULT_REFRESH_EVERY,
};
pub use progress::{NoProgress, SequenceProgress};
pub use run::{plan_sequence, solve_with_progress};
#[cfg(feature = "gpu")]
pub(crate) use solve::check_shape;
pub use solve::{
    sequence_order, solve_sequence, solve_sequence_piece, solve_sequence_piece_ordered, MatrixChange, OnDone,
    SequenceReport, SystemRecord,
};
pub use source::{InMemorySource, SamplerSource, SystemSource};
