//! `mpirun -n R solvent solve-seq DIR`: every rank plans from the first system (the
//! same plan everywhere), rank 0 computes the solve order (reading every system's
//! ordering features: `params_*.npy`, or the right-hand sides) and broadcasts it, and
//! rank r reads and solves only the systems of piece r of the sorted order (chain r of
//! the one-process run with `--jobs R`), handing each solution to the caller's
//! `on_done` (the CLI writes it into a staging directory every rank sees). The records
//! go to rank 0, which makes the one report.

use super::{RankErrors, RankStats, Ranks, RanksReport};
use solvent_solvers::sequence::{
    plan_sequence, sequence_order, solve_sequence_piece_ordered, OnDone, SequenceConfig, SequenceProgress,
    SequenceReport, SystemRecord, SystemSource,
};
use solvent_solvers::Options;
use std::time::Instant;

/// A sequence solved by the ranks of a job (on rank 0).
pub struct DistributedSequence {
    /// The report covering every rank's systems.
    pub report: SequenceReport,
    /// Per-rank statistics.
    pub ranks: RanksReport,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PieceRecords {
    records: Vec<SystemRecord>,
    solve_wall_s: f64,
    stats: RankStats,
}

/// Solves `source` on the ranks of the job under `config` (its `chains` is replaced by
/// the number of ranks). `Some` on rank 0, `None` on the others; an error on any rank
/// (an unreadable system, a size mismatch) is an error on every rank, each rank's
/// message kept.
pub fn solve(
    ranks: &Ranks,
    source: &dyn SystemSource,
    config: &SequenceConfig,
    options: &Options,
    progress: &mut dyn SequenceProgress,
    on_done: &mut OnDone<'_>,
) -> Result<Option<DistributedSequence>, RankErrors> {
    let wall = Instant::now();
    let (rank, size) = (ranks.rank(), ranks.size());
    ranks.checked_on_root(|| {
        if size > source.len() {
            Err(format!(
                "{size} ranks for {} systems: use at most one rank per system",
                source.len()
            ))
        } else {
            Ok(())
        }
    })?;
    let config = SequenceConfig {
        chains: size,
        device: solvent_solvers::policy::Device::Cpu,
        ..*config
    };
    let plan = ranks.agree(plan_sequence(source, &config))?;
    let (order, ordering_s) = ranks.order_from_root(|| sequence_order(source, &plan))?;
    progress.start(config.strategy.as_str(), source.len().div_ceil(size));
    let piece = solve_sequence_piece_ordered(source, &plan, options, order, rank, size, &mut |rec, x| {
        progress.system(rec);
        on_done(rec, x)
    });
    progress.finish();
    let mut report = ranks.agree(piece)?;
    let stats = RankStats {
        rank,
        host: ranks.host(),
        work: report.systems.len(),
        iterations: report.total_iterations,
        wall_s: wall.elapsed().as_secs_f64(),
        solve_s: report.solve_s,
    };
    if rank != 0 {
        ranks.send_json(
            0,
            &PieceRecords {
                records: report.systems,
                solve_wall_s: report.solve_wall_s,
                stats,
            },
        );
        ranks.agree(Ok::<(), String>(()))?;
        return Ok(None);
    }
    let mut all = vec![stats];
    let mut error = None;
    for r in 1..size {
        let got = ranks.receive_json::<PieceRecords>(r).and_then(|p| {
            report
                .absorb(p.records, p.stats.wall_s, p.solve_wall_s)
                .map_err(|e| format!("the records of rank {r}: {e}"))?;
            all.push(p.stats);
            Ok(())
        });
        if let Err(e) = got {
            error.get_or_insert(e);
        }
    }
    ranks.agree(error.map_or(Ok(()), Err))?;
    report.ordering_s = ordering_s;
    report.wall_s = wall.elapsed().as_secs_f64();
    Ok(Some(DistributedSequence {
        report,
        ranks: RanksReport::new(all),
    }))
}
