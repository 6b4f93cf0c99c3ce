//! Loaders, generators and model bookkeeping checked against direct computation.

use super::*;
use solvent_linalg::CsrMatrix;

#[test]
fn synthetic_set_has_the_papers_statistics() {
    let c = SyntheticConfig::paper(400, 2000, SyntheticKind::Logistic, 3);
    let (a, y, w) = c.generate().unwrap();
    let want = 10.0 * (2000f64).ln() / 2000.0;
    let got = a.nnz() as f64 / (400.0 * 2000.0);
    assert!((got / want - 1.0).abs() < 0.05, "density {got} vs {want}");
    let support = w.iter().filter(|v| **v != 0.0).count() as f64 / 2000.0;
    assert!((support - 0.1).abs() < 0.03, "support {support}");
    let mut z = vec![0.0; 400];
    a.mul_vec(&w, &mut z);
    let agree = z
        .iter()
        .zip(&y)
        .filter(|(zi, yi)| (**zi >= 0.0) == (**yi > 0.0))
        .count() as f64
        / 400.0;
    assert!(
        (agree - 0.9).abs() < 0.05,
        "labels agree with sign(Aw) on {agree}"
    );
    assert!(y.iter().all(|v| *v == 1.0 || *v == -1.0));
    // reproducible from the seed
    assert_eq!(c.generate().unwrap().1, y);
}

#[test]
fn edge_lists_parse_and_errors_name_the_line() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("g.txt");
    std::fs::write(&path, "% comment\n0 1\n1,2,0.5\n\n2 0 2 # trailing\n").unwrap();
    let g = Graph::read_edge_list(&path, None).unwrap();
    assert_eq!(g.nodes(), 3);
    assert_eq!(g.edges(), &[(0, 1, 1.0), (1, 2, 0.5), (2, 0, 2.0)]);
    assert_eq!(Graph::read_edge_list(&path, Some(5)).unwrap().nodes(), 5);
    for (text, needle) in [
        ("0 1\n1 x\n", "g.txt:2"),
        ("0 1 nan\n", "positive and finite"),
        ("0 1 1 1\n", "expected"),
        ("0 -1\n", "non-negative integer"),
    ] {
        std::fs::write(&path, text).unwrap();
        let e = Graph::read_edge_list(&path, None).unwrap_err().to_string();
        assert!(e.contains(needle), "{text:?}: {e}");
    }
    std::fs::write(&path, "0 7\n").unwrap();
    assert!(Graph::read_edge_list(&path, Some(4)).is_err());
}

#[test]
fn knn_graph_of_two_moons_is_symmetric_and_local() {
    let (pts, moon) = Graph::two_moons(200, 0.05, 1);
    assert_eq!(moon.iter().filter(|&&m| m == 1).count(), 100);
    let g = Graph::knn(&pts, 6).unwrap();
    let mut deg = vec![0; 200];
    for &(i, j, w) in g.edges() {
        assert!(i < j && w > 0.0 && w <= 1.0);
        deg[i as usize] += 1;
        deg[j as usize] += 1;
    }
    assert!(deg.iter().all(|&d| d >= 6), "every point keeps its 6 neighbours");
    let cross = g
        .edges()
        .iter()
        .filter(|e| moon[e.0 as usize] != moon[e.1 as usize])
        .count();
    assert!(
        cross * 20 < g.edges().len(),
        "{cross} of {} edges cross the moons",
        g.edges().len()
    );
    assert!(Graph::knn(&pts, 0).is_err() && Graph::knn(&pts, 200).is_err());
}

#[test]
fn label_propagation_quadratic_matches_the_sum_of_squares() {
    let g = Graph::new(4, vec![(0, 1, 2.0), (1, 2, 1.0), (2, 3, 3.0), (0, 2, 0.5)]).unwrap();
    let lp = LabelPropagation::new(&g, &[(0, 1.0), (3, -2.0)]).unwrap();
    assert_eq!(lp.unlabelled, vec![1, 2]);
    let x = [0.3, -0.7];
    let cache = lp.problem.new_cache(&x);
    let v = lp.node_values(&x);
    let direct: f64 = g
        .edges()
        .iter()
        .map(|&(i, j, w)| 0.5 * w * (v[i as usize] - v[j as usize]).powi(2))
        .sum();
    assert!((lp.problem.objective(&x, &cache) - direct).abs() < 1e-12);
    assert!(LabelPropagation::new(&g, &[(0, 1.0), (0, 2.0)]).is_err());
    assert!(LabelPropagation::new(&g, &[(9, 1.0)]).is_err());
}

#[test]
fn glm_labels_and_lambda_max() {
    let a = CsrMatrix::from_triplets(4, 2, &[(0, 0, 1.0), (1, 1, 2.0), (2, 0, -1.0), (3, 1, 1.0)]).unwrap();
    let m = Glm::new(
        a.clone(),
        vec![1.0, 2.0, 2.0, 1.0],
        Loss::Logistic,
        0.0,
        Penalty::None,
    )
    .unwrap();
    assert_eq!(m.labels(), &[-1.0, 1.0, 1.0, -1.0]);
    assert_eq!(m.class_labels(), &[1.0, 2.0]);
    let s = Glm::new(
        a.clone(),
        vec![3.0, 7.0, 5.0, 3.0],
        Loss::Softmax,
        0.0,
        Penalty::None,
    )
    .unwrap();
    assert_eq!(s.labels(), &[0.0, 2.0, 1.0, 0.0]);
    assert_eq!(s.dim(), 6);
    let y = vec![1.0, -2.0, 3.0, 0.5];
    let ls = Glm::new(a.clone(), y.clone(), Loss::Squared, 0.0, Penalty::None).unwrap();
    let mut aty = vec![0.0; 2];
    a.mul_vec_transpose(&y, &mut aty);
    let want = aty.iter().fold(0.0f64, |m, v| m.max(v.abs())) / 4.0;
    assert!((ls.lambda_max() - want).abs() < 1e-15);
    assert!(Glm::new(a.clone(), y.clone(), Loss::Squared, f64::NAN, Penalty::None).is_err());
    assert!(Glm::new(a, vec![1.0; 3], Loss::Squared, 0.0, Penalty::None).is_err());
}

#[test]
fn penalty_delta_is_the_difference_of_values() {
    for pen in [Penalty::None, Penalty::L1(0.7), Penalty::NonNegative] {
        for &(x, d) in &[
            (1.0, -0.25),
            (1.0, -3.0),
            (-2.0, 0.5),
            (0.0, 0.3),
            (0.0, -0.3),
            (-1.0, 4.0),
        ] {
            if pen == Penalty::NonNegative && x < 0.0 {
                continue; // the iterate is always feasible
            }
            let want = pen.value(x + d) - pen.value(x);
            let got = pen.delta(x, d);
            assert!(
                got == want || (got - want).abs() < 1e-15,
                "{pen:?} x {x} d {d}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn block_delta_is_the_change_of_the_smooth_value_with_an_intercept_and_a_ridge() {
    // every loss, with an unpenalised intercept and a ridge on the features: the
    // predicted change of a block step must be the smooth value's change exactly (a
    // ridge charged to the intercept here made Newton's line search stall)
    let x = CsrMatrix::from_triplets(
        6,
        3,
        &[
            (0, 0, 1.0),
            (1, 1, 2.0),
            (2, 2, -1.0),
            (3, 0, 0.5),
            (4, 1, -1.5),
            (5, 2, 1.0),
            (5, 0, 0.3),
        ],
    )
    .unwrap();
    for (loss, y) in [
        (Loss::Squared, vec![1.0, -2.0, 0.5, 3.0, 0.0, 1.0]),
        (Loss::Logistic, vec![1.0, -1.0, 1.0, -1.0, 1.0, 1.0]),
        (Loss::Softmax, vec![0.0, 1.0, 2.0, 1.0, 0.0, 2.0]),
    ] {
        let glm = Glm::with_intercept(x.clone(), y, loss, 0.3, Penalty::None).unwrap();
        let w: Vec<f64> = (0..glm.dim()).map(|i| 0.1 * i as f64 - 0.2).collect();
        let all: Vec<usize> = (0..glm.dim()).collect();
        let d: Vec<f64> = (0..glm.dim()).map(|i| 0.05 * (i as f64 + 1.0)).collect();
        let cache = glm.new_cache(&w);
        let predicted = glm.block_delta(&w, &cache, &all, &d);
        let moved: Vec<f64> = w.iter().zip(&d).map(|(a, b)| a + b).collect();
        let actual = glm.smooth_value(&moved, &glm.new_cache(&moved)) - glm.smooth_value(&w, &cache);
        assert!(
            (predicted - actual).abs() <= 1e-12 * actual.abs().max(1.0),
            "{loss:?}: predicted {predicted}, actual {actual}"
        );
    }
}
