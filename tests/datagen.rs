//! End-to-end tests of `solvent datagen` and `solvent solve-seq`: every
//! written solution is checked against an independently assembled system.

use solvent::linalg::io::npy::NpyArray;
use solvent::linalg::io::npz::{self, NpzMember};
use solvent::linalg::vector::relative_residual;
use solvent::problems::generators::{FamilyConfig, PdeFamily, PdeSampler};
use std::collections::HashMap;
use std::path::Path;

mod common;
use common::{check_shared_solutions, shared, solvent, stderr};

struct Npz {
    arrays: HashMap<String, NpyArray>,
    text: HashMap<String, String>,
}

fn load(p: &Path) -> Npz {
    let mut arrays = HashMap::new();
    let mut text = HashMap::new();
    for (name, m) in npz::read(p).unwrap() {
        match m {
            NpzMember::Array(a) => {
                arrays.insert(name, a);
            }
            NpzMember::Text(t) => {
                text.insert(name, t);
            }
        }
    }
    Npz { arrays, text }
}

/// Runs datagen and checks every solution against the independently assembled system.
fn generate_and_check(family: &str, strategy: &str, extra: &[&str]) -> (Npz, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.npz");
    let json = dir.path().join("r.json");
    let (grid, count, tol) = (16usize, 12usize, 1e-9);
    let mut args = vec![
        "datagen",
        family,
        "--grid",
        "16",
        "--count",
        "12",
        "--seed",
        "3",
        "--tol",
        "1e-9",
        "--strategy",
        strategy,
        "--precision",
        "f64",
        "--restart",
        "20",
        "--recycle",
        "8",
        "--out",
        out.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let o = solvent(&args);
    assert!(o.status.success(), "{family}/{strategy}: {}", stderr(&o));
    let d = load(&out);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let sampler = PdeSampler::new(PdeFamily::parse(family).unwrap(), FamilyConfig::new(grid, 3)).unwrap();
    let sol = &d.arrays["sol"];
    let coeff = &d.arrays["coeff"];
    assert_eq!(sol.shape, vec![count, grid, grid]);
    assert_eq!(coeff.shape, vec![count, grid, grid]);
    let n = grid * grid;
    for i in 0..count {
        let s = sampler.sample(i).unwrap();
        let x = &sol.data[i * n..(i + 1) * n];
        let res = relative_residual(&s.a, x, &s.b);
        assert!(res <= tol, "{family}/{strategy} sample {i}: residual {res:.2e}");
        assert!((d.arrays["relres"].data[i] - res).abs() <= 1e-3 * res + 1e-16);
        assert_eq!(
            &coeff.data[i * n..(i + 1) * n],
            s.coeff.as_slice(),
            "sample order"
        );
    }
    // the solve order is a permutation
    let mut order: Vec<usize> = report["sequence"]["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    order.sort_unstable();
    assert_eq!(order, (0..count).collect::<Vec<_>>());
    let meta: serde_json::Value = serde_json::from_str(&d.text["metadata"]).unwrap();
    assert_eq!(meta["family"], family);
    assert_eq!(meta["seed"], 3);
    (d, report)
}

#[test]
fn every_family_and_strategy_writes_solutions_that_solve_their_systems() {
    let mut sols: Vec<Vec<f64>> = Vec::new();
    for strategy in ["auto", "skr", "independent"] {
        let (d, _) = generate_and_check("darcy", strategy, &[]);
        sols.push(d.arrays["sol"].data.clone());
    }
    // the three strategies agree to the tolerance's accuracy
    for s in &sols[1..] {
        let num: f64 = s.iter().zip(&sols[0]).map(|(a, b)| (a - b) * (a - b)).sum();
        let den: f64 = sols[0].iter().map(|a| a * a).sum();
        assert!((num / den).sqrt() < 1e-6);
    }
    for family in ["darcy-threshold", "convdiff", "helmholtz"] {
        generate_and_check(family, "skr", &[]);
    }
    let (d, report) = generate_and_check("helmholtz", "auto", &["--method", "direct"]);
    assert_eq!(d.arrays["k"].shape, vec![12]);
    assert!(report["sequence"]["plan"]["reason"]
        .as_str()
        .unwrap()
        .contains("symbolic"));
    let (_, report) = generate_and_check("poisson-rhs", "auto", &[]);
    assert!(report["sequence"]["plan"]["reason"]
        .as_str()
        .unwrap()
        .contains("factorise once"));
    // factorised once: every later system reuses the factor
    let reused = report["sequence"]["systems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reused"] == true)
        .count();
    assert_eq!(reused, 11);
    generate_and_check(
        "convdiff",
        "independent",
        &["--method", "bicgstab", "--precond", "ilu0"],
    );
}

#[test]
fn the_3d_families_write_n_cubed_arrays_that_solve_their_systems() {
    let help = solvent(&["datagen", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for &family in PdeFamily::ALL {
        assert!(help.contains(family.as_str()), "--help lists {family}");
    }
    let dir = tempfile::tempdir().unwrap();
    let (grid, count, tol) = (6usize, 3usize, 1e-9);
    let n = grid * grid * grid;
    for family in ["darcy3d", "helmholtz3d", "convdiff3d"] {
        let out = dir.path().join(format!("{family}.npz"));
        let o = solvent(&[
            "datagen",
            family,
            "--grid",
            "6",
            "--count",
            "3",
            "--seed",
            "5",
            "--tol",
            "1e-9",
            "--precision",
            "f64",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{family}: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("6×6×6 grid (n = 216)"), "{text}");
        let d = load(&out);
        for field in ["coeff", "sol"] {
            assert_eq!(d.arrays[field].shape, vec![count, grid, grid, grid], "{family}");
        }
        assert_eq!(d.arrays["z"].shape, vec![grid]);
        let meta: serde_json::Value = serde_json::from_str(&d.text["metadata"]).unwrap();
        assert_eq!(
            (meta["family"].as_str(), meta["dim"].as_u64()),
            (Some(family), Some(3))
        );
        let sampler = PdeSampler::new(PdeFamily::parse(family).unwrap(), FamilyConfig::new(grid, 5)).unwrap();
        for i in 0..count {
            let s = sampler.sample(i).unwrap();
            let x = &d.arrays["sol"].data[i * n..(i + 1) * n];
            let res = relative_residual(&s.a, x, &s.b);
            assert!(res <= tol, "{family} sample {i}: residual {res:.2e}");
            assert_eq!(&d.arrays["coeff"].data[i * n..(i + 1) * n], s.coeff.as_slice());
        }
    }
}

#[test]
fn parallel_chains_write_the_same_data_set() {
    // --jobs 3: three chains of the sorted order at once; every solution still solves its
    // system (checked inside), in sample order, and agrees with the one-chain run
    let (one, _) = generate_and_check("convdiff", "skr", &[]);
    let (three, report) = generate_and_check("convdiff", "skr", &["--jobs", "3"]);
    assert_eq!(report["sequence"]["plan"]["chains"], 3);
    let (a, b) = (&one.arrays["sol"].data, &three.arrays["sol"].data);
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = a.iter().map(|x| x * x).sum();
    assert!((num / den).sqrt() < 1e-6);
    // three chains start cold three times
    let cold = report["sequence"]["systems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["change"]["kind"] == "first")
        .count();
    assert_eq!(cold, 3);
    let (_, report) = generate_and_check("darcy", "auto", &["--jobs", "2"]);
    assert_eq!(report["sequence"]["plan"]["chains"], 2);
}

#[test]
fn float32_output_and_the_baseline_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.npz");
    let o = solvent(&[
        "datagen",
        "darcy",
        "--grid",
        "12",
        "--count",
        "6",
        "--strategy",
        "skr",
        "--baseline",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("Baseline (GMRES(40)") && text.contains("faster"),
        "{text}"
    );
    let bytes = std::fs::read(&out).unwrap();
    // float32 members: the .npy header names '<f4'
    assert!(bytes.windows(5).any(|w| w == b"'<f4'"));
    let d = load(&out);
    assert!(d.arrays["relres"].data.iter().all(|&r| r <= 1e-8));
    assert_eq!(d.arrays["iters"].shape, vec![6]);
}

#[test]
fn bad_datagen_input_is_a_clear_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.npz");
    let o_str = out.to_str().unwrap();
    let missing = dir.path().join("no/such/d.npz");
    for (args, needle) in [
        (vec!["datagen", "darcy", "--grid", "1", "--out", o_str], "--grid"),
        (
            vec!["datagen", "darcy", "--count", "0", "--out", o_str],
            "--count",
        ),
        (vec!["datagen", "darcy", "--tol", "0", "--out", o_str], "--tol"),
        (
            vec!["datagen", "darcy", "--out", missing.to_str().unwrap()],
            "does not exist",
        ),
        (vec!["datagen", "darcy", "--out", "d.txt"], "unknown format"),
        (
            vec![
                "datagen",
                "darcy",
                "--strategy",
                "skr",
                "--recycle",
                "40",
                "--out",
                o_str,
            ],
            "recycle",
        ),
        (
            vec![
                "datagen",
                "darcy",
                "--strategy",
                "skr",
                "--method",
                "cg",
                "--out",
                o_str,
            ],
            "skr",
        ),
        (vec!["datagen", "darcy4d"], "invalid value"),
        (
            // 20 × 400³ float32 values: the size check counts N³ for the 3-D families
            vec![
                "datagen", "darcy3d", "--grid", "400", "--count", "20", "--out", o_str,
            ],
            "400×400×400",
        ),
        (
            vec![
                "datagen", "darcy", "--grid", "2000", "--count", "300", "--out", o_str,
            ],
            "4 GiB",
        ),
        (
            vec!["datagen", "darcy", "--method", "cg", "--out", o_str],
            "auto chooses",
        ),
    ] {
        let o = solvent(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
    // a system that does not converge: data set written, non-zero exit
    let o = solvent(&[
        "datagen",
        "convdiff",
        "--grid",
        "12",
        "--count",
        "3",
        "--strategy",
        "independent",
        "--max-iters",
        "2",
        "--out",
        o_str,
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("did not reach tol"));
    let d = load(&out);
    assert!(d.arrays["relres"].data.iter().all(|&r| r > 1e-8));
}

#[test]
fn solve_seq_reproduces_the_shared_reference_solutions() {
    // the last: skr on two chains (systems 0 | 1, 2 of the sorted order)
    for (strategy, jobs) in [("auto", 1), ("skr", 1), ("independent", 1), ("skr", 2)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sol");
        let json = dir.path().join("r.json");
        let o = solvent(&[
            "solve-seq",
            shared().to_str().unwrap(),
            "--strategy",
            strategy,
            "--jobs",
            &jobs.to_string(),
            "--tol",
            "1e-10",
            "--out",
            out.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{strategy}: {}", stderr(&o));
        let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(r["ordered_by"], "params_*.npy");
        assert_eq!(r["plan"]["chains"], jobs);
        assert!(r["solve_wall_s"].as_f64().unwrap() > 0.0);
        for (k, res) in check_shared_solutions(&out, strategy).into_iter().enumerate() {
            let rep = r["systems"][k]["relres"].as_f64().unwrap();
            assert!((rep - res).abs() <= 1e-3 * res + 1e-18);
        }
    }
}

const POISSON1D: &str = "%%MatrixMarket matrix coordinate real general\n4 4 10\n1 1 2\n1 2 -1\n2 1 -1\n2 2 2\n2 3 -1\n3 2 -1\n3 3 2\n3 4 -1\n4 3 -1\n4 4 2\n";
const IDENTITY: &str = "%%MatrixMarket matrix coordinate real general\n4 4 4\n1 1 1\n2 2 1\n3 3 1\n4 4 1\n";
const B4: &str = "%%MatrixMarket matrix array real general\n4 1\n1\n2\n3\n4\n";

#[test]
fn bad_solve_seq_input_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let w = |name: &str, text: &str| std::fs::write(p.join(name), text).unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec!["solve-seq", p.to_str().unwrap(), "--quiet"];
        a.extend_from_slice(extra);
        solvent(&a)
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no systems found"), "{}", stderr(&o));
    w("A_0000.mtx", IDENTITY);
    w("b_0000.mtx", B4);
    w("A_0002.mtx", POISSON1D);
    w("b_0002.mtx", B4);
    let o = run(&[]);
    assert!(stderr(&o).contains("A_0001.mtx is missing"), "{}", stderr(&o));
    w("A_0001.mtx", POISSON1D);
    let o = run(&[]);
    assert!(stderr(&o).contains("b_0001.mtx"), "{}", stderr(&o));
    w(
        "b_0001.mtx",
        "%%MatrixMarket matrix array real general\n3 1\n1\n2\n3\n",
    );
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("right-hand side has 3 entries"),
        "{}",
        stderr(&o)
    );
    w("b_0001.mtx", B4);
    // unwritable output: a file where the directory should be
    w("blocker", "");
    let o = run(&["--out", p.join("blocker").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot write solutions"), "{}", stderr(&o));
    // a system that does not converge: the others are written, exit 2
    let out = p.join("sol");
    let o = run(&[
        "--strategy",
        "independent",
        "--method",
        "gmres",
        "--max-iters",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("A_0001.mtx did not converge"),
        "{}",
        stderr(&o)
    );
    assert!(out.join("x_0000.mtx").exists());
    assert!(!out.join("x_0001.mtx").exists());
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["x_0000.mtx".to_string()], "no temporary files left");
}

#[cfg(feature = "hdf5")]
#[test]
fn hdf5_output_has_the_pdebench_layout_and_solves_the_systems() {
    use hdf5_metno as h5;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.h5");
    let o = solvent(&[
        "datagen",
        "helmholtz",
        "--grid",
        "10",
        "--count",
        "4",
        "--seed",
        "2",
        "--precision",
        "f64",
        "--tol",
        "1e-10",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let f = h5::File::open(&out).unwrap();
    let tensor = f.dataset("tensor").unwrap();
    assert_eq!(tensor.shape(), vec![4, 1, 10, 10]);
    assert_eq!(f.dataset("nu").unwrap().shape(), vec![4, 10, 10]);
    assert_eq!(f.dataset("x-coordinate").unwrap().shape(), vec![10]);
    let sol: Vec<f64> = tensor.read_raw().unwrap();
    let ks: Vec<f64> = f.dataset("k").unwrap().read_raw().unwrap();
    let seed: u64 = f.attr("seed").unwrap().read_scalar().unwrap();
    assert_eq!(seed, 2);
    let sampler = PdeSampler::new(PdeFamily::Helmholtz, FamilyConfig::new(10, 2)).unwrap();
    for i in 0..4 {
        let s = sampler.sample(i).unwrap();
        assert_eq!(ks[i], s.scalar.unwrap());
        let res = relative_residual(&s.a, &sol[i * 100..(i + 1) * 100], &s.b);
        assert!(res <= 1e-10, "sample {i}: {res:.2e}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn the_published_preset_runs_the_papers_operator_and_reports_the_ratio() {
    let d = tempfile::tempdir().unwrap();
    let (out, json) = (d.path().join("p.npz"), d.path().join("p.json"));
    let o = solvent(&[
        "datagen",
        "darcy",
        "--preset",
        "published",
        "--grid",
        "24",
        "--count",
        "12",
        "--strategy",
        "skr",
        "--baseline",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(r["metadata"]["darcy_operator"]
        .as_str()
        .unwrap()
        .contains("L diag(a)"));
    assert_eq!(r["metadata"]["grf"]["alpha"], 2.5);
    assert_eq!(r["metadata"]["grf"]["tau"], 7.0);
    // the paper's Darcy runs: no preconditioner, GCRO-DR refreshed every cycle
    assert_eq!(r["sequence"]["plan"]["precond"], "none");
    assert_eq!(r["sequence"]["plan"]["refresh_every"], 1);
    let ratio = r["speedup"]["iterations"].as_f64().unwrap();
    assert!(ratio > 1.5, "skr needs fewer iterations than GMRES(40): {ratio}");
}

#[test]
fn pieces_of_the_sorted_sequence_put_together_equal_the_run_with_as_many_chains() {
    use solvent::solvers::datagen::{generate, DatagenConfig};
    use solvent::solvers::sequence::{NoProgress, SequenceConfig, Strategy};
    let base = |shard, chains| DatagenConfig {
        seed: 4,
        shard,
        sequence: SequenceConfig {
            strategy: Strategy::Skr,
            chains,
            ..SequenceConfig::default()
        },
        ..DatagenConfig::new(PdeFamily::Darcy, 16, 10)
    };
    let pieces = 3;
    let whole = generate(&base(None, pieces), &mut NoProgress).unwrap();
    let n = 16 * 16;
    let mut seen = [false; 10];
    let mut position = 0;
    for piece in 0..pieces {
        let part = generate(&base(Some((piece, pieces)), 1), &mut NoProgress).unwrap();
        let index = part.dataset.index.clone().expect("a piece records its samples");
        // the piece is a contiguous piece of the whole run's solve order
        let mut expected: Vec<i64> = whole.report.order[position..position + index.len()]
            .iter()
            .map(|&i| i as i64)
            .collect();
        expected.sort_unstable();
        assert_eq!(index, expected);
        position += index.len();
        for (j, &i) in index.iter().enumerate() {
            let i = i as usize;
            seen[i] = true;
            assert_eq!(
                part.dataset.sol[j * n..(j + 1) * n],
                whole.dataset.sol[i * n..(i + 1) * n]
            );
            assert_eq!(
                part.dataset.coeff[j * n..(j + 1) * n],
                whole.dataset.coeff[i * n..(i + 1) * n]
            );
            assert_eq!(part.dataset.iters[j], whole.dataset.iters[i]);
        }
    }
    assert!(seen.iter().all(|&s| s));
    // a piece out of range is a setting error, not a panic
    assert!(generate(&base(Some((3, 3)), 1), &mut NoProgress).is_err());
}
