//! The small least-squares problem of GMRES-type methods, kept upper
//! triangular by Givens rotations as the Hessenberg matrix grows.

/// Brings Hessenberg column `j` (`col[..=j+1]`) into the triangular factor:
/// applies the previous `j` rotations, then a new one that zeroes
/// `col[j+1]`, and rotates the right-hand side `g` with it (so `|g[j+1]|` is
/// the new residual norm). Returns the new diagonal entry, or `None` when the
/// column is zero (a singular operator).
pub fn rotate_column(
    col: &mut [f64],
    j: usize,
    cs: &mut [f64],
    sn: &mut [f64],
    g: &mut [f64],
) -> Option<f64> {
    for i in 0..j {
        let (a, b) = (col[i], col[i + 1]);
        col[i] = cs[i] * a + sn[i] * b;
        col[i + 1] = -sn[i] * a + cs[i] * b;
    }
    let (a, b) = (col[j], col[j + 1]);
    let r = a.hypot(b);
    if r == 0.0 {
        return None;
    }
    cs[j] = a / r;
    sn[j] = b / r;
    col[j] = r;
    col[j + 1] = 0.0;
    g[j + 1] = -sn[j] * g[j];
    g[j] *= cs[j];
    Some(r)
}

/// `y` solving the `j × j` upper triangular system `R y = g[..j]`, with `R`
/// stored column-major with leading dimension `ld`.
pub fn solve_triangular(r: &[f64], ld: usize, g: &[f64], j: usize) -> Vec<f64> {
    let mut y = g[..j].to_vec();
    for i in (0..j).rev() {
        let mut acc = y[i];
        for (l, yl) in y.iter().enumerate().take(j).skip(i + 1) {
            acc -= r[l * ld + i] * yl;
        }
        y[i] = acc / r[i * ld + i];
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_solve_a_small_least_squares_problem() {
        // H̄ (3×2) = [[2, 1], [1, 3], [0, 1]], rhs β e₁ with β = 1
        let ld = 3;
        let hcols = [[2.0, 1.0, 0.0], [1.0, 3.0, 1.0]];
        let mut h = vec![0.0; ld * 2];
        let (mut cs, mut sn, mut g) = (vec![0.0; 2], vec![0.0; 2], vec![1.0, 0.0, 0.0]);
        for (j, c) in hcols.iter().enumerate() {
            h[j * ld..j * ld + 3].copy_from_slice(c);
            rotate_column(&mut h[j * ld..(j + 1) * ld], j, &mut cs, &mut sn, &mut g).unwrap();
        }
        let y = solve_triangular(&h, ld, &g, 2);
        // normal equations of the unrotated problem: H̄ᵀH̄ y = H̄ᵀ e₁
        let (a11, a12, a22) = (5.0, 5.0, 11.0);
        let (b1, b2) = (2.0, 1.0);
        let det = a11 * a22 - a12 * a12;
        let want = [(b1 * a22 - a12 * b2) / det, (a11 * b2 - a12 * b1) / det];
        assert!((y[0] - want[0]).abs() < 1e-14 && (y[1] - want[1]).abs() < 1e-14);
        // the residual norm is |g[2]|
        let r: Vec<f64> = (0..3)
            .map(|i| [1.0, 0.0, 0.0][i] - hcols[0][i] * y[0] - hcols[1][i] * y[1])
            .collect();
        let rn = r.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((rn - g[2].abs()).abs() < 1e-14);
        let mut zero = vec![0.0; 3];
        assert!(rotate_column(&mut zero, 0, &mut cs, &mut sn, &mut g).is_none());
    }
}
