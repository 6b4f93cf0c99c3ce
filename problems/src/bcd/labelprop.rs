//! Graph label propagation: minimise `½ Σ_(i,j) w_ij (x_i − x_j)²` over the unlabelled nodes
//! with the labelled ones fixed. The quadratic has `Q` = the graph Laplacian restricted to the
//! unlabelled nodes and `c` = the weighted labels of labelled neighbours.

use super::{Graph, Penalty, QuadraticProblem};
use crate::error::{ProblemError, Result};
use solvent_linalg::CsrMatrix;
use std::path::Path;

/// A label-propagation problem and the map between its unknowns and the graph's nodes.
#[derive(Clone, Debug)]
pub struct LabelPropagation {
    /// The quadratic over the unlabelled nodes.
    pub problem: QuadraticProblem,
    /// Graph node of each unknown.
    pub unlabelled: Vec<usize>,
    /// Label of each node (None for unlabelled ones).
    pub labels: Vec<Option<f64>>,
}

fn find(parent: &mut [usize], mut a: usize) -> usize {
    while parent[a] != a {
        parent[a] = parent[parent[a]];
        a = parent[a];
    }
    a
}

impl LabelPropagation {
    /// The lattice problem of the BCD paper's experiments: a `side × side` lattice, each
    /// node labelled with probability `fraction`, labels ±1 at random (at least one node
    /// is labelled); reproducible from `seed`.
    pub fn lattice(side: usize, fraction: f64, seed: u64) -> Result<Self> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(ProblemError::Invalid(format!(
                "the labelled fraction must lie in (0, 1), got {fraction}"
            )));
        }
        let g = Graph::lattice(side, side)?;
        let mut s = seed ^ 0x1a77;
        let mut labels = Vec::new();
        for i in 0..side * side {
            if unit_uniform(&mut s) < fraction {
                labels.push((i, if unit_uniform(&mut s) < 0.5 { -1.0 } else { 1.0 }));
            }
        }
        if labels.is_empty() {
            labels.push((0, 1.0));
        }
        Self::new(&g, &labels)
    }

    /// Builds the problem from a graph and `(node, value)` labels. Every group of connected
    /// unlabelled nodes must reach a labelled node (otherwise its values are undetermined).
    pub fn new(graph: &Graph, labels: &[(usize, f64)]) -> Result<Self> {
        let n = graph.nodes();
        let mut lab: Vec<Option<f64>> = vec![None; n];
        for &(i, v) in labels {
            if i >= n {
                return Err(ProblemError::Invalid(format!(
                    "label for node {i}, but the graph has {n} nodes"
                )));
            }
            if !v.is_finite() {
                return Err(ProblemError::Invalid(format!("label of node {i} is {v}")));
            }
            if lab[i].is_some() {
                return Err(ProblemError::Invalid(format!("node {i} is labelled twice")));
            }
            lab[i] = Some(v);
        }
        let unlabelled: Vec<usize> = (0..n).filter(|&i| lab[i].is_none()).collect();
        if unlabelled.is_empty() || unlabelled.len() == n {
            return Err(ProblemError::Invalid(format!(
                "{} of {n} nodes are labelled: label propagation needs labelled and unlabelled nodes",
                n - unlabelled.len()
            )));
        }
        let mut index = vec![usize::MAX; n];
        for (k, &i) in unlabelled.iter().enumerate() {
            index[i] = k;
        }
        let m = unlabelled.len();
        let mut trip = Vec::new();
        let mut diag = vec![0.0; m];
        let mut c = vec![0.0; m];
        let mut constant = 0.0;
        let mut parent: Vec<usize> = (0..m).collect();
        let mut anchored = vec![false; m];
        for &(i, j, w) in graph.edges() {
            let (i, j) = (i as usize, j as usize);
            match (lab[i], lab[j]) {
                (None, None) => {
                    let (a, b) = (index[i], index[j]);
                    diag[a] += w;
                    diag[b] += w;
                    trip.push((a, b, -w));
                    trip.push((b, a, -w));
                    let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                    parent[ra] = rb;
                }
                (None, Some(y)) | (Some(y), None) => {
                    let a = index[if lab[i].is_none() { i } else { j }];
                    diag[a] += w;
                    c[a] += w * y;
                    constant += 0.5 * w * y * y;
                    anchored[a] = true;
                }
                (Some(a), Some(b)) => constant += 0.5 * w * (a - b) * (a - b),
            }
        }
        let mut root_ok = vec![false; m];
        for a in 0..m {
            if anchored[a] {
                let r = find(&mut parent, a);
                root_ok[r] = true;
            }
        }
        for a in 0..m {
            let r = find(&mut parent, a);
            if !root_ok[r] {
                return Err(ProblemError::Invalid(format!(
                    "node {} is connected to no labelled node: its value is undetermined",
                    unlabelled[a]
                )));
            }
        }
        for (a, &d) in diag.iter().enumerate() {
            trip.push((a, a, d));
        }
        let q = CsrMatrix::from_triplets(m, m, &trip)?;
        Ok(Self {
            problem: QuadraticProblem::new(q, c, constant, Penalty::None)?,
            unlabelled,
            labels: lab,
        })
    }

    /// Reads `node value` lines (whitespace or comma separated; `#` comments).
    pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<(usize, f64)>> {
        let path = path.as_ref();
        let text = solvent_linalg::io::read_text(path)?;
        let mut out = Vec::new();
        for (k, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let f = super::graph::fields(line);
            let bad = || {
                ProblemError::Invalid(format!(
                    "{}:{}: expected \"node value\", got \"{line}\"",
                    path.display(),
                    k + 1
                ))
            };
            if f.len() != 2 {
                return Err(bad());
            }
            let i: usize = f[0].parse().map_err(|_| bad())?;
            let v: f64 = f[1].parse().map_err(|_| bad())?;
            if !v.is_finite() {
                return Err(ProblemError::Invalid(format!(
                    "{}:{}: label is {v}",
                    path.display(),
                    k + 1
                )));
            }
            out.push((i, v));
        }
        Ok(out)
    }

    /// The value of every graph node: labels where given, `x` elsewhere.
    pub fn node_values(&self, x: &[f64]) -> Vec<f64> {
        let mut out: Vec<f64> = self.labels.iter().map(|l| l.unwrap_or(0.0)).collect();
        for (&node, &v) in self.unlabelled.iter().zip(x) {
            out[node] = v;
        }
        out
    }
}

/// A uniform draw in [0, 1) from a splitmix64 state (the lattice's labelled nodes).
fn unit_uniform(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}
