//! Progress of a sequence solve, for front ends that show it (a progress bar, a log
//! line per system, a Python callback).

use super::SystemRecord;

/// What a front end hears while sequences are solved. Every method has an empty
/// default; [`NoProgress`] hears nothing.
pub trait SequenceProgress: Send {
    /// A sequence of `count` systems starts; `label` names it (`"auto"`, `"baseline"`).
    fn start(&mut self, _label: &str, _count: usize) {}
    /// A system is done (in solve order; from several chains, interleaved).
    fn system(&mut self, _record: &SystemRecord) {}
    /// The sequence is over (solved or failed).
    fn finish(&mut self) {}
}

/// Progress that nobody watches.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl SequenceProgress for NoProgress {}
