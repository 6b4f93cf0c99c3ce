//! End-to-end tests of `solvent bilevel`.

use serde_json::Value;

mod common;
use common::{solvent, stderr};

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn bilevel_quadratic_writes_the_solution_and_a_report() {
    let d = tempfile::tempdir().unwrap();
    let (out, rep) = (d.path().join("sol.json"), d.path().join("rep.json"));
    let base = [
        "bilevel",
        "--problem",
        "quadratic",
        "--dim-x",
        "4",
        "--dim-y",
        "6",
        "--sigma",
        "1e-5",
        "--tol",
        "1e-8",
    ];
    let o = solvent(
        &[
            &base[..],
            &["--out", out.to_str().unwrap(), "--json", rep.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("x = [") && text.contains("y = ["), "{text}");
    let s = read(&out);
    assert_eq!(s["x"].as_array().unwrap().len(), 4);
    assert_eq!(s["y"].as_array().unwrap().len(), 6);
    let r = read(&rep);
    assert!(r["details"]["closed_form_relative_error"].as_f64().unwrap() < 1e-4);
    assert_eq!(r["report"]["status"]["kind"], "converged");
    // the published form (--no-tilt) and FISTA inner solves (--fista) reach the same point
    for flag in ["--no-tilt", "--fista"] {
        let other = d.path().join("other.json");
        let o = solvent(&[&base[..], &[flag, "--quiet", "--out", other.to_str().unwrap()]].concat());
        assert!(o.status.success(), "{flag}: {}", stderr(&o));
        let (a, b) = (&s["x"], &read(&other)["x"]);
        for (u, v) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
            let (u, v) = (u.as_f64().unwrap(), v.as_f64().unwrap());
            assert!((u - v).abs() <= 1e-6 * (1.0 + u.abs()), "{flag}: {u} vs {v}");
        }
    }
    let last = r["report"]["trace"].as_array().unwrap().last().unwrap().clone();
    for k in ["grad_calls", "lower_gap", "lower_residual"] {
        assert!(last["metrics"]["extra"][k].is_number(), "{k}");
    }
    assert!(last["metrics"]["objective"].is_number());
}

#[test]
fn bilevel_hyperparam_on_an_svmlight_file_and_aid_agree() {
    let d = tempfile::tempdir().unwrap();
    let data = solvent::problems::bilevel::LogisticData::synthetic(400, 5, 3).unwrap();
    let svm = d.path().join("d.svm");
    solvent::linalg::io::svmlight::write(&svm, &data.a, &data.b).unwrap();
    let mut results = Vec::new();
    for solver in ["penalty", "aid"] {
        let (out, rep) = (
            d.path().join(format!("{solver}.json")),
            d.path().join(format!("{solver}-r.json")),
        );
        let o = solvent(&[
            "bilevel",
            "--problem",
            "hyperparam",
            "--data",
            svm.to_str().unwrap(),
            "--solver",
            solver,
            "--sigma",
            "1e-4",
            "--tol",
            "1e-7",
            "--max-iters",
            "3000",
            "--out",
            out.to_str().unwrap(),
            "--json",
            rep.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{solver}: {}", stderr(&o));
        let y: Vec<f64> = read(&out)["y"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let upper = read(&rep)["report"]["metrics"]["objective"].as_f64().unwrap();
        results.push((y, upper));
    }
    // Directions where ψ is flat (regularisation e^x ≈ 0 at the box) leave x unidentified, so
    // compare what is: the validation loss and the trained weights, O(σ) apart.
    let (ya, fa) = &results[0];
    let (yb, fb) = &results[1];
    assert!((fa - fb).abs() < 1e-4 * fb.abs(), "validation loss {fa} vs {fb}");
    let diff: f64 = ya.iter().zip(yb).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(diff < 1e-2, "weights {ya:?} vs {yb:?}");
}

#[test]
fn bilevel_rejects_bad_input_clearly() {
    let d = tempfile::tempdir().unwrap();
    let err = |args: &[&str]| {
        let o = solvent(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        stderr(&o)
    };
    let e = err(&["bilevel", "--sigma", "0"]);
    assert!(e.contains("sigma") && e.contains("positive"), "{e}");
    let e = err(&["bilevel", "--sigma=-1e-3"]);
    assert!(e.contains("sigma"), "{e}");
    let e = err(&["bilevel", "--problem", "toy", "--x-box", "2,1"]);
    assert!(e.contains("empty box") && e.contains("coordinate 0"), "{e}");
    let bad = d.path().join("bad.svm");
    std::fs::write(&bad, "1 1:0.5 2:1\n-1 1:nan\n").unwrap();
    let e = err(&[
        "bilevel",
        "--problem",
        "hyperparam",
        "--data",
        bad.to_str().unwrap(),
    ]);
    assert!(e.contains("bad.svm:2") && e.contains("NaN"), "{e}");
    let three = d.path().join("three.svm");
    std::fs::write(&three, "1 1:0.5\n2 1:1\n-1 1:0.2\n1 1:0.1\n").unwrap();
    let e = err(&[
        "bilevel",
        "--problem",
        "hypercleaning",
        "--data",
        three.to_str().unwrap(),
    ]);
    assert!(e.contains("label 2 is not binary"), "{e}");
    let e = err(&["bilevel", "--problem", "toy", "--solver", "penalty-stoch"]);
    assert!(e.contains("minibatch"), "{e}");
}

#[test]
fn the_single_loop_reaches_the_closed_form_at_default_settings() {
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("r.json");
    for (dims, seed) in [
        (["10", "10"], "0"),
        (["10", "10"], "1"),
        (["10", "10"], "2"),
        (["5", "8"], "3"),
        (["20", "30"], "0"),
    ] {
        let o = solvent(&[
            "bilevel",
            "--problem",
            "quadratic",
            "--solver",
            "penalty-single-loop",
            "--dim-x",
            dims[0],
            "--dim-y",
            dims[1],
            "--seed",
            seed,
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{dims:?} seed {seed}: {}", stderr(&o));
        let r = read(&json);
        let err = r["details"]["closed_form_relative_error"].as_f64().unwrap();
        assert!(err < 1e-4, "{dims:?} seed {seed}: relative error {err:e}");
    }
}

#[test]
fn the_single_loop_ends_at_a_local_minimum_of_the_toy_problem() {
    use solvent::problems::bilevel::ToyBilevel;
    use solvent::solvers::bilevel::{BilevelSolver, Method};
    use solvent::solvers::{run, Options};
    let minima = [0.3824, 1.2151, 2.8296];
    for x0 in [0.05, 0.4, 0.9, 1.5, 2.2, 2.95] {
        let mut s = BilevelSolver::new(Method::PenaltySingleLoop);
        s.start = Some((vec![x0], vec![-x0]));
        let out = run(
            &ToyBilevel::default(),
            &mut s,
            &Options::default().tol(1e-6).max_iters(500_000),
        )
        .unwrap();
        assert!(
            out.report.status.is_converged(),
            "x0 {x0}: {:?}",
            out.report.status
        );
        let x = out.state.x[0];
        assert!(
            minima.iter().any(|m| (x - m).abs() < 1e-2),
            "x0 {x0}: ended at {x}"
        );
        assert!(
            (out.state.z[0] + x).abs() < 1e-3,
            "x0 {x0}: y = {} is not −x",
            out.state.z[0]
        );
    }
}

#[test]
fn a_diverging_single_loop_stops_with_a_breakdown() {
    // a fixed outer step far too long for the inner variables to follow
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("r.json");
    let o = solvent(&[
        "bilevel",
        "--solver",
        "penalty-single-loop",
        "--step",
        "1",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("diverging"), "{}", stderr(&o));
    let r = read(&json);
    assert_eq!(r["report"]["status"]["kind"], "breakdown");
    assert!(r["report"]["metrics"]["value"].as_f64().unwrap() < 1e12);
}
