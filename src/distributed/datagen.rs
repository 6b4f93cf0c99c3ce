//! `mpirun -n R solvent datagen`: rank 0 samples every parameter field (cheap: a
//! function of the seed and the sample number) and computes the global solve order, and
//! broadcasts it; rank r solves piece r of the sorted order — one chain, with its own
//! recycled space, warm start and factor, exactly chain r of the one-process run with
//! `--jobs R` — and sends its piece (fields, solutions, records) to rank 0 when it is
//! done; rank 0 receives the pieces in rank (= solve) order into the whole data set and
//! the caller writes it. The data set is the `--jobs R` data set, bit for bit.
//!
//! Memory: rank r > 0 holds its piece (about K/R samples); rank 0 holds its piece and
//! the whole data set (coefficients and solutions in f64, 16 bytes per unknown and
//! sample), which it needs to write the file in sample order.

use super::{RankErrors, RankStats, Ranks, RanksReport};
use solvent_solvers::datagen::{datagen_order, generate_piece, Datagen, DatagenConfig, Dataset};
use solvent_solvers::sequence::{SequenceProgress, SystemRecord};
use solvent_solvers::SolverError;
use std::time::Instant;

/// A data set made by the ranks of a job (on rank 0).
pub struct DistributedDatagen {
    /// The whole data set and the report covering every rank's systems (on rank 0).
    pub datagen: Datagen,
    /// Per-rank statistics.
    pub ranks: RanksReport,
    /// Seconds rank 0 spent computing the global order.
    pub ordering_s: f64,
}

/// What a rank sends with its piece, besides the arrays.
#[derive(serde::Serialize, serde::Deserialize)]
struct PieceHeader {
    records: Vec<SystemRecord>,
    solve_wall_s: f64,
    count: usize,
    index: Vec<i64>,
    iters: Vec<i64>,
    /// The name of the family's scalar (its values follow as an array: JSON would not
    /// keep every bit).
    scalar: Option<String>,
    stats: RankStats,
}

/// Generates the data set `config` describes on the ranks of the job (`config.shard`
/// and `config.baseline` must be unset: the ranks are the pieces). `Some` on rank 0,
/// `None` on the others; an error on any rank is an error on every rank.
pub fn generate(
    ranks: &Ranks,
    config: &DatagenConfig,
    progress: &mut dyn SequenceProgress,
) -> Result<Option<DistributedDatagen>, RankErrors> {
    let wall = Instant::now();
    let (rank, size) = (ranks.rank(), ranks.size());
    ranks.checked_on_root(|| check(config, size))?;
    // rank 0 orders; everyone gets the order
    let (order, ordering_s) = ranks.order_from_root(|| datagen_order(config))?;
    // every rank: its piece
    let piece_config = DatagenConfig {
        shard: Some((rank, size)),
        ..*config
    };
    let piece = ranks.agree(generate_piece(&piece_config, order, progress))?;
    let stats = RankStats {
        rank,
        host: ranks.host(),
        work: piece.dataset.count,
        iterations: piece.report.total_iterations,
        wall_s: wall.elapsed().as_secs_f64(),
        solve_s: piece.report.solve_s,
    };
    if rank != 0 {
        send_piece(ranks, &piece, stats);
        ranks.agree(Ok::<(), String>(()))?;
        return Ok(None);
    }
    // rank 0: its own piece, then the others' in rank order
    let gathered = gather(ranks, config, piece, stats);
    let (mut datagen, all_stats) = ranks.agree(gathered)?;
    datagen.wall_s = wall.elapsed().as_secs_f64();
    datagen.report.ordering_s = ordering_s;
    Ok(Some(DistributedDatagen {
        datagen,
        ranks: RanksReport::new(all_stats),
        ordering_s,
    }))
}

/// The settings a distributed run refuses.
fn check(config: &DatagenConfig, size: usize) -> Result<(), SolverError> {
    if config.shard.is_some() {
        return Err(SolverError::setting(
            "shard",
            "set",
            "the ranks are the pieces: give the whole data set",
        ));
    }
    if config.baseline {
        return Err(SolverError::setting(
            "baseline",
            true,
            "the baseline is not distributed: run `datagen --baseline` in one process",
        ));
    }
    if size > config.count {
        return Err(SolverError::setting(
            "ranks",
            size,
            format!("more ranks than samples ({})", config.count),
        ));
    }
    config.validate()
}

fn send_piece(ranks: &Ranks, piece: &Datagen, stats: RankStats) {
    let d = &piece.dataset;
    ranks.send_json(
        0,
        &PieceHeader {
            records: piece.report.systems.clone(),
            solve_wall_s: piece.report.solve_wall_s,
            count: d.count,
            index: d.index.clone().unwrap_or_default(),
            iters: d.iters.clone(),
            scalar: d.scalar.as_ref().map(|s| s.0.clone()),
            stats,
        },
    );
    ranks.send(0, &d.coeff);
    ranks.send(0, &d.sol);
    ranks.send(0, &d.relres);
    ranks.send(0, &d.solve_s);
    ranks.send(0, d.scalar.as_ref().map_or(&[][..], |s| &s.1[..]));
}

fn gather(
    ranks: &Ranks,
    config: &DatagenConfig,
    own: Datagen,
    own_stats: RankStats,
) -> Result<(Datagen, Vec<RankStats>), String> {
    let mut data = Dataset::with_dim(config.count, config.grid, config.family.dim());
    // receive everything even after a bad piece (rank 0's own included), so no sender is
    // left blocked in its send
    let mut error = data
        .place(&own.dataset)
        .err()
        .map(|e| format!("the piece of rank 0: {e}"));
    let Datagen {
        dataset: own_data,
        mut report,
        ..
    } = own;
    let mut stats = vec![own_stats];
    for r in 1..ranks.size() {
        let header = ranks.receive_json::<PieceHeader>(r);
        let (coeff, sol, relres, solve_s, scalar) = (
            ranks.receive::<f64>(r),
            ranks.receive::<f64>(r),
            ranks.receive::<f64>(r),
            ranks.receive::<f64>(r),
            ranks.receive::<f64>(r),
        );
        let placed = header.and_then(|h| {
            let piece = Dataset {
                count: h.count,
                grid: config.grid,
                dim: config.family.dim(),
                coeff,
                sol,
                iters: h.iters,
                relres,
                solve_s,
                scalar: h.scalar.map(|name| (name, scalar)),
                metadata: serde_json::Value::Null,
                index: Some(h.index),
            };
            data.place(&piece)
                .map_err(|e| format!("the piece of rank {r}: {e}"))?;
            report
                .absorb(h.records, h.stats.wall_s, h.solve_wall_s)
                .map_err(|e| format!("the records of rank {r}: {e}"))?;
            stats.push(h.stats);
            Ok(())
        });
        if let Err(e) = placed {
            error.get_or_insert(e);
        }
    }
    if let Some(e) = error {
        return Err(e);
    }
    let mut metadata = own_data.metadata;
    if let Some(m) = metadata.as_object_mut() {
        m.remove("shard");
        m.insert("ranks".into(), ranks.size().into());
        m.insert(
            "plan".into(),
            serde_json::to_value(&report.plan).unwrap_or_default(),
        );
    }
    data.metadata = metadata;
    Ok((
        Datagen {
            dataset: data,
            report,
            baseline: None,
            wall_s: 0.0,
        },
        stats,
    ))
}
