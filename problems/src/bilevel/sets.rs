//! Feasible sets with cheap Euclidean projections: the whole space, boxes, balls, the simplex
//! and the non-negative orthant.

use crate::error::{ProblemError, Result};

/// A closed convex set with a projection.
#[derive(Clone, Debug, PartialEq)]
pub enum Set {
    /// No constraint.
    Free,
    /// lo ≤ v ≤ hi componentwise (±∞ allowed).
    Box {
        /// Lower bounds.
        lo: Vec<f64>,
        /// Upper bounds.
        hi: Vec<f64>,
    },
    /// ‖v − center‖ ≤ radius.
    Ball {
        /// Centre.
        center: Vec<f64>,
        /// Radius (≥ 0).
        radius: f64,
    },
    /// v ≥ 0, Σ v = total (total > 0).
    Simplex {
        /// The sum.
        total: f64,
    },
    /// v ≥ 0.
    NonNegative,
}

impl Set {
    /// The same bounds on every coordinate.
    pub fn uniform_box(dim: usize, lo: f64, hi: f64) -> Self {
        Self::Box {
            lo: vec![lo; dim],
            hi: vec![hi; dim],
        }
    }

    /// Checks the set against a dimension: sizes, an empty box (lower > upper, naming the
    /// coordinate), NaN bounds, a negative radius, a non-positive simplex total.
    pub fn validate(&self, dim: usize, what: &str) -> Result<()> {
        let bad = |m: String| Err(ProblemError::Invalid(format!("{what}: {m}")));
        match self {
            Self::Free | Self::NonNegative => Ok(()),
            Self::Box { lo, hi } => {
                if lo.len() != dim || hi.len() != dim {
                    return bad(format!(
                        "box bounds have {} and {} entries for dimension {dim}",
                        lo.len(),
                        hi.len()
                    ));
                }
                for i in 0..dim {
                    if lo[i].is_nan() || hi[i].is_nan() {
                        return bad(format!("box bound at coordinate {i} is NaN"));
                    }
                    if lo[i] > hi[i] {
                        return bad(format!(
                            "empty box: lower bound {} > upper bound {} at coordinate {i}",
                            lo[i], hi[i]
                        ));
                    }
                }
                Ok(())
            }
            Self::Ball { center, radius } => {
                if center.len() != dim {
                    return bad(format!(
                        "ball centre has {} entries for dimension {dim}",
                        center.len()
                    ));
                }
                if !(radius.is_finite() && *radius >= 0.0) || center.iter().any(|c| !c.is_finite()) {
                    return bad(format!(
                        "ball needs a finite centre and radius ≥ 0 (radius {radius})"
                    ));
                }
                Ok(())
            }
            Self::Simplex { total } => {
                if !(total.is_finite() && *total > 0.0) {
                    return bad(format!("simplex total must be positive, got {total}"));
                }
                if dim == 0 {
                    return bad("the simplex in dimension 0 is empty".into());
                }
                Ok(())
            }
        }
    }

    /// Projects `v` onto the set in place.
    pub fn project(&self, v: &mut [f64]) {
        match self {
            Self::Free => {}
            Self::NonNegative => v.iter_mut().for_each(|x| *x = x.max(0.0)),
            Self::Box { lo, hi } => {
                for ((x, &l), &h) in v.iter_mut().zip(lo).zip(hi) {
                    *x = x.clamp(l, h);
                }
            }
            Self::Ball { center, radius } => {
                let d: f64 = v
                    .iter()
                    .zip(center)
                    .map(|(x, c)| (x - c) * (x - c))
                    .sum::<f64>()
                    .sqrt();
                if d > *radius {
                    let s = radius / d;
                    for (x, c) in v.iter_mut().zip(center) {
                        *x = c + (*x - c) * s;
                    }
                }
            }
            Self::Simplex { total } => {
                // Sort-based projection (Held et al.; Duchi et al. 2008).
                let mut u: Vec<f64> = v.to_vec();
                u.sort_by(|a, b| b.total_cmp(a));
                let (mut cum, mut theta) = (0.0, 0.0);
                for (j, &uj) in u.iter().enumerate() {
                    cum += uj;
                    let t = (cum - total) / (j + 1) as f64;
                    if uj - t > 0.0 {
                        theta = t;
                    }
                }
                v.iter_mut().for_each(|x| *x = (*x - theta).max(0.0));
            }
        }
    }

    /// Whether the set is the whole space.
    pub fn is_free(&self) -> bool {
        matches!(self, Self::Free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projections_land_in_the_set_and_fix_its_points() {
        let mut v = vec![0.5, -2.0, 3.0];
        Set::uniform_box(3, -1.0, 1.0).project(&mut v);
        assert_eq!(v, vec![0.5, -1.0, 1.0]);
        let mut v = vec![3.0, 4.0];
        Set::Ball {
            center: vec![0.0, 0.0],
            radius: 1.0,
        }
        .project(&mut v);
        assert!((v[0] - 0.6).abs() < 1e-15 && (v[1] - 0.8).abs() < 1e-15);
        let mut v = vec![0.2, 0.9, -0.4, 0.5];
        Set::Simplex { total: 1.0 }.project(&mut v);
        assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-12 && v.iter().all(|&x| x >= 0.0));
        // Brute-force check of optimality: the projection is closer than nearby simplex points.
        let orig = [0.2, 0.9, -0.4, 0.5];
        let d = |p: &[f64]| p.iter().zip(&orig).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
        for (i, j) in [(0, 1), (1, 3), (0, 3), (2, 1)] {
            let mut q = v.clone();
            let e = 1e-3f64.min(q[j]);
            q[i] += e;
            q[j] -= e;
            assert!(d(&q) >= d(&v) - 1e-15);
        }
        let mut v = vec![1.0, -1.0];
        Set::NonNegative.project(&mut v);
        assert_eq!(v, vec![1.0, 0.0]);
        let e = Set::Box {
            lo: vec![0.0, 2.0],
            hi: vec![1.0, 1.0],
        }
        .validate(2, "X")
        .unwrap_err()
        .to_string();
        assert!(e.contains("empty box") && e.contains("coordinate 1"), "{e}");
        assert!(Set::uniform_box(3, 0.0, 1.0).validate(2, "Y").is_err());
        assert!(Set::Simplex { total: 0.0 }.validate(2, "Y").is_err());
    }
}
