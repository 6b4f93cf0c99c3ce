//! Weighted undirected graphs for label propagation: edge-list files, 2-D lattices, and
//! k-nearest-neighbour graphs of point clouds (two moons).

use crate::error::{ProblemError, Result};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::path::Path;

/// The fields of a text line separated by commas and/or whitespace (edge lists, label files).
pub(crate) fn fields(line: &str) -> Vec<&str> {
    line.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect()
}

/// An undirected graph with positive edge weights. Parallel edges add up; self-loops carry
/// no information for label propagation (`w_ii (x_i − x_i)² = 0`) and are dropped.
#[derive(Clone, Debug)]
pub struct Graph {
    n: usize,
    edges: Vec<(u32, u32, f64)>,
}

impl Graph {
    /// A graph on `n` nodes; every edge's endpoints must lie below `n` and its weight must be
    /// finite and positive (the edge is named otherwise).
    pub fn new(n: usize, edges: Vec<(usize, usize, f64)>) -> Result<Self> {
        if n == 0 {
            return Err(ProblemError::Invalid("the graph has no nodes".into()));
        }
        if n > u32::MAX as usize {
            return Err(ProblemError::Invalid(format!(
                "{n} nodes: at most {} are supported",
                u32::MAX
            )));
        }
        // label propagation keeps a few values per node: check before anything is sized by n
        solvent_linalg::mem::check(n as f64 * 48.0, &format!("a graph of {n} nodes"))?;
        let mut out = Vec::with_capacity(edges.len());
        for (k, &(i, j, w)) in edges.iter().enumerate() {
            if i >= n || j >= n {
                return Err(ProblemError::Invalid(format!(
                    "edge {k} ({i}, {j}) names a node outside 0..{n}"
                )));
            }
            if !(w.is_finite() && w > 0.0) {
                return Err(ProblemError::Invalid(format!(
                    "edge {k} ({i}, {j}) has weight {w}: weights must be positive and finite"
                )));
            }
            if i != j {
                out.push((i as u32, j as u32, w));
            }
        }
        Ok(Self { n, edges: out })
    }

    /// Reads an edge list: one `i j [w]` per line (whitespace or comma separated, weight 1 when
    /// absent, node ids non-negative integers, `#` or `%` comments). The node count is the
    /// largest id + 1, or `nodes` when given and not smaller. Errors name the line.
    pub fn read_edge_list(path: impl AsRef<Path>, nodes: Option<usize>) -> Result<Self> {
        let path = path.as_ref();
        let text = solvent_linalg::io::read_text(path)?;
        let err = |ln: usize, m: String| ProblemError::Invalid(format!("{}:{ln}: {m}", path.display()));
        let mut edges = Vec::new();
        let mut max = 0usize;
        for (k, raw) in text.lines().enumerate() {
            let ln = k + 1;
            let line = raw.split(['#', '%']).next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let f = fields(line);
            if !(2..=3).contains(&f.len()) {
                return Err(err(ln, format!("expected \"i j [weight]\", got \"{line}\"")));
            }
            let node = |s: &str| -> Result<usize> {
                s.parse()
                    .map_err(|_| err(ln, format!("node id \"{s}\" is not a non-negative integer")))
            };
            let (i, j) = (node(f[0])?, node(f[1])?);
            let w = match f.get(2) {
                Some(s) => s
                    .parse::<f64>()
                    .map_err(|_| err(ln, format!("weight \"{s}\" is not a number")))?,
                None => 1.0,
            };
            if !(w.is_finite() && w > 0.0) {
                return Err(err(
                    ln,
                    format!("edge ({i}, {j}) has weight {w}: weights must be positive and finite"),
                ));
            }
            max = max.max(i).max(j);
            edges.push((i, j, w));
        }
        if edges.is_empty() {
            return Err(err(1, "no edges".into()));
        }
        let n = match nodes {
            Some(m) if m <= max => {
                return Err(err(1, format!("node {max} does not fit the {m} nodes given")));
            }
            Some(m) => m,
            None => max + 1,
        };
        Self::new(n, edges)
    }

    /// The `rows × cols` 4-neighbour lattice with unit weights; node `r·cols + c`.
    pub fn lattice(rows: usize, cols: usize) -> Result<Self> {
        let mut e = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let v = r * cols + c;
                if c + 1 < cols {
                    e.push((v, v + 1, 1.0));
                }
                if r + 1 < rows {
                    e.push((v, v + cols, 1.0));
                }
            }
        }
        Self::new(rows * cols, e)
    }

    /// Two interleaved half-moons of `n` points (noise σ), and each point's moon (0 or 1).
    pub fn two_moons(n: usize, noise: f64, seed: u64) -> (Vec<[f64; 2]>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pts = Vec::with_capacity(n);
        let mut moon = Vec::with_capacity(n);
        for k in 0..n {
            let m = k % 2;
            let t = std::f64::consts::PI * ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64);
            let (x, y) = if m == 0 {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 0.5 - t.sin())
            };
            let nx: f64 = StandardNormal.sample(&mut rng);
            let ny: f64 = StandardNormal.sample(&mut rng);
            pts.push([x + noise * nx, y + noise * ny]);
            moon.push(m);
        }
        (pts, moon)
    }

    /// The symmetrised k-nearest-neighbour graph of points, weights `exp(−d²/h²)` with `h` the
    /// median k-th neighbour distance. Brute force, O(n²): for point clouds up to ~10⁴.
    pub fn knn(points: &[[f64; 2]], k: usize) -> Result<Self> {
        let n = points.len();
        if k == 0 || k >= n {
            return Err(ProblemError::Invalid(format!(
                "k = {k} neighbours for {n} points: need 1 ≤ k < n"
            )));
        }
        let d2 = |a: &[f64; 2], b: &[f64; 2]| (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
        let mut near: Vec<Vec<(f64, usize)>> = Vec::with_capacity(n);
        for (i, p) in points.iter().enumerate() {
            let mut d: Vec<(f64, usize)> = points
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, q)| (d2(p, q), j))
                .collect();
            d.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
            d.truncate(k);
            near.push(d);
        }
        let mut kth: Vec<f64> = near
            .iter()
            .map(|d| d.iter().fold(0.0, |m: f64, e| m.max(e.0)))
            .collect();
        kth.sort_by(f64::total_cmp);
        let h2 = kth[n / 2].max(1e-300);
        let mut e: Vec<(usize, usize, f64)> = Vec::new();
        for (i, d) in near.iter().enumerate() {
            for &(dist, j) in d {
                let (a, b) = (i.min(j), i.max(j));
                e.push((a, b, (-dist / h2).exp().max(1e-300)));
            }
        }
        // an edge found from both ends is kept once
        e.sort_by_key(|x| (x.0, x.1));
        e.dedup_by(|x, y| x.0 == y.0 && x.1 == y.1);
        Self::new(n, e)
    }

    /// Nodes.
    pub fn nodes(&self) -> usize {
        self.n
    }
    /// Edges `(i, j, w)`.
    pub fn edges(&self) -> &[(u32, u32, f64)] {
        &self.edges
    }
}
