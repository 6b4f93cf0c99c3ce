//! `mpirun -n R solvent complete`: rank 0 reads the ratings (ids, split, centring, as in
//! one process), cuts the rows and the columns of Ω into R blocks of about equal entry
//! counts ([`Partition::balanced`]) and sends each rank its row block, its column block
//! and the test entries of its rows; then every rank runs
//! [`DistributedCompletion`]: each half-step solves the rank's rows and all-gathers the
//! updated factor rows. Every rank ends with the whole U and V; rank 0 writes them.
//!
//! Memory: rank 0 holds the whole problem while it hands out the blocks (then its own
//! blocks); every rank holds its blocks of Ω and the whole factors, (m + n)·k·8 bytes.

use super::{RankErrors, RankStats, Ranks, RanksReport};
use solvent_solvers::completion::distributed::{DistributedCompletion, LocalProblem, Partition, Share};
use solvent_solvers::completion::{CompletionConfig, CompletionProblem, Factors};
use solvent_solvers::{Observer, Options, Report, Status, TraceSchedule};
use std::time::{Duration, Instant};

/// A completion fitted by the ranks of a job (on rank 0).
pub struct DistributedFit {
    /// The whole factors.
    pub factors: Factors,
    /// The run report (the same trace on every rank; rank 0's).
    pub report: Report,
    /// Per-rank statistics (`work`: rows plus columns owned; `iterations`: training
    /// entries held).
    pub ranks: RanksReport,
    /// The blocks.
    pub partition: Partition,
    /// Per rank: payload bytes received in the last sweep's factor all-gathers, measured.
    pub sweep_bytes: Vec<u64>,
    /// Per rank: the model of that volume, k · (rows and columns not owned) · 8 bytes.
    pub model_bytes: Vec<u64>,
}

/// Sizes every rank needs before its share.
#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    m: usize,
    n: usize,
    observed: usize,
    test_total: usize,
    partition: Partition,
}

/// When to stop (the run loop's rules; the time limit is decided by rank 0 for all).
#[derive(Clone, Copy, Debug)]
pub struct Stopping {
    /// Stop when a sweep lowers the training RMSE by less than this fraction.
    pub tol: f64,
    /// Most sweeps.
    pub sweeps: usize,
    /// Seconds of sweeps at most.
    pub time_limit: Option<f64>,
}

fn send_entries(ranks: &Ranks, to: usize, entries: &[(u32, u32, f64)]) {
    ranks.send(to, &entries.iter().map(|e| e.0).collect::<Vec<u32>>());
    ranks.send(to, &entries.iter().map(|e| e.1).collect::<Vec<u32>>());
    ranks.send(to, &entries.iter().map(|e| e.2).collect::<Vec<f64>>());
}

fn receive_entries(ranks: &Ranks) -> Vec<(u32, u32, f64)> {
    let i: Vec<u32> = ranks.receive(0);
    let j: Vec<u32> = ranks.receive(0);
    let v: Vec<f64> = ranks.receive(0);
    i.into_iter().zip(j).zip(v).map(|((i, j), v)| (i, j, v)).collect()
}

/// Fits `config` on the ranks of the job; `problem` is the whole problem on rank 0
/// (ignored elsewhere), `observers` see rank 0's trace. `Some` on rank 0.
pub fn fit(
    ranks: &Ranks,
    problem: Option<&CompletionProblem>,
    config: CompletionConfig,
    stopping: Stopping,
    observers: &mut [&mut dyn Observer],
) -> Result<Option<DistributedFit>, RankErrors> {
    let wall = Instant::now();
    let (rank, size) = (ranks.rank(), ranks.size());
    let header = match (rank, problem) {
        (0, Some(p)) => Ok(Header {
            m: p.omega.nrows(),
            n: p.omega.ncols(),
            observed: p.omega.len(),
            test_total: p.test.len(),
            partition: Partition::balanced(&p.omega, size),
        }),
        (0, None) => Err("rank 0 has no problem to distribute".to_string()),
        _ => Ok(Header {
            m: 0,
            n: 0,
            observed: 0,
            test_total: 0,
            partition: Partition {
                rows: Vec::new(),
                cols: Vec::new(),
            },
        }),
    };
    let header = ranks.agree(header)?;
    let header = ranks.broadcast_json(&header)?;
    // rank 0 hands out the shares one at a time
    let share = match (rank, problem) {
        (0, Some(p)) => {
            for r in 1..size {
                let s = LocalProblem::share(&p.omega, &p.test, &header.partition, r);
                send_entries(ranks, r, &s.row_entries);
                send_entries(ranks, r, &s.col_entries);
                send_entries(ranks, r, &s.test);
            }
            LocalProblem::share(&p.omega, &p.test, &header.partition, 0)
        }
        _ => Share {
            row_entries: receive_entries(ranks),
            col_entries: receive_entries(ranks),
            test: receive_entries(ranks),
        },
    };
    let local = ranks.agree(LocalProblem::from_share(
        (header.m, header.n),
        (header.observed, header.test_total),
        header.partition.clone(),
        rank,
        share,
    ))?;
    let mut solver =
        DistributedCompletion::new(config, ranks, stopping.time_limit.map(Duration::from_secs_f64));
    let options = Options::default()
        .tol(stopping.tol)
        .max_iters(stopping.sweeps)
        .trace(TraceSchedule::Every(1))
        .interrupt(solver.stop_flag());
    let mut none: [&mut dyn Observer; 0] = [];
    let observers = if rank == 0 { observers } else { &mut none[..] };
    let out = ranks.agree(solvent_solvers::run_observed(
        &local,
        &mut solver,
        &options,
        observers,
    ))?;
    let mut report = out.report;
    if matches!(report.status, Status::Interrupted)
        && solver.stop_flag().load(std::sync::atomic::Ordering::Relaxed)
    {
        report.status = Status::TimeLimit {
            limit_s: stopping.time_limit.unwrap_or(0.0),
        };
    }
    let k = config.rank;
    let model: Vec<u64> = (0..size)
        .map(|r| {
            let own = header.partition.row_block(r).len() + header.partition.col_block(r).len();
            (k * (header.m + header.n - own) * 8) as u64
        })
        .collect();
    let sweep_bytes = ranks.all_gather_u64(out.state.sweep_bytes);
    let stats = RankStats {
        rank,
        host: ranks.host(),
        work: header.partition.row_block(rank).len() + header.partition.col_block(rank).len(),
        iterations: local.local_entries(),
        wall_s: wall.elapsed().as_secs_f64(),
        solve_s: report.elapsed_s,
    };
    if rank != 0 {
        ranks.send_json(0, &stats);
        ranks.agree(Ok::<(), String>(()))?;
        return Ok(None);
    }
    let mut all = vec![stats];
    let mut error = None;
    for r in 1..size {
        match ranks.receive_json::<RankStats>(r) {
            Ok(s) => all.push(s),
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    ranks.agree(error.map_or(Ok(()), Err))?;
    Ok(Some(DistributedFit {
        factors: out.state.factors,
        report,
        ranks: RanksReport::new(all),
        partition: header.partition,
        sweep_bytes,
        model_bytes: model,
    }))
}
