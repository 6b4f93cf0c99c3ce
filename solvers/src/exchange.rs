//! What a distributed solver needs from the processes it runs on: its rank, their
//! number, an all-gather of variable-length pieces and an element-wise sum. The solvers
//! that run over several processes (distributed completion) are written against this
//! trait, so that the algorithm lives in the library and is tested here without MPI:
//! [`Alone`] is one process, [`ThreadGroup`] runs R ranks as threads of one process, and
//! the `solvent` crate's `mpi` feature implements it on an MPI communicator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};

/// Collective operations over a fixed group of ranks. Every rank must make the same
/// calls in the same order (as with MPI collectives).
pub trait Exchange: Sync {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// The concatenation, in rank order, of every rank's `local`; `counts[r]` is rank
    /// r's length (the same `counts` on every rank).
    fn all_gather(&self, local: &[f64], counts: &[usize]) -> Vec<f64>;
    /// Replaces `values` by their element-wise sum over the ranks (the same length on
    /// every rank; the same result, bit for bit, on every rank).
    fn all_sum(&self, values: &mut [f64]);
    /// Bytes of payload this rank has received from other ranks so far (what the
    /// collectives moved in, not counting its own contribution): the measured
    /// communication volume.
    fn bytes_received(&self) -> u64;
}

/// One process: the collectives are copies.
#[derive(Debug, Default)]
pub struct Alone;

impl Exchange for Alone {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_gather(&self, local: &[f64], _counts: &[usize]) -> Vec<f64> {
        local.to_vec()
    }
    fn all_sum(&self, _values: &mut [f64]) {}
    fn bytes_received(&self) -> u64 {
        0
    }
}

/// R ranks as threads of one process (each thread holds one [`ThreadGroup`] value):
/// for tests of distributed algorithms, and to check distributed code without MPI.
#[derive(Clone)]
pub struct ThreadGroup {
    rank: usize,
    shared: Arc<GroupShared>,
    received: Arc<AtomicU64>,
}

struct GroupShared {
    size: usize,
    barrier: Barrier,
    slots: Mutex<Vec<Vec<f64>>>,
}

impl ThreadGroup {
    /// The `size` members of a new group, rank 0 first.
    pub fn new(size: usize) -> Vec<ThreadGroup> {
        let size = size.max(1);
        let shared = Arc::new(GroupShared {
            size,
            barrier: Barrier::new(size),
            slots: Mutex::new(vec![Vec::new(); size]),
        });
        (0..size)
            .map(|rank| ThreadGroup {
                rank,
                shared: shared.clone(),
                received: Arc::new(AtomicU64::new(0)),
            })
            .collect()
    }

    /// Posts `local`, waits for every rank, reads all posts with `read`, waits again
    /// (so no rank overwrites its slot while another is reading).
    fn exchange<T>(&self, local: &[f64], read: impl FnOnce(&[Vec<f64>]) -> T) -> T {
        self.shared.slots.lock().unwrap_or_else(|e| e.into_inner())[self.rank] = local.to_vec();
        self.shared.barrier.wait();
        let out = {
            let slots = self.shared.slots.lock().unwrap_or_else(|e| e.into_inner());
            let others: usize = slots
                .iter()
                .enumerate()
                .filter(|(r, _)| *r != self.rank)
                .map(|(_, s)| s.len())
                .sum();
            self.received.fetch_add(8 * others as u64, Ordering::Relaxed);
            read(&slots)
        };
        self.shared.barrier.wait();
        out
    }
}

impl Exchange for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.shared.size
    }
    fn all_gather(&self, local: &[f64], counts: &[usize]) -> Vec<f64> {
        debug_assert_eq!(counts.get(self.rank), Some(&local.len()));
        self.exchange(local, |slots| slots.concat())
    }
    fn all_sum(&self, values: &mut [f64]) {
        let sum = self.exchange(values, |slots| {
            let mut sum = vec![0.0; values.len()];
            for s in slots {
                for (a, b) in sum.iter_mut().zip(s) {
                    *a += b;
                }
            }
            sum
        });
        values.copy_from_slice(&sum);
    }
    fn bytes_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_group_gathers_in_rank_order_and_sums() {
        let group = ThreadGroup::new(3);
        let out: Vec<(Vec<f64>, Vec<f64>, u64)> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .iter()
                .map(|g| {
                    s.spawn(move || {
                        let r = g.rank();
                        let local: Vec<f64> = (0..r + 1).map(|i| (10 * r + i) as f64).collect();
                        let all = g.all_gather(&local, &[1, 2, 3]);
                        let mut v = vec![r as f64, 1.0];
                        g.all_sum(&mut v);
                        (all, v, g.bytes_received())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (r, (all, v, bytes)) in out.iter().enumerate() {
            assert_eq!(all, &[0.0, 10.0, 11.0, 20.0, 21.0, 22.0]);
            assert_eq!(v, &[3.0, 3.0]);
            // the gather brings in the other ranks' entries, the sum their two values
            assert_eq!(*bytes, 8 * ((6 - (r + 1)) + 2 * 2) as u64);
        }
    }
}
