//! Block builders: fixed partitions of the coordinates (contiguous, sorted by Lipschitz
//! constant, alternating small/large), graph partitions whose blocks are forests of `Q`'s graph
//! (red–black colouring, tree partition), and the greedy tree (a variable block grown from the
//! coordinates with the largest scores while it stays a forest).

use solvent_linalg::CsrMatrix;

/// Contiguous blocks of `size` (the last may be smaller).
pub fn order(n: usize, size: usize) -> Vec<Vec<usize>> {
    (0..n)
        .step_by(size)
        .map(|a| (a..(a + size).min(n)).collect())
        .collect()
}

/// Coordinates sorted by `L_i`, then cut into contiguous blocks: similar constants share a block.
pub fn sort(lip: &[f64], size: usize) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..lip.len()).collect();
    idx.sort_by(|&a, &b| lip[a].total_cmp(&lip[b]).then(a.cmp(&b)));
    idx.chunks(size).map(|c| c.to_vec()).collect()
}

/// Each block takes alternately from the small and the large end of the sorted constants, so
/// every block has about the average constant.
pub fn avg(lip: &[f64], size: usize) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..lip.len()).collect();
    idx.sort_by(|&a, &b| lip[a].total_cmp(&lip[b]).then(a.cmp(&b)));
    let (mut lo, mut hi) = (0usize, idx.len());
    let mut inter = Vec::with_capacity(idx.len());
    while lo < hi {
        inter.push(idx[lo]);
        lo += 1;
        if lo < hi {
            hi -= 1;
            inter.push(idx[hi]);
        }
    }
    inter.chunks(size).map(|c| c.to_vec()).collect()
}

/// Greedy colouring of `Q`'s graph: each colour class is an independent set, so its block of
/// `Q` is diagonal (red–black blocks on a lattice).
pub fn red_black(q: &CsrMatrix) -> Vec<Vec<usize>> {
    let n = q.nrows();
    let mut colour = vec![usize::MAX; n];
    let mut used: Vec<usize> = Vec::new();
    for v in 0..n {
        used.clear();
        for &u in q.row(v).0 {
            let c = colour[u as usize];
            if u as usize != v && c != usize::MAX {
                used.push(c);
            }
        }
        used.sort_unstable();
        used.dedup();
        let mut c = 0;
        while used.binary_search(&c).is_ok() {
            c += 1;
        }
        colour[v] = c;
    }
    let k = colour.iter().max().map_or(0, |m| m + 1);
    let mut blocks = vec![Vec::new(); k];
    for (v, &c) in colour.iter().enumerate() {
        blocks[c].push(v);
    }
    blocks
}

/// Union–find over graph nodes.
#[derive(Clone, Debug)]
pub struct Dsu {
    parent: Vec<u32>,
}

impl Dsu {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
        }
    }
    /// The representative of `a`.
    pub fn find(&mut self, mut a: usize) -> usize {
        while self.parent[a] as usize != a {
            let g = self.parent[self.parent[a] as usize];
            self.parent[a] = g;
            a = g as usize;
        }
        a
    }
    /// Joins the sets of `a` and `b`.
    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra] = rb as u32;
        }
    }
    /// Makes `a` a singleton again (only valid when nothing points to it).
    pub fn reset(&mut self, a: usize) {
        self.parent[a] = a as u32;
    }
}

/// Whether adding `v` to the forest `member` keeps it acyclic: `v`'s neighbours in the forest
/// must lie in distinct trees. `roots` is scratch.
fn fits(q: &CsrMatrix, v: usize, member: &[bool], dsu: &mut Dsu, roots: &mut Vec<usize>) -> bool {
    roots.clear();
    for &u in q.row(v).0 {
        let u = u as usize;
        if u != v && member[u] {
            roots.push(dsu.find(u));
        }
    }
    let k = roots.len();
    roots.sort_unstable();
    roots.dedup();
    roots.len() == k
}

fn join(q: &CsrMatrix, v: usize, member: &mut [bool], dsu: &mut Dsu) {
    member[v] = true;
    for &u in q.row(v).0 {
        let u = u as usize;
        if u != v && member[u] {
            dsu.union(v, u);
        }
    }
}

/// Tree partition: each node joins the first forest it keeps acyclic (a new forest when none
/// does). On a 50 × 50 lattice in row-major order this gives two forests of 1686 and 813 nodes
/// (not the ideal pair of combs, which converges faster; balancing the two by moving nodes did
/// not help).
pub fn trees(q: &CsrMatrix) -> Vec<Vec<usize>> {
    let n = q.nrows();
    let mut forests: Vec<(Vec<bool>, Dsu, Vec<usize>)> = Vec::new();
    let mut roots = Vec::new();
    for v in 0..n {
        let mut placed = false;
        for (member, dsu, nodes) in forests.iter_mut() {
            if fits(q, v, member, dsu, &mut roots) {
                join(q, v, member, dsu);
                nodes.push(v);
                placed = true;
                break;
            }
        }
        if !placed {
            let mut member = vec![false; n];
            let mut dsu = Dsu::new(n);
            join(q, v, &mut member, &mut dsu);
            forests.push((member, dsu, vec![v]));
        }
    }
    forests.into_iter().map(|f| f.2).collect()
}

/// Scratch for [`greedy_tree`], reset after each use so a call costs what it visits.
#[derive(Clone, Debug)]
pub struct GreedyScratch {
    member: Vec<bool>,
    dsu: Dsu,
    roots: Vec<usize>,
}

impl GreedyScratch {
    /// Scratch for a graph of `n` nodes.
    pub fn new(n: usize) -> Self {
        Self {
            member: vec![false; n],
            dsu: Dsu::new(n),
            roots: Vec::new(),
        }
    }
}

/// Greedy tree: visits `candidates` (best first) and keeps each one that leaves the block a
/// forest of `Q`'s graph, up to `cap` nodes.
pub fn greedy_tree(q: &CsrMatrix, candidates: &[usize], cap: usize, s: &mut GreedyScratch) -> Vec<usize> {
    let mut block = Vec::new();
    for &v in candidates {
        if block.len() >= cap {
            break;
        }
        if fits(q, v, &s.member, &mut s.dsu, &mut s.roots) {
            join(q, v, &mut s.member, &mut s.dsu);
            block.push(v);
        }
    }
    for &v in &block {
        s.member[v] = false;
        s.dsu.reset(v);
    }
    block
}
