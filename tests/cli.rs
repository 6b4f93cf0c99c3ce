//! End-to-end tests of `solvent solve`: results, exit codes, bad input.

use std::path::{Path, PathBuf};

mod common;
use common::{solvent, stderr};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const TRIDIAG: &str = "%%MatrixMarket matrix coordinate real symmetric\n4 4 7\n1 1 2\n2 1 -1\n2 2 2\n3 2 -1\n3 3 2\n4 3 -1\n4 4 2\n";

#[test]
fn solves_a_file_writes_solution_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.mtx", TRIDIAG);
    let b = write(
        dir.path(),
        "b.mtx",
        "%%MatrixMarket matrix array real general\n4 1\n1\n0\n0\n1\n",
    );
    let x = dir.path().join("x.mtx");
    let json = dir.path().join("r.json");
    for method in ["auto", "cg", "gmres", "gcrodr", "bicgstab", "minres", "direct"] {
        let o = solvent(&[
            "solve",
            a.to_str().unwrap(),
            "--rhs",
            b.to_str().unwrap(),
            "--method",
            method,
            "--tol",
            "1e-12",
            "--out",
            x.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{method}: {}", stderr(&o));
        // the exact solution of tridiag(-1, 2, -1) x = (1,0,0,1) is all ones
        let sol = solvent::prelude::read_vector(&x).unwrap();
        assert!(sol.iter().all(|v| (v - 1.0).abs() < 1e-10), "{method}: {sol:?}");
        let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(r["converged"], true);
        assert!(r["relative_residual"].as_f64().unwrap() <= 1e-12);
        assert_eq!(r["report"]["status"]["kind"], "converged");
        assert!(r["report"]["trace"].as_array().unwrap().len() >= 2);
    }
}

#[test]
fn generated_poisson_default_runs_and_prints_a_summary() {
    let o = solvent(&["solve", "--grid", "64", "--precond", "ic0", "--method", "cg"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("converged") && out.contains("n = 4096"), "{out}");
}

#[test]
fn non_convergence_exits_2_with_the_residual_reached() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.mtx");
    let o = solvent(&[
        "solve",
        "--grid",
        "40",
        "--method",
        "gmres",
        "--precond",
        "none",
        "--restart",
        "5",
        "--max-iters",
        "20",
        "--out",
        x.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("iteration limit 20") && e.contains("measure"), "{e}");
    assert_eq!(e.lines().count(), 1, "one line: {e}");
    assert!(!x.exists(), "no solution file for an unconverged run");
}

/// Each bad input: exit code 1, one line naming the problem, no output file.
#[test]
fn bad_input_is_a_clear_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(&str, PathBuf, Option<PathBuf>, &str)> = vec![
        (
            "truncated",
            write(
                d,
                "trunc.mtx",
                "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n2 2 1\n",
            ),
            None,
            "truncated",
        ),
        (
            "malformed",
            write(
                d,
                "bad.mtx",
                "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1.0\n2 two 1.0\n",
            ),
            None,
            "bad.mtx:4",
        ),
        (
            "nan",
            write(
                d,
                "nan.mtx",
                "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 NaN\n2 2 1.0\n",
            ),
            None,
            "nan.mtx:3",
        ),
        ("empty", write(d, "empty.mtx", ""), None, "empty file"),
        (
            "not square",
            write(
                d,
                "rect.mtx",
                "%%MatrixMarket matrix coordinate real general\n2 3 2\n1 1 1.0\n2 2 1.0\n",
            ),
            None,
            "not square",
        ),
        (
            "out of range",
            write(
                d,
                "oor.mtx",
                "%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1.0\n",
            ),
            None,
            "oor.mtx:3",
        ),
        (
            "singular",
            write(
                d,
                "sing.mtx",
                "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1.0\n2 1 1.0\n3 3 1.0\n",
            ),
            None,
            "singular",
        ),
        (
            "rhs length",
            write(d, "ok.mtx", TRIDIAG),
            Some(write(
                d,
                "b3.mtx",
                "%%MatrixMarket matrix array real general\n3 1\n1\n1\n1\n",
            )),
            "has 3 entries but the matrix has 4 rows",
        ),
        (
            "rhs nan",
            write(d, "ok2.mtx", TRIDIAG),
            Some(write(
                d,
                "bnan.mtx",
                "%%MatrixMarket matrix array real general\n4 1\n1\nnan\n1\n1\n",
            )),
            "bnan.mtx:4",
        ),
        ("missing file", d.join("nope.mtx"), None, "nope.mtx"),
    ];
    for (what, a, b, expect) in cases {
        let x = d.join(format!("x-{}.mtx", what.replace(' ', "-")));
        let json = d.join(format!("r-{}.json", what.replace(' ', "-")));
        let mut args = vec![
            "solve".to_string(),
            a.to_str().unwrap().to_string(),
            "--out".into(),
            x.to_str().unwrap().into(),
            "--json".into(),
            json.to_str().unwrap().into(),
            "--quiet".into(),
        ];
        if let Some(b) = &b {
            args.push("--rhs".into());
            args.push(b.to_str().unwrap().into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = solvent(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {e}");
        assert!(
            e.starts_with("error: ") && e.contains(expect),
            "{what}: expected '{expect}' in: {e}"
        );
        assert_eq!(e.trim_end().lines().count(), 1, "{what}: one line: {e}");
        assert!(!x.exists() && !json.exists(), "{what}: output written");
    }
    // no temporary files left behind either
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
    // an output directory that does not exist fails before any work
    let o = solvent(&[
        "solve",
        "--grid",
        "8",
        "--out",
        "/nonexistent-dir/x.mtx",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not exist"));
}

#[test]
fn generated_darcy_is_reproducible_from_its_seed() {
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: &str, name: &str| {
        let x = dir.path().join(name);
        let o = solvent(&[
            "solve",
            "--generate",
            "darcy2d",
            "--grid",
            "48",
            "--seed",
            seed,
            "--method",
            "cg",
            "--tol",
            "1e-10",
            "--out",
            x.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        solvent::prelude::read_vector(&x).unwrap()
    };
    let (a, b, c) = (run("5", "a.mtx"), run("5", "b.mtx"), run("6", "c.mtx"));
    assert_eq!(a, b, "same seed, same solution");
    assert_ne!(a, c, "another seed, another coefficient field");
    assert!(
        a.iter().all(|&v| v > 0.0),
        "f = 1 with zero boundary values: u > 0 (maximum principle)"
    );
}
