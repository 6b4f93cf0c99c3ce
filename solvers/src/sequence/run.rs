//! The two calls a sequence front end makes: plan from the first system, then solve
//! with progress.

use super::{
    resolve_plan, solve_sequence, OnDone, SequenceConfig, SequencePlan, SequenceProgress, SequenceReport,
    Strategy, SystemSource,
};
use crate::policy::analyse;
use crate::{Options, Result, SolverError};

/// Plans the sequence of `source` under `config`: analyses its first system (with the
/// predicted Cholesky fill, which only `auto` decides by and which costs a symbolic
/// factorisation) and resolves the strategy, the device included ([`resolve_plan`]).
pub fn plan_sequence(source: &dyn SystemSource, config: &SequenceConfig) -> Result<SequencePlan> {
    if source.is_empty() {
        return Err(SolverError::Sequence {
            system: "sequence".into(),
            message: "no systems to solve".into(),
        });
    }
    let (a0, _) = source.system(0)?;
    let analysis = match config.strategy {
        Strategy::Auto => analyse(&a0).with_fill(&a0),
        _ => analyse(&a0),
    };
    drop(a0);
    resolve_plan(
        config,
        source.len(),
        &analysis,
        source.matrix_is_constant() == Some(true),
    )
}

/// [`solve_sequence`] with `progress` told of the start (under `label`), of every
/// system and of the end.
pub fn solve_with_progress(
    source: &dyn SystemSource,
    plan: &SequencePlan,
    options: &Options,
    label: &str,
    progress: &mut dyn SequenceProgress,
    on_done: &mut OnDone<'_>,
) -> Result<SequenceReport> {
    progress.start(label, source.len());
    let result = solve_sequence(source, plan, options, &mut |rec, x| {
        progress.system(rec);
        on_done(rec, x)
    });
    progress.finish();
    result
}
