//! Orderings of a sequence of related systems so that neighbours in the
//! solve order are similar (the "sort" in sorted Krylov recycling).

use rayon::prelude::*;

/// Greedy nearest-neighbour order of `fields` (each a parameter vector of the
/// same length, e.g. a coefficient field): start at `start`, then repeatedly
/// append the unvisited field closest in Euclidean (Frobenius) distance.
/// Ties go to the lowest index, so the order is deterministic. Cost
/// O(K² · d), with the distance scan parallel over candidates.
///
/// Returns a permutation of `0..K`; empty input gives an empty order.
///
/// # Panics
/// If the fields do not all have the same length or `start` is out of range
/// for non-empty input.
pub fn greedy_nearest_neighbour(fields: &[&[f64]], start: usize) -> Vec<usize> {
    let k = fields.len();
    if k == 0 {
        return Vec::new();
    }
    assert!(start < k, "start index {start} out of range for {k} fields");
    let d = fields[0].len();
    assert!(
        fields.iter().all(|f| f.len() == d),
        "fields must all have the same length"
    );
    let mut visited = vec![false; k];
    let mut order = Vec::with_capacity(k);
    let mut current = start;
    visited[current] = true;
    order.push(current);
    let dist2 = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    while order.len() < k {
        let here = fields[current];
        let best = (0..k)
            .into_par_iter()
            .filter(|&j| !visited[j])
            .map(|j| (dist2(here, fields[j]), j))
            .reduce(
                || (f64::INFINITY, usize::MAX),
                |a, b| {
                    if b.0 < a.0 || (b.0 == a.0 && b.1 < a.1) {
                        b
                    } else {
                        a
                    }
                },
            );
        current = best.1;
        visited[current] = true;
        order.push(current);
    }
    order
}

/// The field farthest from the centroid of all fields: an "end" of the
/// cloud, a better start for the greedy chain than an arbitrary point (on a
/// line it is an endpoint, so the chain walks the line once).
pub fn extreme_start(fields: &[&[f64]]) -> usize {
    if fields.is_empty() {
        return 0;
    }
    let d = fields[0].len();
    let mut centre = vec![0.0; d];
    for f in fields {
        for (c, v) in centre.iter_mut().zip(f.iter()) {
            *c += v;
        }
    }
    centre.iter_mut().for_each(|c| *c /= fields.len() as f64);
    let dist = |f: &[f64]| f.iter().zip(&centre).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    (0..fields.len())
        .max_by(|&a, &b| dist(fields[a]).total_cmp(&dist(fields[b])).then(b.cmp(&a)))
        .unwrap_or(0)
}

/// Dimensions of the random projection in [`projected_chunk_order`].
pub const PROJECTION_DIM: usize = 16;

/// An ordering for many systems (large K) in `O(K · (d·p + chunk·p))`
/// instead of the greedy chain's `O(K² d)`: each field is reduced to
/// `p =` [`PROJECTION_DIM`] features by a seeded Gaussian random projection
/// (distances kept to a few tens of percent, Johnson–Lindenstrauss), the
/// systems are sorted along the first projected feature and cut into chunks
/// of `chunk`, and each chunk is chained greedily in feature space, starting
/// from the member closest to where the previous chunk ended.
///
/// Trade-off: neighbours across chunk boundaries and along the other
/// projected directions are only approximately close, so the chain is
/// somewhat longer than the full greedy chain; measured on the solve, not
/// guaranteed.
pub fn projected_chunk_order(fields: &[&[f64]], chunk: usize, seed: u64) -> Vec<usize> {
    let k = fields.len();
    if k == 0 {
        return Vec::new();
    }
    let d = fields[0].len();
    let p = PROJECTION_DIM;
    // deterministic pseudo-normal projection (sum of 4 uniforms, centred)
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let proj: Vec<f64> = (0..p * d)
        .map(|_| (next() + next() + next() + next() - 2.0) * 3f64.sqrt())
        .collect();
    let feats: Vec<Vec<f64>> = fields
        .par_iter()
        .map(|f| {
            (0..p)
                .map(|r| {
                    proj[r * d..(r + 1) * d]
                        .iter()
                        .zip(f.iter())
                        .map(|(a, b)| a * b)
                        .sum()
                })
                .collect()
        })
        .collect();
    let mut by_first: Vec<usize> = (0..k).collect();
    by_first.sort_by(|&a, &b| feats[a][0].total_cmp(&feats[b][0]).then(a.cmp(&b)));
    let chunk = chunk.max(1);
    let dist2 = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let mut order: Vec<usize> = Vec::with_capacity(k);
    for members in by_first.chunks(chunk) {
        let local: Vec<&[f64]> = members.iter().map(|&i| feats[i].as_slice()).collect();
        let start = match order.last() {
            Some(&last) => (0..members.len())
                .min_by(|&a, &b| {
                    dist2(local[a], feats[last].as_slice())
                        .total_cmp(&dist2(local[b], feats[last].as_slice()))
                })
                .unwrap_or(0),
            None => extreme_start(&local),
        };
        order.extend(
            greedy_nearest_neighbour(&local, start)
                .into_iter()
                .map(|j| members[j]),
        );
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_permutation_and_each_step_takes_the_nearest_unvisited() {
        // pseudo-random 5-dimensional points
        let pts: Vec<Vec<f64>> = (0..40)
            .map(|i| {
                (0..5)
                    .map(|j| (((i * 37 + j * 11) * 7919) % 1009) as f64 / 1009.0)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f64]> = pts.iter().map(Vec::as_slice).collect();
        let order = greedy_nearest_neighbour(&refs, 3);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..40).collect::<Vec<_>>());
        assert_eq!(order[0], 3);
        // brute force: at every step no unvisited point is strictly closer
        let d2 = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
        for s in 1..order.len() {
            let (prev, chosen) = (order[s - 1], order[s]);
            for &other in &order[s + 1..] {
                assert!(d2(&pts[prev], &pts[chosen]) <= d2(&pts[prev], &pts[other]));
            }
        }
    }

    #[test]
    fn points_on_a_line_come_out_in_line_order() {
        let xs = [0.9, 0.1, 0.5, 0.3, 0.7, 0.0, 0.2];
        let pts: Vec<Vec<f64>> = xs.iter().map(|&x| vec![x, 2.0 * x]).collect();
        let refs: Vec<&[f64]> = pts.iter().map(Vec::as_slice).collect();
        let order = greedy_nearest_neighbour(&refs, 5); // start at 0.0
        let visited: Vec<f64> = order.iter().map(|&i| xs[i]).collect();
        assert_eq!(visited, vec![0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]);
        assert!(greedy_nearest_neighbour(&[], 0).is_empty());
        assert_eq!(xs[extreme_start(&refs)], 0.9);
    }

    #[test]
    fn projected_chunk_order_is_a_permutation_that_follows_a_curve() {
        // points along a smooth curve in 50 dimensions, shuffled
        let k = 300;
        let pts: Vec<Vec<f64>> = (0..k)
            .map(|i| {
                let t = ((i * 7919) % k) as f64 / k as f64;
                (0..50)
                    .map(|j| (t * (1.0 + j as f64 * 0.05)).sin() * 10.0)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f64]> = pts.iter().map(Vec::as_slice).collect();
        let order = projected_chunk_order(&refs, 64, 1);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..k).collect::<Vec<_>>());
        let d = |a: usize, b: usize| {
            pts[a]
                .iter()
                .zip(&pts[b])
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt()
        };
        let chain: f64 = order.windows(2).map(|w| d(w[0], w[1])).sum();
        let given: f64 = (1..k).map(|i| d(i - 1, i)).sum();
        // the shuffled input order jumps all over the curve; the chain follows it
        assert!(chain < 0.2 * given, "chain {chain:.1} vs input order {given:.1}");
        assert!(projected_chunk_order(&[], 8, 0).is_empty());
    }
}
