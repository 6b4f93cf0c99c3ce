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
    }
}
