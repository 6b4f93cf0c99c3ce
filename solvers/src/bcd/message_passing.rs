//! Exact solves `Q_bb x = c` on blocks whose graph (the sparsity of `Q` restricted to the
//! block) is a forest, in O(|b| + edges): Gaussian elimination from the leaves to the roots
//! creates no fill, then back-substitution from the roots down. This is Gaussian belief
//! propagation on a tree, exact; it is what makes huge tree-structured blocks practical.

use solvent_linalg::CsrMatrix;

const NONE: u32 = u32::MAX;

/// A forest-structured block, ready to solve. Nodes are stored in depth-first preorder (a
/// parent before its subtree), so elimination runs backwards over the arrays and
/// back-substitution forwards, both streaming memory: along a path or a comb's tooth a node's
/// parent is its predecessor.
#[derive(Clone, Debug)]
pub struct Forest {
    /// Block-local node at each position.
    order: Vec<u32>,
    /// Position of each position's parent (`NONE` for roots).
    parent: Vec<u32>,
    /// `Q[node, parent]` by position.
    weight: Vec<f64>,
    /// `Q[node, node]` by position.
    diag: Vec<f64>,
}

/// Scratch for [`Forest::build`]: a position per matrix row, reset after each use.
#[derive(Clone, Debug, Default)]
pub struct ForestScratch {
    pos: Vec<u32>,
    b: Vec<f64>,
    d: Vec<f64>,
}

impl Forest {
    /// The forest of `block` in `Q`'s graph, or `None` when the block's graph has a cycle.
    /// Costs the entries of the block's rows.
    pub fn build(q: &CsrMatrix, block: &[usize], scratch: &mut ForestScratch) -> Option<Self> {
        if scratch.pos.len() != q.nrows() {
            scratch.pos = vec![NONE; q.nrows()];
        }
        for (a, &k) in block.iter().enumerate() {
            scratch.pos[k] = a as u32;
        }
        let result = Self::dfs(q, block, &scratch.pos);
        for &k in block {
            scratch.pos[k] = NONE;
        }
        result
    }

    fn dfs(q: &CsrMatrix, block: &[usize], pos: &[u32]) -> Option<Self> {
        let m = block.len();
        let mut at = vec![NONE; m];
        let mut order = Vec::with_capacity(m);
        let mut parent = Vec::with_capacity(m);
        let mut weight = Vec::with_capacity(m);
        let mut diag = Vec::with_capacity(m);
        let mut stack: Vec<(u32, u32, f64)> = Vec::new();
        for root in 0..m {
            if at[root] != NONE {
                continue;
            }
            stack.push((root as u32, NONE, 0.0));
            while let Some((u, pp, w)) = stack.pop() {
                if at[u as usize] != NONE {
                    return None; // reached along two paths: a cycle
                }
                let k = order.len() as u32;
                at[u as usize] = k;
                order.push(u);
                parent.push(pp);
                weight.push(w);
                diag.push(0.0);
                let node = block[u as usize];
                let (cols, vals) = q.row(node);
                for (&v, &val) in cols.iter().zip(vals) {
                    if v as usize == node {
                        diag[k as usize] = val;
                        continue;
                    }
                    let lv = pos[v as usize];
                    if lv == NONE || val == 0.0 {
                        continue;
                    }
                    match at[lv as usize] {
                        NONE => stack.push((lv, k, val)),
                        a if a == pp => {}
                        _ => return None,
                    }
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
        self.solve_with(rhs, &mut ForestScratch::default())
    }

    /// [`Forest::solve`] with reusable work space (no allocation once it has grown).
    pub fn solve_with(&self, rhs: &mut [f64], scratch: &mut ForestScratch) -> bool {
        let m = self.order.len();
        let b = &mut scratch.b;
        let d = &mut scratch.d;
        b.clear();
        b.extend(self.order.iter().map(|&u| rhs[u as usize]));
        d.clear();
        d.extend_from_slice(&self.diag);
        for k in (0..m).rev() {
            if !(d[k] > 0.0) {
                return false;
            }
            let p = self.parent[k];
            if p != NONE {
                let f = self.weight[k] / d[k];
                d[p as usize] -= f * self.weight[k];
                b[p as usize] -= f * b[k];
            }
        }
        for k in 0..m {
            let p = self.parent[k];
            b[k] = if p == NONE {
                b[k] / d[k]
            } else {
                (b[k] - self.weight[k] * b[p as usize]) / d[k]
            };
        }
        for (k, &u) in self.order.iter().enumerate() {
            rhs[u as usize] = b[k];
        }
        true
    }
}
