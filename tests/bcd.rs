//! End-to-end tests of `solvent bcd`: solutions checked by independent recomputation (duality
//! gap and KKT conditions from the written weights, harmonic property of label propagation),
//! and bad input rejected with errors that say what and where.

#![allow(clippy::needless_range_loop)]

use serde_json::Value;
use solvent::linalg::io::{npy, svmlight};
use solvent::linalg::CsrMatrix;
use solvent::problems::bcd::{SyntheticConfig, SyntheticKind};

mod common;
use common::{solvent, stderr};

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn p(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

fn small_set(kind: SyntheticKind, seed: u64) -> (CsrMatrix, Vec<f64>) {
    let mut c = SyntheticConfig::paper(300, 80, kind, seed);
    c.density = Some(0.1);
    let (a, y, _) = c.generate().unwrap();
    (a, y)
}

#[test]
fn lasso_solution_has_the_reported_gap_and_meets_kkt() {
    let d = tempfile::tempdir().unwrap();
    let (a, y) = small_set(SyntheticKind::LeastSquares, 1);
    let data = d.path().join("ls.svm");
    svmlight::write(&data, &a, &y).unwrap();
    let (out, rep) = (d.path().join("w.npy"), d.path().join("r.json"));
    let o = solvent(&[
        "bcd",
        "--data",
        p(&data),
        "--problem",
        "lasso",
        "--lambda-ratio",
        "0.1",
        "--tol",
        "1e-9",
        "--out",
        p(&out),
        "--json",
        p(&rep),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w = npy::read(&out).unwrap();
    assert_eq!(w.shape, vec![80]);
    let r = read_json(&rep);
    let lam = r["details"]["lambda"].as_f64().unwrap();
    // independent: residual, gradient, dual point, gap
    let n = a.nrows() as f64;
    let mut aw = vec![0.0; a.nrows()];
    a.mul_vec(&w.data, &mut aw);
    let res: Vec<f64> = y.iter().zip(&aw).map(|(yi, zi)| yi - zi).collect();
    let mut atr = vec![0.0; 80];
    a.mul_vec_transpose(&res, &mut atr);
    let lmax = {
        let mut aty = vec![0.0; 80];
        a.mul_vec_transpose(&y, &mut aty);
        aty.iter().fold(0.0f64, |m, v| m.max(v.abs())) / n
    };
    assert!((lam - 0.1 * lmax).abs() < 1e-12 * lmax);
    let primal = res.iter().map(|v| v * v).sum::<f64>() / (2.0 * n)
        + lam * w.data.iter().map(|v| v.abs()).sum::<f64>();
    let s = (n * lam / atr.iter().fold(0.0f64, |m, v| m.max(v.abs()))).min(1.0);
    let dual = (y.iter().map(|v| v * v).sum::<f64>()
        - y.iter()
            .zip(&res)
            .map(|(yi, ri)| (yi - s * ri).powi(2))
            .sum::<f64>())
        / (2.0 * n);
    assert!(primal - dual <= 1e-9 * (1.0 + primal), "gap {}", primal - dual);
    for (j, (&atr_j, &wj)) in atr.iter().zip(&w.data).enumerate() {
        let g = -atr_j / n;
        if wj == 0.0 {
            assert!(
                g.abs() <= lam * (1.0 + 1e-6),
                "feature {j}: |g| {} > λ {lam}",
                g.abs()
            );
        } else {
            assert!((g + lam * wj.signum()).abs() <= 1e-6 * lam, "feature {j}");
        }
    }
    assert_eq!(r["report"]["status"]["kind"], "converged");
    assert!(
        r["report"]["trace"].as_array().unwrap().len() >= 2,
        "the objective trace"
    );
}

#[test]
fn softmax_from_csv_writes_features_by_classes() {
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("iris-like.csv");
    let mut text = String::from("label,f1,f2,f3\n");
    for i in 0..90 {
        let c = i % 3;
        let t = i as f64 * 0.37;
        text.push_str(&format!(
            "{c},{},{},{}\n",
            c as f64 + t.sin(),
            (c as f64 * 0.5 - 1.0) + t.cos(),
            1.0
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let (out, rep) = (d.path().join("w.npy"), d.path().join("r.json"));
    let o = solvent(&[
        "bcd",
        "--data",
        p(&csv),
        "--label-column",
        "first",
        "--problem",
        "softmax",
        "--block-size",
        "3",
        "--tol",
        "1e-9",
        "--out",
        p(&out),
        "--json",
        p(&rep),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w = npy::read(&out).unwrap();
    assert_eq!(w.shape, vec![3, 3]);
    let r = read_json(&rep);
    assert_eq!(r["report"]["metrics"]["criterion"], "kkt_residual");
    assert!(r["report"]["metrics"]["value"].as_f64().unwrap() <= 1e-9);
    assert_eq!(r["details"]["class_labels"], serde_json::json!([0.0, 1.0, 2.0]));
}

#[test]
fn label_propagation_from_an_edge_list_is_harmonic() {
    let d = tempfile::tempdir().unwrap();
    let (edges, labels) = (d.path().join("g.edges"), d.path().join("labels.txt"));
    // a 6 × 6 lattice with weights, two labelled corners
    let mut e = String::from("# i j w\n");
    let side = 6;
    for r in 0..side {
        for c in 0..side {
            let v = r * side + c;
            if c + 1 < side {
                e.push_str(&format!("{v} {} {}\n", v + 1, 1.0 + (v % 3) as f64));
            }
            if r + 1 < side {
                e.push_str(&format!("{v},{},{}\n", v + side, 0.5 + (v % 2) as f64));
            }
        }
    }
    std::fs::write(&edges, &e).unwrap();
    std::fs::write(&labels, "0 1.0\n35 -1.0\n").unwrap();
    let out = d.path().join("values.npy");
    let o = solvent(&[
        "bcd",
        "--problem",
        "labelprop",
        "--data",
        p(&edges),
        "--labels",
        p(&labels),
        "--tol",
        "1e-12",
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let x = npy::read(&out).unwrap().data;
    assert_eq!(x.len(), 36);
    assert_eq!((x[0], x[35]), (1.0, -1.0));
    // every unlabelled node is the weighted mean of its neighbours
    let mut sum = vec![0.0; 36];
    let mut wsum = vec![0.0; 36];
    for line in e.lines().skip(1) {
        let f: Vec<f64> = line.split([' ', ',']).map(|t| t.parse().unwrap()).collect();
        let (i, j, w) = (f[0] as usize, f[1] as usize, f[2]);
        sum[i] += w * x[j];
        sum[j] += w * x[i];
        wsum[i] += w;
        wsum[j] += w;
    }
    for v in 1..35 {
        assert!((x[v] - sum[v] / wsum[v]).abs() < 1e-9, "node {v}");
    }
}

#[test]
fn generated_problems_converge() {
    let d = tempfile::tempdir().unwrap();
    let rep = d.path().join("r.json");
    let o = solvent(&[
        "bcd",
        "--problem",
        "labelprop",
        "--generate",
        "moons",
        "--points",
        "400",
        "--json",
        p(&rep),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(read_json(&rep)["details"]["moons_accuracy"].as_f64().unwrap() > 0.9);
    for (problem, extra) in [
        ("nnls", "--rule=gs-r"),
        ("l1-logistic", "--update=newton"),
        ("logistic", "--rule=gsl"),
        ("ls", "--lambda=0.1"),
    ] {
        let o = solvent(&[
            "bcd",
            "--problem",
            problem,
            "--generate",
            if problem.contains("logistic") {
                "logistic"
            } else {
                "ls"
            },
            "--samples",
            "200",
            "--features",
            "100",
            "--tol",
            "1e-7",
            extra,
            "--json",
            p(&rep),
        ]);
        assert!(o.status.success(), "{problem}: {}", stderr(&o));
        let r = read_json(&rep);
        assert_eq!(r["report"]["status"]["kind"], "converged", "{problem}");
    }
}

fn fails(args: &[&str], needle: &str) {
    let o = solvent(args);
    assert_eq!(o.status.code(), Some(1), "{args:?} should fail");
    let e = stderr(&o);
    assert!(e.contains(needle), "{args:?}: expected \"{needle}\" in: {e}");
}

#[test]
fn bad_input_is_named() {
    let d = tempfile::tempdir().unwrap();
    let svm = d.path().join("bad.svm");
    std::fs::write(&svm, "1 1:0.5 2:1\n-1 1:2\n1 3:abc\n").unwrap();
    fails(&["bcd", "--data", p(&svm)], "bad.svm:3");
    std::fs::write(&svm, "1 1:0.5\n2 2:1\n3 1:1\n").unwrap();
    fails(
        &["bcd", "--data", p(&svm), "--problem", "logistic"],
        "exactly two values",
    );
    fails(
        &[
            "bcd",
            "--data",
            p(&svm),
            "--problem",
            "softmax",
            "--block-size",
            "0",
        ],
        "block_size",
    );
    fails(
        &[
            "bcd",
            "--data",
            p(&svm),
            "--problem",
            "lasso",
            "--block-size",
            "3",
        ],
        "between 1 and the problem's 2",
    );
    fails(
        &["bcd", "--data", p(&svm), "--problem", "lasso", "--lambda=-1"],
        "--lambda",
    );
    let csv = d.path().join("nan.csv");
    std::fs::write(&csv, "1,2,3\n4,nan,1\n").unwrap();
    fails(&["bcd", "--data", p(&csv)], "nan.csv:2");
    let edges = d.path().join("neg.edges");
    std::fs::write(&edges, "0 1 1\n1 2 -2\n").unwrap();
    let labels = d.path().join("l.txt");
    std::fs::write(&labels, "0 1\n").unwrap();
    fails(
        &[
            "bcd",
            "--problem",
            "labelprop",
            "--data",
            p(&edges),
            "--labels",
            p(&labels),
        ],
        "neg.edges:2",
    );
    std::fs::write(&edges, "0 1\n2 3\n").unwrap();
    fails(
        &[
            "bcd",
            "--problem",
            "labelprop",
            "--data",
            p(&edges),
            "--labels",
            p(&labels),
        ],
        "connected to no labelled node",
    );
    let missing = d.path().join("no/such/dir/w.npy");
    fails(
        &[
            "bcd",
            "--generate",
            "ls",
            "--samples",
            "50",
            "--features",
            "20",
            "--out",
            p(&missing),
        ],
        "does not exist",
    );
    // a run that stops early exits 2 and still writes its solution
    let out = d.path().join("w.npy");
    let o = solvent(&[
        "bcd",
        "--generate",
        "ls",
        "--samples",
        "100",
        "--features",
        "300",
        "--max-iters",
        "2",
        "--rescan",
        "1",
        "--out",
        p(&out),
        "--keep-unconverged",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(npy::read(&out).unwrap().shape, vec![300]);
}

#[test]
fn intercept_is_fitted_and_reported() {
    let d = tempfile::tempdir().unwrap();
    let (a, y) = small_set(SyntheticKind::LeastSquares, 5);
    let shifted: Vec<f64> = y.iter().map(|v| v + 100.0).collect();
    let data = d.path().join("ls.svm");
    svmlight::write(&data, &a, &shifted).unwrap();
    let (out, rep) = (d.path().join("w.npy"), d.path().join("r.json"));
    let o = solvent(&[
        "bcd",
        "--data",
        p(&data),
        "--problem",
        "lasso",
        "--intercept",
        "--tol",
        "1e-9",
        "--out",
        p(&out),
        "--json",
        p(&rep),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w = npy::read(&out).unwrap();
    assert_eq!(w.shape, vec![80]);
    let b = read_json(&rep)["details"]["intercept"][0].as_f64().unwrap();
    // the residual of the fitted model has zero mean (the intercept's optimality condition)
    let mut aw = vec![0.0; a.nrows()];
    a.mul_vec(&w.data, &mut aw);
    let mean: f64 = shifted.iter().zip(&aw).map(|(yi, zi)| yi - zi - b).sum::<f64>() / a.nrows() as f64;
    assert!(mean.abs() < 1e-6, "mean residual {mean}");
    assert!(b > 50.0, "intercept {b}");
}

/// A breast-cancer-like set: 200 samples, 30 dense features of mixed scales, labels ±1.
fn thirty_features(dir: &std::path::Path) -> std::path::PathBuf {
    let f = dir.join("bc.svm");
    let mut text = String::new();
    let mut s = 7u64;
    let mut u = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..200 {
        let x: Vec<f64> = (0..30).map(|j: i32| (u() - 0.5) * 10f64.powi(j % 4)).collect();
        let score = x[0] + 0.3 * x[5] / 10.0 - 0.2 * x[10] / 100.0 + 0.5 * (u() - 0.5);
        let y = if score > 0.0 { 1 } else { -1 };
        text += &format!("{y}");
        for (j, v) in x.iter().enumerate() {
            text += &format!(" {}:{v}", j + 1);
        }
        text += "\n";
    }
    std::fs::write(&f, text).unwrap();
    f
}

#[test]
fn defaults_work_on_a_30_feature_set() {
    let d = tempfile::tempdir().unwrap();
    let data = thirty_features(d.path());
    for problem in ["l1-logistic", "lasso", "logistic", "nnls"] {
        let rep = d.path().join(format!("{problem}.json"));
        let o = solvent(&[
            "bcd",
            "--data",
            p(&data),
            "--problem",
            problem,
            "--quiet",
            "--json",
            p(&rep),
        ]);
        assert!(o.status.success(), "{problem}: {}", stderr(&o));
        assert_eq!(
            read_json(&rep)["report"]["status"]["kind"],
            "converged",
            "{problem}"
        );
    }
    // the paper's exact rules are one flag away and reach the same gap
    let o = solvent(&[
        "bcd",
        "--data",
        p(&data),
        "--problem",
        "l1-logistic",
        "--paper",
        "--quiet",
    ]);
    assert!(o.status.success(), "--paper: {}", stderr(&o));
    // a block size the user gives is still checked
    let o = solvent(&["bcd", "--data", p(&data), "--block-size", "50", "--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("block_size"), "{}", stderr(&o));
}

/// KKT of (1/2n)‖y − Xw‖² + (λ₂/2)‖w‖² + λ Σ w on w ≥ 0, checked from scratch.
fn nonnegative_kkt(x: &CsrMatrix, y: &[f64], w: &[f64], lambda: f64, l2: f64) -> f64 {
    let n = x.nrows() as f64;
    let mut r = vec![0.0; x.nrows()];
    x.mul_vec(w, &mut r);
    r.iter_mut().zip(y).for_each(|(r, y)| *r -= y);
    let mut g = vec![0.0; x.ncols()];
    for (i, ri) in r.iter().enumerate() {
        let (cols, vals) = x.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            g[j as usize] += v * ri / n;
        }
    }
    g.iter()
        .zip(w)
        .map(|(&gj, &wj)| {
            let s = gj + l2 * wj + lambda;
            if wj > 0.0 {
                s.abs()
            } else {
                (-s).max(0.0) + (-wj).max(0.0)
            }
        })
        .fold(0.0, f64::max)
}

#[test]
fn nonnegative_least_squares_takes_an_l1_penalty_and_a_ridge() {
    use solvent::solvers::bcd::{build_glm, Bcd, BcdChoices, GlmSpec, ProblemKind};
    use solvent::solvers::{run, Options};
    let (x, y) = small_set(SyntheticKind::LeastSquares, 3);
    for (lambda, l2) in [(0.05, None), (0.05, Some(0.1)), (0.0, None)] {
        let spec = GlmSpec {
            lambda: Some(lambda),
            l2,
            ..GlmSpec::new(ProblemKind::Nnls)
        };
        let built = build_glm(x.clone(), y.clone(), &spec).unwrap();
        let dim = solvent::problems::bcd::CoordinateProblem::dim(&built.glm);
        let mut bcd = Bcd::default_for(ProblemKind::Nnls, dim, &BcdChoices::default());
        let out = run(
            &built.glm,
            &mut bcd,
            // an absolute duality gap where there is one (λ or λ₂ > 0), the KKT residual else
            &Options::default().tol(1e-13).max_iters(200_000),
        )
        .unwrap();
        assert!(
            out.report.status.is_converged(),
            "λ {lambda}, λ₂ {l2:?}: {:?}",
            out.report.status
        );
        let w = &out.state.x;
        assert!(w.iter().all(|&v| v >= 0.0));
        let kkt = nonnegative_kkt(&x, &y, w, lambda, l2.unwrap_or(0.0));
        assert!(kkt < 1e-6, "λ {lambda}, λ₂ {l2:?}: KKT residual {kkt:e}");
        if lambda > 0.0 {
            assert!(w.contains(&0.0), "the L1 penalty zeroes some weights");
        }
    }
    // and the CLI says it
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("ls.svm");
    svmlight::write(&f, &x, &y).unwrap();
    let o = solvent(&[
        "bcd",
        "--data",
        p(&f),
        "--problem",
        "nnls",
        "--lambda",
        "0.05",
        "--l2",
        "0.1",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = solvent(&["bcd", "--data", p(&f), "--problem", "ls", "--l2", "0.1"]);
    assert_eq!(o.status.code(), Some(1));
}

/// `(1/2n)‖y − Xw‖² + λ‖w‖₁` and its gap at the residual scaled into the dual set, computed
/// here from the written weights.
fn lasso_objective_and_gap(a: &CsrMatrix, y: &[f64], w: &[f64], lam: f64) -> (f64, f64) {
    let n = a.nrows() as f64;
    let mut aw = vec![0.0; a.nrows()];
    a.mul_vec(w, &mut aw);
    let res: Vec<f64> = y.iter().zip(&aw).map(|(yi, zi)| yi - zi).collect();
    let mut atr = vec![0.0; a.ncols()];
    for i in 0..a.nrows() {
        let (cols, vals) = a.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            atr[j as usize] += v * res[i];
        }
    }
    let m = atr.iter().fold(0.0f64, |m, v| m.max(v.abs())) / n;
    let s = if m > lam { lam / m } else { 1.0 };
    let primal =
        res.iter().map(|r| r * r).sum::<f64>() / (2.0 * n) + lam * w.iter().map(|v| v.abs()).sum::<f64>();
    let dual = res
        .iter()
        .zip(y)
        .map(|(r, yi)| s * r * yi - 0.5 * s * s * r * r)
        .sum::<f64>()
        / n;
    (primal, primal - dual)
}

#[test]
fn a_path_writes_every_point_at_the_gap() {
    let d = tempfile::tempdir().unwrap();
    let (a, y) = small_set(SyntheticKind::LeastSquares, 7);
    let data = d.path().join("ls.svm");
    svmlight::write(&data, &a, &y).unwrap();
    let (out, rep) = (d.path().join("path.npy"), d.path().join("r.json"));
    let o = solvent(&[
        "bcd",
        "--data",
        p(&data),
        "--path",
        "8",
        "--lambda-ratio",
        "0.02",
        "--tol",
        "1e-10",
        "--out",
        p(&out),
        "--json",
        p(&rep),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w = npy::read(&out).unwrap();
    assert_eq!(w.shape, vec![8, 80]);
    let r = read_json(&rep);
    let table = r["details"]["path"].as_array().unwrap();
    assert_eq!(table.len(), 8);
    let lmax = r["details"]["lambda_max"].as_f64().unwrap();
    let mut last_nnz = 0;
    for (k, row) in table.iter().enumerate() {
        let lam = row["lambda"].as_f64().unwrap();
        let expected = lmax * 0.02f64.powf(k as f64 / 7.0);
        assert!(
            (lam - expected).abs() < 1e-9 * expected,
            "λ {k}: {lam} vs {expected}"
        );
        let wk = &w.data[k * 80..(k + 1) * 80];
        let (_, gap) = lasso_objective_and_gap(&a, &y, wk, lam);
        assert!(gap <= 1e-9, "point {k}: gap {gap:e}");
        let nnz = wk.iter().filter(|v| **v != 0.0).count();
        assert_eq!(nnz, row["nonzeros"].as_u64().unwrap() as usize);
        if k == 0 {
            assert_eq!(nnz, 0, "λ_max: the zero solution");
        }
        assert!(nnz + 2 >= last_nnz, "supports grow along the path (roughly)");
        last_nnz = nnz;
    }
    assert!(last_nnz > 0);
}

#[test]
fn strategies_reach_the_same_objective_and_weights_count() {
    let d = tempfile::tempdir().unwrap();
    let (a, y) = small_set(SyntheticKind::LeastSquares, 8);
    let data = d.path().join("ls.svm");
    svmlight::write(&data, &a, &y).unwrap();
    let run_with = |extra: &[&str], name: &str| -> (Vec<f64>, Value) {
        let (out, rep) = (
            d.path().join(format!("{name}.npy")),
            d.path().join(format!("{name}.json")),
        );
        let mut args = vec![
            "bcd",
            "--data",
            p(&data),
            "--lambda-ratio",
            "0.05",
            "--tol",
            "1e-12",
            "--out",
            p(&out),
            "--json",
            p(&rep),
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let o = solvent(&args);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        (npy::read(&out).unwrap().data, read_json(&rep))
    };
    let (ws, r_ws) = run_with(&[], "auto");
    assert!(
        r_ws["method"].as_str().unwrap().starts_with("working-set"),
        "{}",
        r_ws["method"]
    );
    let (gr, r_gr) = run_with(&["--strategy", "greedy"], "greedy");
    assert!(
        r_gr["method"].as_str().unwrap().starts_with("bcd("),
        "{}",
        r_gr["method"]
    );
    let (sc, _) = run_with(
        &[
            "--ranking",
            "score",
            "--inner",
            "greedy",
            "--anderson",
            "0",
            "--no-screening",
        ],
        "variant",
    );
    let lam = r_ws["details"]["lambda"].as_f64().unwrap();
    let (f_ws, _) = lasso_objective_and_gap(&a, &y, &ws, lam);
    for (name, w) in [("greedy", &gr), ("variant", &sc)] {
        let (f, _) = lasso_objective_and_gap(&a, &y, w, lam);
        assert!((f - f_ws).abs() <= 1e-10 * f_ws, "{name}: {f} vs {f_ws}");
    }
    // integer sample weights = duplicated rows (the weights rescaled to sum to n)
    let weights: Vec<f64> = (0..a.nrows()).map(|i| (1 + i % 2) as f64).collect();
    let wfile = d.path().join("w.txt");
    std::fs::write(
        &wfile,
        weights.iter().map(|v| format!("{v}\n")).collect::<String>(),
    )
    .unwrap();
    let mut trip = Vec::new();
    let mut yd = Vec::new();
    for i in 0..a.nrows() {
        let (cols, vals) = a.row(i);
        for _ in 0..(1 + i % 2) {
            trip.extend(cols.iter().zip(vals).map(|(&j, &v)| (yd.len(), j as usize, v)));
            yd.push(y[i]);
        }
    }
    let dup = CsrMatrix::from_triplets(yd.len(), a.ncols(), &trip).unwrap();
    let dup_file = d.path().join("dup.svm");
    svmlight::write(&dup_file, &dup, &yd).unwrap();
    // λ = 0.05·λ_max of the weighted model, which is the duplicated model's λ_max
    let (wt, _) = run_with(&["--sample-weights", p(&wfile)], "weighted");
    let out = d.path().join("dup.npy");
    let o = solvent(&[
        "bcd",
        "--data",
        p(&dup_file),
        "--lambda-ratio",
        "0.05",
        "--tol",
        "1e-12",
        "--out",
        p(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let wd = npy::read(&out).unwrap().data;
    let diff = wt.iter().zip(&wd).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(diff < 1e-6, "weighted vs duplicated rows: {diff}");
    // bad combinations and weights are named
    let bad = d.path().join("bad.txt");
    let wnpy = d.path().join("w.npy");
    npy::write_f64(&wnpy, &[weights.len()], &weights).unwrap();
    fails(
        &[
            "bcd",
            "--data",
            p(&data),
            "--sample-weights",
            p(&wnpy),
            "--out",
            p(&wnpy),
        ],
        "would overwrite the sample weights",
    );
    assert_eq!(
        npy::read(&wnpy).unwrap().data,
        weights,
        "the weights file is untouched"
    );
    std::fs::write(&bad, "1\nx\n").unwrap();
    fails(
        &["bcd", "--data", p(&data), "--sample-weights", p(&bad)],
        "line 2",
    );
    std::fs::write(&bad, "1\n2\n").unwrap();
    fails(
        &["bcd", "--data", p(&data), "--sample-weights", p(&bad)],
        "2 sample weights for 300 samples",
    );
    fails(
        &[
            "bcd",
            "--data",
            p(&data),
            "--strategy",
            "working-set",
            "--rule",
            "gs-r",
        ],
        "--strategy greedy",
    );
    fails(
        &["bcd", "--data", p(&data), "--problem", "ls", "--path", "5"],
        "--path applies",
    );
    fails(&["bcd", "--data", p(&data), "--path", "0"], "at least one");
}
