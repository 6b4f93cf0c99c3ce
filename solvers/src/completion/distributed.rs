//! Completion over several processes: the rows and the columns of Ω are cut into
//! contiguous blocks, one per rank ([`Partition`]); each half-step solves the rank's own
//! rows (columns) and all-gathers the updated factor rows, so every rank holds the whole
//! U and V between half-steps and the next half-step reads them locally. Every row is
//! solved by the same code from the same data as in one process, so the iterates are the
//! one-process iterates up to the summation order of the RMSE sums and of the parallel
//! QR of the spectral start.
//!
//! Communication per sweep, per rank: it receives the factor rows it does not own,
//! `k · (m − m_r + n − n_r) · 8` bytes (plus three numbers summed per RMSE measurement);
//! memory per rank: its blocks of Ω (24 bytes per entry, each entry held once by its row
//! owner and once by its column owner) and the whole U and V.
//!
//! The transport is an [`Exchange`]: threads here and in the tests
//! ([`crate::exchange::ThreadGroup`]), MPI in the `solvent` crate's `mpi` feature.

use super::omega::Side;
use super::regression::half_step_rows;
use super::solver::{sweep_metrics, CompletionConfig, Factors, Measured, RMSE_ROWS};
use super::spectral::{sparse_times, spectral_init_with, Shape};
use super::{Omega, RowSolver};
use crate::error::{Result, SolverError};
use crate::exchange::Exchange;
use crate::metrics::Metrics;
use crate::solver::{Solver, Step};
use rayon::prelude::*;
use std::cell::Cell;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Contiguous blocks of rows and of columns, one per rank: `rows[r]..rows[r + 1]` are
/// rank r's rows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Partition {
    /// Row block starts, `ranks + 1` of them (first 0, last m).
    pub rows: Vec<usize>,
    /// Column block starts, `ranks + 1` of them (first 0, last n).
    pub cols: Vec<usize>,
}

/// Starts of `parts` contiguous blocks of `ptr.len() − 1` rows with about equal entry
/// counts (`ptr` the compressed row pointers).
fn balanced_cuts(ptr: &[usize], parts: usize) -> Vec<usize> {
    let rows = ptr.len() - 1;
    let total = ptr[rows];
    let mut cuts = vec![0usize; parts + 1];
    for (p, cut) in cuts.iter_mut().enumerate().skip(1) {
        let target = (total as u128 * p as u128 / parts as u128) as usize;
        // the first row boundary at or after the target
        *cut = ptr.partition_point(|&x| x < target).min(rows);
    }
    cuts[parts] = rows;
    for p in 1..=parts {
        cuts[p] = cuts[p].max(cuts[p - 1]);
    }
    cuts
}

impl Partition {
    /// Row and column blocks with about |Ω|/R entries each (the work of a half-step is
    /// proportional to the entries).
    pub fn balanced(omega: &Omega, ranks: usize) -> Self {
        let ranks = ranks.max(1);
        Self {
            rows: balanced_cuts(omega.by_rows().ptr, ranks),
            cols: balanced_cuts(omega.by_cols().ptr, ranks),
        }
    }
    /// The number of ranks.
    pub fn ranks(&self) -> usize {
        self.rows.len() - 1
    }
    /// Rank r's rows.
    pub fn row_block(&self, r: usize) -> Range<usize> {
        self.rows[r]..self.rows[r + 1]
    }
    /// Rank r's columns.
    pub fn col_block(&self, r: usize) -> Range<usize> {
        self.cols[r]..self.cols[r + 1]
    }
    /// The rank that owns row `i`.
    pub fn row_owner(&self, i: usize) -> usize {
        self.rows
            .partition_point(|&s| s <= i)
            .saturating_sub(1)
            .min(self.ranks() - 1)
    }
    /// Checks the blocks against an m × n matrix.
    pub fn check(&self, m: usize, n: usize) -> Result<()> {
        for (starts, len, what) in [(&self.rows, m, "rows"), (&self.cols, n, "cols")] {
            let ok = starts.len() >= 2
                && starts[0] == 0
                && starts[starts.len() - 1] == len
                && starts.windows(2).all(|w| w[0] <= w[1]);
            if !ok || self.rows.len() != self.cols.len() {
                return Err(SolverError::setting(
                    "partition",
                    what,
                    format!("the blocks must be increasing starts from 0 to {len}, one per rank"),
                ));
            }
        }
        Ok(())
    }
}

/// One compressed side of a block: rows `ptr.len() − 1`, pointers from 0.
#[derive(Clone, Debug, Default)]
struct Block {
    ptr: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<f64>,
}

impl Block {
    /// From `(local row, index, value)` triples, kept in their given order within a row.
    fn from_triples(rows: usize, entries: &[(u32, u32, f64)]) -> Result<Self> {
        let mut ptr = vec![0usize; rows + 1];
        for &(r, _, _) in entries {
            let r = r as usize;
            if r >= rows {
                return Err(SolverError::setting(
                    "block",
                    r,
                    format!("a row outside the {rows} rows of the block"),
                ));
            }
            ptr[r + 1] += 1;
        }
        for i in 0..rows {
            ptr[i + 1] += ptr[i];
        }
        let mut next = ptr.clone();
        let mut idx = vec![0u32; entries.len()];
        let mut val = vec![0.0; entries.len()];
        for &(r, c, v) in entries {
            let p = &mut next[r as usize];
            idx[*p] = c;
            val[*p] = v;
            *p += 1;
        }
        Ok(Self { ptr, idx, val })
    }
    fn side(&self) -> Side<'_> {
        Side {
            ptr: &self.ptr,
            idx: &self.idx,
            val: &self.val,
        }
    }
}

/// One rank's share of a completion problem: its rows of Ω (by rows), its columns of Ω
/// (by columns), and the test entries in its rows.
#[derive(Clone, Debug)]
pub struct LocalProblem {
    m: usize,
    n: usize,
    observed: usize,
    test_total: usize,
    partition: Partition,
    rank: usize,
    rows: Block,
    cols: Block,
    test: Vec<(u32, u32, f64)>,
}

/// What one rank receives of a problem: flat `(row, column, value)` entries of its row
/// block and of its column block (global indices, in the whole problem's row and column
/// order), and the test entries of its rows. [`LocalProblem::share`] makes it from the
/// whole problem on the rank that read the data; [`LocalProblem::from_share`] builds the
/// rank's problem from it.
#[derive(Clone, Debug, Default)]
pub struct Share {
    /// Entries of the rank's rows, row by row (each row's entries in Ω's order).
    pub row_entries: Vec<(u32, u32, f64)>,
    /// Entries of the rank's columns, column by column.
    pub col_entries: Vec<(u32, u32, f64)>,
    /// Test entries in the rank's rows.
    pub test: Vec<(u32, u32, f64)>,
}

impl LocalProblem {
    /// Rank `rank`'s share of the whole problem (Ω and the test entries).
    pub fn share(omega: &Omega, test: &[(u32, u32, f64)], partition: &Partition, rank: usize) -> Share {
        let (rows, cols) = (omega.by_rows(), omega.by_cols());
        let row_entries = partition
            .row_block(rank)
            .flat_map(|i| (rows.ptr[i]..rows.ptr[i + 1]).map(move |p| (i as u32, rows.idx[p], rows.val[p])))
            .collect();
        let col_entries = partition
            .col_block(rank)
            .flat_map(|j| (cols.ptr[j]..cols.ptr[j + 1]).map(move |p| (cols.idx[p], j as u32, cols.val[p])))
            .collect();
        let test = test
            .iter()
            .filter(|e| partition.row_owner(e.0 as usize) == rank)
            .copied()
            .collect();
        Share {
            row_entries,
            col_entries,
            test,
        }
    }

    /// Rank `rank`'s problem from its share of an m × n problem with `observed` training
    /// and `test_total` test entries in all.
    pub fn from_share(
        (m, n): (usize, usize),
        (observed, test_total): (usize, usize),
        partition: Partition,
        rank: usize,
        share: Share,
    ) -> Result<Self> {
        partition.check(m, n)?;
        if rank >= partition.ranks() {
            return Err(SolverError::setting("rank", rank, "not a rank of the partition"));
        }
        let (rb, cb) = (partition.row_block(rank), partition.col_block(rank));
        let outside = |what: &str| {
            SolverError::setting(
                "share",
                what.to_string(),
                format!("an entry outside rank {rank}'s block"),
            )
        };
        let mut row_local = Vec::with_capacity(share.row_entries.len());
        for &(i, j, v) in &share.row_entries {
            if !rb.contains(&(i as usize)) || j as usize >= n {
                return Err(outside("rows"));
            }
            row_local.push(((i as usize - rb.start) as u32, j, v));
        }
        let mut col_local = Vec::with_capacity(share.col_entries.len());
        for &(i, j, v) in &share.col_entries {
            if !cb.contains(&(j as usize)) || i as usize >= m {
                return Err(outside("columns"));
            }
            col_local.push(((j as usize - cb.start) as u32, i, v));
        }
        if share
            .test
            .iter()
            .any(|&(i, j, _)| !rb.contains(&(i as usize)) || j as usize >= n)
        {
            return Err(outside("test"));
        }
        Ok(Self {
            m,
            n,
            observed,
            test_total,
            rows: Block::from_triples(rb.len(), &row_local)?,
            cols: Block::from_triples(cb.len(), &col_local)?,
            partition,
            rank,
            test: share.test,
        })
    }

    /// Rows m of the whole matrix.
    pub fn nrows(&self) -> usize {
        self.m
    }
    /// Columns n of the whole matrix.
    pub fn ncols(&self) -> usize {
        self.n
    }
    /// Observed training entries in the whole matrix.
    pub fn observed(&self) -> usize {
        self.observed
    }
    /// The blocks.
    pub fn partition(&self) -> &Partition {
        &self.partition
    }
    /// Training entries this rank holds (its row block's plus its column block's).
    pub fn local_entries(&self) -> usize {
        self.rows.idx.len() + self.cols.idx.len()
    }
}

/// The factors and counters of a distributed run (the same factors on every rank).
#[derive(Debug)]
pub struct DistributedState {
    /// The current model, whole.
    pub factors: Factors,
    /// Sweeps done (0: the spectral start and the first V half-step).
    pub sweep: usize,
    /// Mean CG iterations per row over the last sweep (all ranks).
    pub cg_iterations_per_row: f64,
    /// Payload bytes this rank received in the last sweep's two factor all-gathers.
    pub sweep_bytes: u64,
    measured: Measured,
}

/// Alternating minimisation over the ranks of an [`Exchange`]: the same settings, steps
/// and metrics as [`super::Completion`] (one step = one sweep), on a [`LocalProblem`].
/// Sample splitting is not distributed. Every rank runs the same loop; a time limit is
/// decided by rank 0 and told to the others with each RMSE measurement, so all stop
/// after the same sweep (run with a trace sample every sweep and the [`Self::stop_flag`]
/// as the run loop's interrupt flag; the run then ends `Interrupted`).
pub struct DistributedCompletion<'a, E: Exchange> {
    /// Settings.
    pub config: CompletionConfig,
    exchange: &'a E,
    time_limit: Option<Duration>,
    start: Instant,
    stop: Arc<AtomicBool>,
}

impl<'a, E: Exchange> DistributedCompletion<'a, E> {
    /// A solver over `exchange`'s ranks; `time_limit` counts from now on rank 0.
    pub fn new(config: CompletionConfig, exchange: &'a E, time_limit: Option<Duration>) -> Self {
        Self {
            config,
            exchange,
            time_limit,
            start: Instant::now(),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
    /// Set on every rank, after the same sweep, once rank 0's time limit has passed.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Solves the local rows of one side and all-gathers the whole factor.
    fn half(&self, block: &Block, starts: &[usize], fixed: &[f64], out: &mut Vec<f64>) -> (usize, u64) {
        let k = self.config.rank;
        let r = self.exchange.rank();
        let own = starts[r]..starts[r + 1];
        let mut local = out[own.start * k..own.end * k].to_vec();
        let stats = half_step_rows(
            block.side(),
            fixed,
            &mut local,
            k,
            self.config.reg,
            self.config.solver,
            own.start,
        );
        let counts: Vec<usize> = starts.windows(2).map(|w| (w[1] - w[0]) * k).collect();
        let before = self.exchange.bytes_received();
        *out = self.exchange.all_gather(&local, &counts);
        (stats.cg_iterations, self.exchange.bytes_received() - before)
    }
}

impl<E: Exchange> Solver<LocalProblem> for DistributedCompletion<'_, E> {
    type State = DistributedState;

    fn name(&self) -> String {
        match self.config.solver {
            RowSolver::Exact => "als".into(),
            RowSolver::Cg { .. } => "altmin".into(),
        }
    }

    fn settings(&self) -> serde_json::Value {
        let c = &self.config;
        serde_json::json!({
            "rank": c.rank, "reg": c.reg, "mu": c.mu, "seed": c.seed,
            "ranks": self.exchange.size(),
        })
    }

    fn init(&mut self, p: &LocalProblem) -> Result<DistributedState> {
        let c = self.config;
        let (m, n, k) = (p.m, p.n, c.rank);
        if k == 0 || k > m.min(n) {
            return Err(SolverError::setting(
                "rank",
                k,
                format!("the rank must be between 1 and min(m, n) = {}", m.min(n)),
            ));
        }
        if c.sample_splitting.is_some() {
            return Err(SolverError::setting(
                "sample_splitting",
                "on",
                "sample splitting is not distributed: run it in one process",
            ));
        }
        if p.observed == 0 {
            return Err(SolverError::setting("train", 0, "no observed entries"));
        }
        if p.partition.ranks() != self.exchange.size() || p.rank != self.exchange.rank() {
            return Err(SolverError::setting(
                "partition",
                p.partition.ranks(),
                format!(
                    "the problem is rank {}'s of {} blocks, this process is rank {} of {}",
                    p.rank,
                    p.partition.ranks(),
                    self.exchange.rank(),
                    self.exchange.size()
                ),
            ));
        }
        let ex = self.exchange;
        let (rows, cols) = (&p.partition.rows, &p.partition.cols);
        let gathered = |block: &Block, starts: &[usize], x: &[f64], l: usize, scale: f64| {
            let local = sparse_times(block.side(), x, l, scale);
            let counts: Vec<usize> = starts.windows(2).map(|w| (w[1] - w[0]) * l).collect();
            ex.all_gather(&local, &counts)
        };
        let u = spectral_init_with(
            Shape {
                m,
                n,
                observed: p.observed,
            },
            k,
            c.mu,
            c.seed,
            &|x, l, scale| gathered(&p.rows, rows, x, l, scale),
            &|x, l, scale| gathered(&p.cols, cols, x, l, scale),
        );
        let mut v = vec![0.0; n * k];
        let (its, _) = self.half(&p.cols, cols, &u, &mut v);
        let mut total = [its as f64];
        ex.all_sum(&mut total);
        Ok(DistributedState {
            factors: Factors { k, u, v },
            sweep: 0,
            cg_iterations_per_row: total[0] / n as f64,
            sweep_bytes: 0,
            measured: Cell::new([None, None]),
        })
    }

    fn step(&mut self, p: &LocalProblem, s: &mut DistributedState) -> Result<Step> {
        let f = &mut s.factors;
        let (a, bytes_u) = self.half(&p.rows, &p.partition.rows, &f.v, &mut f.u);
        let (b, bytes_v) = self.half(&p.cols, &p.partition.cols, &f.u, &mut f.v);
        let mut its = [(a + b) as f64];
        self.exchange.all_sum(&mut its);
        s.sweep += 1;
        s.sweep_bytes = bytes_u + bytes_v;
        s.cg_iterations_per_row = its[0] / (p.m + p.n) as f64;
        if f.u.iter().chain(&f.v).any(|x| !x.is_finite()) {
            return Ok(Step::Breakdown(format!(
                "sweep {}: the factors are no longer finite",
                s.sweep
            )));
        }
        Ok(Step::Continue { estimate: None })
    }

    /// As [`super::Completion`]'s: train (and test) RMSE summed over the ranks.
    fn metrics(&self, p: &LocalProblem, s: &DistributedState) -> Metrics {
        let f = &s.factors;
        let first = p.partition.rows[p.rank];
        let side = p.rows.side();
        let train: f64 = (0..side.len().div_ceil(RMSE_ROWS))
            .into_par_iter()
            .map(|b| {
                (b * RMSE_ROWS..((b + 1) * RMSE_ROWS).min(side.len()))
                    .flat_map(|i| (side.ptr[i]..side.ptr[i + 1]).map(move |q| (i, q)))
                    .map(|(i, q)| (f.predict(first + i, side.idx[q] as usize) - side.val[q]).powi(2))
                    .sum::<f64>()
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum();
        let test: f64 = p
            .test
            .iter()
            .map(|&(i, j, v)| (f.predict(i as usize, j as usize) - v).powi(2))
            .sum();
        let vote = match self.time_limit {
            Some(limit) if self.exchange.rank() == 0 && self.start.elapsed() >= limit => 1.0,
            _ => 0.0,
        };
        let mut sums = [train, test, vote];
        self.exchange.all_sum(&mut sums);
        if sums[2] > 0.0 {
            self.stop.store(true, Ordering::Relaxed);
        }
        let rmse = (sums[0] / p.observed as f64).sqrt();
        let mut m = sweep_metrics(&s.measured, s.sweep, rmse, s.cg_iterations_per_row)
            .with_extra("exchanged_bytes", s.sweep_bytes as f64);
        if p.test_total > 0 {
            m = m.with_extra("test_rmse", (sums[1] / p.test_total as f64).sqrt());
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::completion::{Completion, CompletionProblem};
    use crate::exchange::{Alone, ThreadGroup};
    use crate::{Options, TraceSchedule};

    /// A rank-3 60 × 45 matrix observed at 40% plus a few very long rows (to exercise the
    /// sketch path), test entries from the rest.
    fn problem() -> CompletionProblem {
        use rand_chacha::rand_core::{Rng, SeedableRng};
        let (m, n, k) = (60usize, 45usize, 3usize);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut uniform = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let u: Vec<f64> = (0..m * k).map(|_| uniform() - 0.5).collect();
        let v: Vec<f64> = (0..n * k).map(|_| uniform() - 0.5).collect();
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for i in 0..m {
            for j in 0..n {
                let x: f64 =
                    (0..k).map(|t| u[i * k + t] * v[j * k + t]).sum::<f64>() + 0.01 * (uniform() - 0.5);
                if i < 3 || uniform() < 0.4 {
                    train.push((i as u32, j as u32, x));
                } else if uniform() < 0.2 {
                    test.push((i as u32, j as u32, x));
                }
            }
        }
        CompletionProblem {
            omega: Omega::new(m, n, &train),
            test,
        }
    }

    fn distributed(
        p: &CompletionProblem,
        config: CompletionConfig,
        ranks: usize,
        sweeps: usize,
    ) -> Vec<(Vec<f64>, Factors, u64)> {
        let partition = Partition::balanced(&p.omega, ranks);
        let group = ThreadGroup::new(ranks);
        std::thread::scope(|s| {
            let handles: Vec<_> = group
                .iter()
                .map(|g| {
                    let local = LocalProblem::from_share(
                        (p.omega.nrows(), p.omega.ncols()),
                        (p.omega.len(), p.test.len()),
                        partition.clone(),
                        g.rank(),
                        LocalProblem::share(&p.omega, &p.test, &partition, g.rank()),
                    )
                    .unwrap();
                    s.spawn(move || {
                        let mut solver = DistributedCompletion::new(config, g, None);
                        let options = Options::default()
                            .tol(f64::MIN_POSITIVE)
                            .max_iters(sweeps)
                            .trace(TraceSchedule::Every(1))
                            .interrupt(solver.stop_flag());
                        let out = crate::run(&local, &mut solver, &options).unwrap();
                        let trace: Vec<f64> = out
                            .report
                            .trace
                            .iter()
                            .flat_map(|t| [t.metrics.extra["train_rmse"], t.metrics.extra["test_rmse"]])
                            .collect();
                        (trace, out.state.factors, out.state.sweep_bytes)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    fn single(p: &CompletionProblem, config: CompletionConfig, sweeps: usize) -> (Vec<f64>, Factors) {
        let options = Options::default()
            .tol(f64::MIN_POSITIVE)
            .max_iters(sweeps)
            .trace(TraceSchedule::Every(1));
        let out = crate::run(p, &mut Completion::new(config), &options).unwrap();
        let trace = out
            .report
            .trace
            .iter()
            .flat_map(|t| [t.metrics.extra["train_rmse"], t.metrics.extra["test_rmse"]])
            .collect();
        (trace, out.state.factors)
    }

    #[test]
    fn ranks_reproduce_the_one_process_iterates() {
        let p = problem();
        let mut altmin = CompletionConfig::altmin(3);
        // a low threshold so that the long rows take the sketch path
        altmin.solver = RowSolver::Cg {
            reduction: 1e-3,
            max_iters: 2,
            sketch_above: 20,
        };
        for config in [CompletionConfig::als(3), altmin] {
            let (trace1, f1) = single(&p, config, 6);
            for ranks in [1, 2, 3] {
                let runs = distributed(&p, config, ranks, 6);
                for (trace, f, _) in &runs {
                    assert_eq!(trace.len(), trace1.len());
                    for (a, b) in trace.iter().zip(&trace1) {
                        assert!(
                            (a - b).abs() <= 1e-10 * b.abs().max(1.0),
                            "{ranks} ranks: {a} vs {b}"
                        );
                    }
                    let diff =
                        f.u.iter()
                            .chain(&f.v)
                            .zip(f1.u.iter().chain(&f1.v))
                            .map(|(a, b)| (a - b).abs())
                            .fold(0.0, f64::max);
                    assert!(diff <= 1e-8, "{ranks} ranks: factors differ by {diff}");
                }
            }
        }
    }

    #[test]
    fn a_sweep_moves_the_factor_rows_each_rank_does_not_own() {
        let p = problem();
        let (m, n, k) = (p.omega.nrows(), p.omega.ncols(), 3);
        let partition = Partition::balanced(&p.omega, 3);
        let runs = distributed(&p, CompletionConfig::als(k), 3, 2);
        for (r, (_, _, bytes)) in runs.iter().enumerate() {
            let own = partition.row_block(r).len() + partition.col_block(r).len();
            assert_eq!(*bytes, (k * (m + n - own) * 8) as u64, "rank {r}");
        }
    }

    #[test]
    fn balanced_blocks_cover_everything_with_similar_work() {
        let p = problem();
        for ranks in [1, 2, 3, 7] {
            let part = Partition::balanced(&p.omega, ranks);
            part.check(p.omega.nrows(), p.omega.ncols()).unwrap();
            let rows = p.omega.by_rows();
            let per: Vec<usize> = (0..ranks)
                .map(|r| rows.ptr[part.rows[r + 1]] - rows.ptr[part.rows[r]])
                .collect();
            let longest_row = (0..p.omega.nrows())
                .map(|i| rows.ptr[i + 1] - rows.ptr[i])
                .max()
                .unwrap();
            for &c in &per {
                assert!(c.abs_diff(p.omega.len() / ranks) <= longest_row, "{per:?}");
            }
            for i in 0..p.omega.nrows() {
                assert!(part.row_block(part.row_owner(i)).contains(&i));
            }
        }
        // one rank in an Exchange of one process is the whole problem
        assert_eq!(Alone.size(), 1);
    }

    #[test]
    fn a_share_with_an_entry_outside_the_block_is_refused() {
        let p = problem();
        let partition = Partition::balanced(&p.omega, 2);
        let mut share = LocalProblem::share(&p.omega, &p.test, &partition, 0);
        share.row_entries.push((59, 0, 1.0));
        let err = LocalProblem::from_share((60, 45), (p.omega.len(), 0), partition, 0, share).unwrap_err();
        assert!(err.to_string().contains("outside rank 0"), "{err}");
    }
}
