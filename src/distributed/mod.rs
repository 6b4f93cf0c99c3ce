//! Scale-out over MPI (the `mpi` feature): the ranks of an `mpirun`/`srun` job, through
//! the rsmpi bindings to the system's MPICH or Open MPI, and the three pipelines that
//! run on them — [`datagen`] (a data set made by pieces of the sorted sequence),
//! [`sequence`] (a directory of systems solved by pieces) and [`completion`] (rows and
//! columns of Ω spread over the ranks). The algorithms are the library's
//! ([`solvent_solvers::datagen::generate_piece`],
//! [`solvent_solvers::sequence::solve_sequence_piece_ordered`],
//! [`solvent_solvers::completion::distributed`]); this module moves their inputs and
//! results between processes and makes every rank agree on failure.
//!
//! Every rank runs the same program. A step that can fail on one rank ends with
//! [`Ranks::agree`]: when any rank failed, every rank gets the failures (rank and
//! message) and stops, so no rank waits for another that is gone, and rank 0 writes no
//! output. A binary built with `mpi` and started without `mpirun` is a job of one rank
//! (MPI's singleton start) and runs the one-process code.

pub mod completion;
pub mod datagen;
pub mod sequence;

use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use serde::Serialize;
use solvent_solvers::exchange::Exchange;
use std::sync::atomic::{AtomicU64, Ordering};

/// Elements per MPI message at most (MPI counts are 32-bit): longer arrays go in pieces.
const MESSAGE: usize = 1 << 27;

/// The failures of a distributed step: `(rank, message)` for every rank that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankErrors(pub Vec<(usize, String)>);

impl std::fmt::Display for RankErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // ranks that failed the same way share a line
        let mut lines: Vec<(Vec<usize>, &str)> = Vec::new();
        for (rank, message) in &self.0 {
            match lines.iter_mut().find(|(_, m)| m == message) {
                Some((ranks, _)) => ranks.push(*rank),
                None => lines.push((vec![*rank], message)),
            }
        }
        for (i, (ranks, message)) in lines.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let names: Vec<String> = ranks.iter().map(|r| r.to_string()).collect();
            let label = if ranks.len() == 1 { "rank" } else { "ranks" };
            write!(f, "{label} {}: {message}", names.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for RankErrors {}

/// This process's place in an MPI job: the world communicator and the MPI environment,
/// finalised when dropped.
pub struct Ranks {
    world: SimpleCommunicator,
    received: AtomicU64,
    // dropped last: finalises MPI
    _universe: Universe,
}

/// What one rank did, for the report.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct RankStats {
    /// The rank.
    pub rank: usize,
    /// The host it ran on (MPI's processor name).
    pub host: String,
    /// Systems (data-set samples) or rows and columns it solved.
    pub work: usize,
    /// Krylov iterations (sequences) or training entries held (completion).
    pub iterations: usize,
    /// Wall-clock seconds of its part.
    pub wall_s: f64,
    /// Seconds solving (setup included), summed over its systems.
    pub solve_s: f64,
}

/// Per-rank statistics and how unevenly the work fell: the longest rank's wall time over
/// the mean (1 = perfectly even).
#[derive(Clone, Debug, Serialize)]
pub struct RanksReport {
    /// Ranks in the job.
    pub size: usize,
    /// One entry per rank, in rank order.
    pub ranks: Vec<RankStats>,
    /// max wall / mean wall.
    pub imbalance: f64,
}

impl RanksReport {
    /// From every rank's statistics.
    pub fn new(ranks: Vec<RankStats>) -> Self {
        let max = ranks.iter().map(|r| r.wall_s).fold(0.0, f64::max);
        let mean = ranks.iter().map(|r| r.wall_s).sum::<f64>() / ranks.len().max(1) as f64;
        Self {
            size: ranks.len(),
            imbalance: if mean > 0.0 { max / mean } else { 1.0 },
            ranks,
        }
    }
    /// One line for humans.
    pub fn summary(&self) -> String {
        let walls: Vec<String> = self.ranks.iter().map(|r| format!("{:.2}", r.wall_s)).collect();
        format!(
            "{} ranks, wall s per rank [{}], imbalance {:.2} (max/mean)",
            self.size,
            walls.join(", "),
            self.imbalance
        )
    }
}

impl Ranks {
    /// Starts MPI (threads other than the caller's never call MPI: `Funneled`) and, when
    /// `RAYON_NUM_THREADS` is not set, gives each rank its share of the node's cores
    /// (cores / ranks on the node, at least one), so that ranks on one machine do not
    /// oversubscribe it. `None` when MPI was already started in this process.
    pub fn init() -> Option<Ranks> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)?;
        let world = universe.world();
        if world.size() > 1 {
            // a rank that panics would otherwise finalise MPI while the others wait for it
            // in a collective: abort the whole job instead (exit non-zero everywhere). Only
            // the main thread may call MPI (`Funneled`): a panic elsewhere (a rayon worker)
            // kills the process, and the launcher then ends the job.
            let main = std::thread::current().id();
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                default(info);
                if std::thread::current().id() == main {
                    mpi::topology::SimpleCommunicator::world().abort(70);
                }
                std::process::abort();
            }));
        }
        if world.size() > 1 && std::env::var_os("RAYON_NUM_THREADS").is_none() {
            let local = world.split_shared(world.rank()).size().max(1) as usize;
            let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads((cores / local).max(1))
                .build_global();
        }
        Some(Ranks {
            world,
            received: AtomicU64::new(0),
            _universe: universe,
        })
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    /// The number of ranks.
    pub fn size(&self) -> usize {
        self.world.size() as usize
    }
    /// The name of the host this rank runs on.
    pub fn host(&self) -> String {
        mpi::environment::processor_name().unwrap_or_default()
    }

    /// Makes every rank agree on the outcome of a step: `Ok` on every rank when every
    /// rank succeeded; otherwise every rank gets every failure, in rank order.
    pub fn agree<T, E: std::fmt::Display>(&self, result: Result<T, E>) -> Result<T, RankErrors> {
        let message = match &result {
            Ok(_) => String::new(),
            Err(e) => {
                let m = e.to_string();
                if m.is_empty() {
                    "failed".to_string()
                } else {
                    m
                }
            }
        };
        let lengths = self.all_gather_u64(message.len() as u64);
        if lengths.iter().all(|&l| l == 0) {
            return result.map_err(|_| unreachable!("a failure has a message"));
        }
        let counts: Vec<mpi::Count> = lengths.iter().map(|&l| l as mpi::Count).collect();
        let displs: Vec<mpi::Count> = counts
            .iter()
            .scan(0, |acc, &c| {
                let d = *acc;
                *acc += c;
                Some(d)
            })
            .collect();
        let mut all = vec![0u8; lengths.iter().sum::<u64>() as usize];
        {
            let mut partition = PartitionMut::new(&mut all[..], counts, &displs[..]);
            self.world
                .all_gather_varcount_into(message.as_bytes(), &mut partition);
        }
        let mut failures = Vec::new();
        let mut at = 0usize;
        for (rank, &l) in lengths.iter().enumerate() {
            let l = l as usize;
            if l > 0 {
                failures.push((rank, String::from_utf8_lossy(&all[at..at + l]).into_owned()));
            }
            at += l;
        }
        Err(RankErrors(failures))
    }

    /// Runs `check` on rank 0 only (a check every rank would answer the same way, or one
    /// about rank 0's files) and makes every rank agree on its outcome.
    pub fn checked_on_root<E: std::fmt::Display>(
        &self,
        check: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), RankErrors> {
        let r = if self.rank() == 0 {
            check().map_err(|e| e.to_string())
        } else {
            Ok(())
        };
        self.agree(r)
    }

    /// The solve order computed by `order` on rank 0 only, on every rank (8 bytes per
    /// system broadcast), with the seconds rank 0 took; rank 0's failure is every rank's.
    pub fn order_from_root<E: std::fmt::Display>(
        &self,
        order: impl FnOnce() -> Result<Vec<usize>, E>,
    ) -> Result<(Vec<usize>, f64), RankErrors> {
        let t = std::time::Instant::now();
        let computed = if self.rank() == 0 {
            order().map_err(|e| e.to_string())
        } else {
            Ok(Vec::new())
        };
        let order = self.agree(computed)?;
        let seconds = t.elapsed().as_secs_f64();
        let bytes: Vec<u8> = order.iter().flat_map(|&i| (i as u64).to_le_bytes()).collect();
        let order = self
            .broadcast_bytes(&bytes)
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")) as usize)
            .collect();
        Ok((order, seconds))
    }

    /// One number from every rank, in rank order, on every rank.
    pub fn all_gather_u64(&self, x: u64) -> Vec<u64> {
        let mut all = vec![0u64; self.size()];
        self.world.all_gather_into(&x, &mut all[..]);
        all
    }

    /// Rank 0's bytes on every rank (`data` is read on rank 0 only).
    pub fn broadcast_bytes(&self, data: &[u8]) -> Vec<u8> {
        let root = self.world.process_at_rank(0);
        let mut len = data.len() as u64;
        root.broadcast_into(&mut len);
        let mut buf = if self.rank() == 0 {
            data.to_vec()
        } else {
            vec![0u8; len as usize]
        };
        for chunk in buf.chunks_mut(MESSAGE) {
            root.broadcast_into(chunk);
        }
        buf
    }

    /// Rank 0's value on every rank, as JSON (`value` is read on rank 0 only).
    pub fn broadcast_json<T: Serialize + serde::de::DeserializeOwned>(
        &self,
        value: &T,
    ) -> Result<T, RankErrors> {
        let bytes = if self.rank() == 0 {
            serde_json::to_vec(value).unwrap_or_default()
        } else {
            Vec::new()
        };
        let got = self.broadcast_bytes(&bytes);
        self.agree(serde_json::from_slice(&got))
    }

    /// Sends a slice to rank `to` (received by [`Self::receive`] there), in pieces of at
    /// most 2²⁷ elements.
    pub fn send<T: Equivalence>(&self, to: usize, data: &[T]) {
        let dest = self.world.process_at_rank(to as mpi::Rank);
        dest.send(&(data.len() as u64));
        for chunk in data.chunks(MESSAGE) {
            dest.send(chunk);
        }
    }

    /// Receives what rank `from` sent with [`Self::send`].
    pub fn receive<T: Equivalence + Clone + Default>(&self, from: usize) -> Vec<T> {
        let source = self.world.process_at_rank(from as mpi::Rank);
        let (len, _) = source.receive::<u64>();
        let mut out = Vec::with_capacity(len as usize);
        while out.len() < len as usize {
            let (chunk, _) = source.receive_vec::<T>();
            out.extend(chunk);
        }
        self.received.fetch_add(
            (len as usize * std::mem::size_of::<T>()) as u64,
            Ordering::Relaxed,
        );
        out
    }

    /// Sends a value as JSON to rank `to`.
    pub fn send_json<T: Serialize>(&self, to: usize, value: &T) {
        self.send(to, &serde_json::to_vec(value).unwrap_or_default());
    }

    /// Receives a value sent with [`Self::send_json`].
    pub fn receive_json<T: serde::de::DeserializeOwned>(&self, from: usize) -> Result<T, String> {
        let bytes: Vec<u8> = self.receive(from);
        serde_json::from_slice(&bytes).map_err(|e| format!("a malformed message from rank {from}: {e}"))
    }

    /// Rank 0's exit code on every rank, so that the job ends with one status.
    pub fn same_exit(&self, code: u8) -> u8 {
        let mut c = code;
        self.world.process_at_rank(0).broadcast_into(&mut c);
        c
    }
}

impl Drop for Ranks {
    fn drop(&mut self) {
        // MPI is finalised next: a later panic must not call MPI_Abort
        if self.world.size() > 1 {
            let _ = std::panic::take_hook();
        }
    }
}

impl Exchange for Ranks {
    fn rank(&self) -> usize {
        Ranks::rank(self)
    }
    fn size(&self) -> usize {
        Ranks::size(self)
    }
    fn all_gather(&self, local: &[f64], counts: &[usize]) -> Vec<f64> {
        let total: usize = counts.iter().sum();
        let mut all = vec![0.0; total];
        if counts.iter().all(|&c| c <= MESSAGE) && total <= i32::MAX as usize {
            let c: Vec<mpi::Count> = counts.iter().map(|&c| c as mpi::Count).collect();
            let displs: Vec<mpi::Count> = c
                .iter()
                .scan(0, |acc, &x| {
                    let d = *acc;
                    *acc += x;
                    Some(d)
                })
                .collect();
            let mut partition = PartitionMut::new(&mut all[..], c, &displs[..]);
            self.world.all_gather_varcount_into(local, &mut partition);
        } else {
            // too long for one collective: each rank's piece broadcast from its owner
            let mut at = 0;
            for (r, &c) in counts.iter().enumerate() {
                let piece = &mut all[at..at + c];
                if r == self.rank() {
                    piece.copy_from_slice(local);
                }
                for chunk in piece.chunks_mut(MESSAGE) {
                    self.world.process_at_rank(r as mpi::Rank).broadcast_into(chunk);
                }
                at += c;
            }
        }
        let own = counts.get(self.rank()).copied().unwrap_or(0);
        self.received
            .fetch_add(8 * (total - own) as u64, Ordering::Relaxed);
        all
    }
    /// Gathers every rank's values and sums them in rank order on each rank (not
    /// MPI_Allreduce, whose summation order may differ between ranks): every rank gets
    /// the same bits, so decisions taken on the sums (convergence, a time limit) agree.
    fn all_sum(&self, values: &mut [f64]) {
        let len = values.len();
        let mut all = vec![0.0; len * self.size()];
        self.world.all_gather_into(&values[..], &mut all[..]);
        values.fill(0.0);
        for piece in all.chunks(len.max(1)) {
            for (v, x) in values.iter_mut().zip(piece) {
                *v += x;
            }
        }
        self.received
            .fetch_add(8 * (len * (self.size() - 1)) as u64, Ordering::Relaxed);
    }
    fn bytes_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// The exit code of a CLI command run on the ranks of a job: the outcome's code, or 1
/// with every line of the failure printed by rank 0 (`error: rank 1: …`); rank 0's code
/// on every rank, so that the job ends with one status.
pub fn cli_exit(ranks: &Ranks, outcome: Result<u8, String>) -> std::process::ExitCode {
    let code = match outcome {
        Ok(c) => c,
        Err(e) => {
            if ranks.rank() == 0 {
                for line in e.lines() {
                    crate::errln!("error: {line}");
                }
            }
            1
        }
    };
    std::process::ExitCode::from(ranks.same_exit(code))
}

/// The ranks of the job this CLI command runs in, when it runs in one of more than one
/// rank; `None` for a one-rank job (no `mpirun`, or `mpirun -n 1`), which runs the
/// one-process code.
pub fn cli_ranks() -> Option<Ranks> {
    Ranks::init().filter(|r| r.size() > 1)
}
