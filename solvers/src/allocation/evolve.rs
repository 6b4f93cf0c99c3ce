//! Evolutionary refinement of an allocation under a black-box evaluator, as in EvoPress: when
//! per-layer distortions do not add up (the joint distortion of a network is not their sum), start
//! from the DP's allocation and search with budget-preserving mutations — 1 to `max_flips`
//! pairs of moves, one layer to its next cheaper option and another to its next dearer one —
//! `offspring` children per generation, selected in stages (the evaluator may use a growing
//! calibration set per stage: cheap screening first, the full evaluation for the few survivors),
//! keeping the parent unless a child beats it on the last stage.

use super::instance::Mckp;
use crate::error::{Result, SolverError};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Measures an allocation (option index per layer); smaller is better.
pub trait Evaluator {
    /// Number of selection stages (each may use more calibration data than the last).
    fn stages(&self) -> usize {
        1
    }
    /// The distortion of `choice` measured at `stage` (0-based; the last stage is the one
    /// that decides).
    fn evaluate(&mut self, choice: &[usize], stage: usize) -> Result<f64>;
}

/// The additive model: Σ_l values\[l\]\[k_l\] — what the DP optimises (so refinement under it
/// cannot improve on the DP; it is the default and the reference for tests).
pub struct Additive<'a> {
    /// Per-layer option values.
    pub values: &'a [Vec<f64>],
}

impl Evaluator for Additive<'_> {
    fn evaluate(&mut self, choice: &[usize], _stage: usize) -> Result<f64> {
        Ok(self.values.iter().zip(choice).map(|(v, &k)| v[k]).sum())
    }
}

/// Search settings.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EvolveSettings {
    /// Generations.
    pub generations: usize,
    /// Children per generation (EvoPress: 64).
    pub offspring: usize,
    /// Most move pairs per child (EvoPress: 3).
    pub max_flips: usize,
    /// Survivors after each stage but the last (e.g. `[16, 4]` for three stages).
    pub survivors: Vec<usize>,
    /// Seed.
    pub seed: u64,
}

impl Default for EvolveSettings {
    fn default() -> Self {
        Self {
            generations: 50,
            offspring: 64,
            max_flips: 3,
            survivors: vec![16, 4],
            seed: 0,
        }
    }
}

/// The refined allocation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EvolveResult {
    /// Option index per layer.
    pub choice: Vec<usize>,
    /// Its last-stage evaluation.
    pub value: f64,
    /// The starting allocation's last-stage evaluation.
    pub start_value: f64,
    /// Best last-stage value after each generation.
    pub history: Vec<f64>,
    /// Evaluator calls.
    pub evaluations: usize,
}

/// The search in progress: the parent, its value, the generator and the move tables.
pub struct EvolveState {
    /// The current allocation (option index per layer).
    pub choice: Vec<usize>,
    /// Its last-stage evaluation.
    pub value: f64,
    /// The start's last-stage evaluation.
    pub start_value: f64,
    /// Best value after each generation.
    pub history: Vec<f64>,
    /// Evaluator calls.
    pub evaluations: usize,
    order: Vec<Vec<usize>>,
    rank: Vec<Vec<usize>>,
    rng: ChaCha8Rng,
}

impl EvolveState {
    /// Checks the start and evaluates it.
    pub fn new(p: &Mckp, start: &[usize], eval: &mut dyn Evaluator, s: &EvolveSettings) -> Result<Self> {
        if start.len() != p.layers() || start.iter().zip(&p.costs).any(|(&k, c)| k >= c.len()) {
            return Err(SolverError::NotApplicable(format!(
                "start allocation has {} layers (or an option out of range), the problem {}",
                start.len(),
                p.layers()
            )));
        }
        if p.cost_of(start) > p.budget {
            return Err(SolverError::Infeasible(
                "the start allocation exceeds the budget".into(),
            ));
        }
        if s.offspring == 0 || s.max_flips == 0 {
            return Err(SolverError::setting("offspring/max_flips", 0, "must be ≥ 1"));
        }
        // Options of each layer by increasing cost, and each option's position in that order.
        let order: Vec<Vec<usize>> = p
            .costs
            .iter()
            .map(|c| {
                let mut o: Vec<usize> = (0..c.len()).collect();
                o.sort_by_key(|&k| (c[k], k));
                o
            })
            .collect();
        let rank: Vec<Vec<usize>> = order
            .iter()
            .map(|o| {
                let mut r = vec![0; o.len()];
                for (i, &k) in o.iter().enumerate() {
                    r[k] = i;
                }
                r
            })
            .collect();
        let stages = eval.stages().max(1);
        let start_value = eval.evaluate(start, stages - 1)?;
        Ok(Self {
            choice: start.to_vec(),
            value: start_value,
            start_value,
            history: Vec::new(),
            evaluations: 1,
            order,
            rank,
            rng: ChaCha8Rng::seed_from_u64(s.seed),
        })
    }

    /// One generation: children by paired one-level moves that fit the budget, staged
    /// selection, and the best child replaces the parent if it beats it on the last stage.
    pub fn generation(&mut self, p: &Mckp, eval: &mut dyn Evaluator, s: &EvolveSettings) -> Result<()> {
        let stages = eval.stages().max(1);
        let nl = p.layers();
        let mut children: Vec<Vec<usize>> = Vec::with_capacity(s.offspring);
        let mut attempts = 0;
        while children.len() < s.offspring && attempts < 100 * s.offspring {
            attempts += 1;
            let mut child = self.choice.clone();
            let flips = 1 + (self.rng.next_u64() % s.max_flips as u64) as usize;
            for _ in 0..flips {
                let a = (self.rng.next_u64() % nl as u64) as usize;
                let b = (self.rng.next_u64() % nl as u64) as usize;
                let (ra, rb) = (self.rank[a][child[a]], self.rank[b][child[b]]);
                if a == b || ra == 0 || rb + 1 >= self.order[b].len() {
                    continue;
                }
                child[a] = self.order[a][ra - 1];
                child[b] = self.order[b][rb + 1];
            }
            if child != self.choice && p.cost_of(&child) <= p.budget {
                children.push(child);
            }
        }
        let mut pool: Vec<(f64, Vec<usize>)> = children.into_iter().map(|c| (f64::INFINITY, c)).collect();
        for stage in 0..stages {
            for c in pool.iter_mut() {
                c.0 = eval.evaluate(&c.1, stage)?;
                self.evaluations += 1;
            }
            pool.sort_by(|x, y| x.0.total_cmp(&y.0));
            let keep = if stage + 1 == stages {
                1
            } else {
                s.survivors.get(stage).copied().unwrap_or(1).max(1)
            };
            pool.truncate(keep);
        }
        if let Some((v, c)) = pool.into_iter().next() {
            if v < self.value {
                self.value = v;
                self.choice = c;
            }
        }
        self.history.push(self.value);
        Ok(())
    }
}

/// Refines `start` (which must fit `p.budget`) under `eval` for `s.generations` generations;
/// `progress(generation, best)` is called after each. Every child fits the budget. (The same
/// search runs through the shared loop as [`super::solver::EvolveSolver`].)
pub fn evolve(
    p: &Mckp,
    start: &[usize],
    eval: &mut dyn Evaluator,
    s: &EvolveSettings,
    progress: &mut dyn FnMut(usize, f64),
) -> Result<EvolveResult> {
    let mut st = EvolveState::new(p, start, eval, s)?;
    for g in 0..s.generations {
        st.generation(p, eval, s)?;
        progress(g + 1, st.value);
    }
    Ok(EvolveResult {
        choice: st.choice,
        value: st.value,
        start_value: st.start_value,
        history: st.history,
        evaluations: st.evaluations,
    })
}
