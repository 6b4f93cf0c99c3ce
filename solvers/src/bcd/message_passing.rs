//! Exact solves `Q_bb x = c` on blocks whose graph (the sparsity of `Q` restricted to the
//! block) is a forest, in O(|b| + edges): Gaussian elimination from the leaves to the roots
//! creates no fill, then back-substitution from the roots down. This is Gaussian belief
//! propagation on a tree, exact; it is what makes huge tree-structured blocks practical.

use solvent_linalg::CsrMatrix;

const NONE: u32 = u32::MAX;

/// A forest-structured block, ready to solve: nodes in breadth-first order, each node's parent
/// and coupling `Q[i, parent]`, and the diagonal.
#[derive(Clone, Debug)]
pub struct Forest {
    order: Vec<u32>,
    parent: Vec<u32>,
    weight: Vec<f64>,
    diag: Vec<f64>,
}

/// Scratch for [`Forest::build`]: a position per matrix row, reset after each use.
#[derive(Clone, Debug, Default)]
pub struct ForestScratch {
    pos: Vec<u32>,
}

impl Forest {
    /// The forest of `block` in `Q`'s graph, or `None` when the block's graph has a cycle.
    /// Costs the entries of the block's rows.
    pub fn build(q: &CsrMatrix, block: &[usize], scratch: &mut ForestScratch) -> Option<Self> {
        let m = block.len();
        if scratch.pos.len() != q.nrows() {
            scratch.pos = vec![NONE; q.nrows()];
        }
        for (a, &k) in block.iter().enumerate() {
            scratch.pos[k] = a as u32;
        }
        let result = Self::bfs(q, block, &scratch.pos);
        for &k in block {
            scratch.pos[k] = NONE;
        }
        debug_assert!(result.as_ref().is_none_or(|f| f.order.len() == m));
        result
    }

    fn bfs(q: &CsrMatrix, block: &[usize], pos: &[u32]) -> Option<Self> {
        let m = block.len();
        let mut parent = vec![NONE; m];
        let mut weight = vec![0.0; m];
        let mut diag = vec![0.0; m];
        let mut seen = vec![false; m];
        let mut order = Vec::with_capacity(m);
        for root in 0..m {
            if seen[root] {
                continue;
            }
            seen[root] = true;
            order.push(root as u32);
            let mut head = order.len() - 1;
            while head < order.len() {
                let u = order[head] as usize;
                head += 1;
                let (cols, vals) = q.row(block[u]);
                for (&v, &w) in cols.iter().zip(vals) {
                    let lv = pos[v as usize];
                    if v as usize == block[u] {
                        diag[u] = w;
                        continue;
                    }
                    if lv == NONE || lv == parent[u] || w == 0.0 {
                        continue;
                    }
                    if seen[lv as usize] {
                        return None; // a second path: the block's graph has a cycle
                    }
                    seen[lv as usize] = true;
                    parent[lv as usize] = u as u32;
                    weight[lv as usize] = w;
                    order.push(lv);
                }
            }
        }
        Some(Self {
            order,
            parent,
            weight,
            diag,
        })
    }

    /// Nodes in the block.
    pub fn len(&self) -> usize {
        self.order.len()
    }
    /// Whether the block is empty.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Solves `Q_bb x = rhs` in place (`rhs` in block order). Returns false when a pivot is not
    /// positive (the block is not positive definite).
    pub fn solve(&self, rhs: &mut [f64]) -> bool {
        let mut d = self.diag.clone();
        for &u in self.order.iter().rev() {
            let u = u as usize;
            if !(d[u] > 0.0) {
                return false;
            }
            let p = self.parent[u];
            if p != NONE {
                let f = self.weight[u] / d[u];
                d[p as usize] -= f * self.weight[u];
                rhs[p as usize] -= f * rhs[u];
            }
        }
        for &u in &self.order {
            let u = u as usize;
            let p = self.parent[u];
            rhs[u] = if p == NONE {
                rhs[u] / d[u]
            } else {
                (rhs[u] - self.weight[u] * rhs[p as usize]) / d[u]
            };
        }
        true
    }
}
