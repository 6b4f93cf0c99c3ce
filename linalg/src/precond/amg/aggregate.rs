//! Greedy aggregation of the strength graph (Vaněk, Mandel and Brezina 1996;
//! pyamg's `standard_aggregation`).

/// The node is in no aggregate (it has no strong neighbour: a decoupled row,
/// which the smoother alone handles, as in pyamg).
pub(super) const UNAGGREGATED: u32 = u32::MAX;

/// Aggregates of the graph `(ptr, idx)` (strong neighbours, symmetric or not):
/// `agg[i]` is node `i`'s aggregate or [`UNAGGREGATED`], and the count.
///
/// 1. A node none of whose neighbours is aggregated yet becomes the root of a new
///    aggregate holding it and all its neighbours.
/// 2. A node left over joins the first aggregated neighbour's aggregate (from
///    pass 1).
/// 3. A node still left over roots a new aggregate with its free neighbours.
///
/// The order is the natural node order, so the result is deterministic.
pub(super) fn aggregate(ptr: &[u32], idx: &[u32]) -> (Vec<u32>, usize) {
    let n = ptr.len() - 1;
    let nbrs = |i: usize| &idx[ptr[i] as usize..ptr[i + 1] as usize];
    let mut agg = vec![UNAGGREGATED; n];
    let mut count = 0u32;
    // pass 1: roots with all neighbours free
    for i in 0..n {
        if agg[i] != UNAGGREGATED || nbrs(i).is_empty() {
            continue;
        }
        if nbrs(i).iter().all(|&j| agg[j as usize] == UNAGGREGATED) {
            agg[i] = count;
            for &j in nbrs(i) {
                agg[j as usize] = count;
            }
            count += 1;
        }
    }
    let pass1 = count;
    // pass 2: join a neighbouring pass-1 aggregate
    let before = agg.clone();
    for (i, a) in agg.iter_mut().enumerate() {
        if *a != UNAGGREGATED {
            continue;
        }
        if let Some(&j) = nbrs(i).iter().find(|&&j| before[j as usize] < pass1) {
            *a = before[j as usize];
        }
    }
    // pass 3: what is left roots new aggregates with its free neighbours
    for i in 0..n {
        if agg[i] != UNAGGREGATED || nbrs(i).is_empty() {
            continue;
        }
        agg[i] = count;
        for &j in nbrs(i) {
            if agg[j as usize] == UNAGGREGATED {
                agg[j as usize] = count;
            }
        }
        count += 1;
    }
    (agg, count as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_graph(n: usize) -> (Vec<u32>, Vec<u32>) {
        let mut ptr = vec![0u32];
        let mut idx = Vec::new();
        for i in 0..n {
            if i > 0 {
                idx.push(i as u32 - 1);
            }
            if i + 1 < n {
                idx.push(i as u32 + 1);
            }
            ptr.push(idx.len() as u32);
        }
        (ptr, idx)
    }

    #[test]
    fn a_path_splits_into_triples_and_every_coupled_node_is_aggregated() {
        let (p, i) = path_graph(9);
        let (agg, count) = aggregate(&p, &i);
        // pass 1 roots {0,1}, {2,3,4}, {5,6,7}; pass 2 adds 8 to the last
        assert!(agg.iter().all(|&a| (a as usize) < count));
        for c in 0..count as u32 {
            let members: Vec<usize> = (0..9).filter(|&k| agg[k] == c).collect();
            assert!(!members.is_empty() && members.len() <= 4, "{members:?}");
            assert_eq!(
                members.last().unwrap() - members[0] + 1,
                members.len(),
                "contiguous"
            );
        }
        assert_eq!(count, 3, "{agg:?}");
        assert_eq!(agg, vec![0, 0, 1, 1, 1, 2, 2, 2, 2]);
        // an isolated node stays unaggregated
        let (agg, count) = aggregate(&[0, 1, 2, 2], &[1, 0]);
        assert_eq!(agg, vec![0, 0, UNAGGREGATED]);
        assert_eq!(count, 1);
    }

    #[test]
    fn a_grid_aggregates_cover_each_node_once_with_connected_aggregates() {
        // 2-D 10×10 5-point graph
        let m = 10;
        let mut ptr = vec![0u32];
        let mut idx = Vec::new();
        for r in 0..m {
            for c in 0..m {
                let k = r * m + c;
                for (dr, dc) in [(-1i32, 0i32), (0, -1), (0, 1), (1, 0)] {
                    let (rr, cc) = (r as i32 + dr, c as i32 + dc);
                    if (0..m as i32).contains(&rr) && (0..m as i32).contains(&cc) {
                        idx.push((rr as usize * m + cc as usize) as u32);
                    }
                }
                let _ = k;
                ptr.push(idx.len() as u32);
            }
        }
        let (agg, count) = aggregate(&ptr, &idx);
        assert!(agg.iter().all(|&a| (a as usize) < count));
        // coarsening by roughly the stencil size
        assert!((100 / 6..=100 / 3).contains(&count), "{count} aggregates");
        // each aggregate is connected in the graph
        for c in 0..count as u32 {
            let members: Vec<usize> = (0..m * m).filter(|&k| agg[k] == c).collect();
            let mut seen = vec![members[0]];
            let mut stack = vec![members[0]];
            while let Some(u) = stack.pop() {
                for &v in &idx[ptr[u] as usize..ptr[u + 1] as usize] {
                    let v = v as usize;
                    if agg[v] == c && !seen.contains(&v) {
                        seen.push(v);
                        stack.push(v);
                    }
                }
            }
            assert_eq!(seen.len(), members.len(), "aggregate {c} is connected");
        }
    }
}
