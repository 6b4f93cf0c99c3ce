//! End-to-end tests of the `mpi` feature: real `mpirun -n 2` and `-n 3` jobs (three
//! ranks oversubscribe a two-core machine) of `datagen`, `solve-seq` and `complete`,
//! checked against the one-process results: the data set and the solutions bit for bit
//! against `--jobs R`, the completion's RMSE trace to 1e-10 and its factor exchange
//! against the model k · rows · 8 bytes; and the faults: a failing rank fails the job
//! with its message and leaves no output.
#![cfg(feature = "mpi")]

use solvent::linalg::io::npz::{self, NpzMember};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{shared, solvent, stderr};

/// `mpirun -n ranks solvent args…` (Open MPI needs leave to run as root and to put
/// more ranks than cores on a machine; MPICH needs neither).
fn mpirun(ranks: usize, args: &[&str]) -> Output {
    let launcher = ["mpirun", "mpiexec"]
        .into_iter()
        .find(|l| Command::new(l).arg("--version").output().is_ok())
        .expect("the mpi feature's tests need mpirun (scripts/test.sh installs MPICH)");
    let version = Command::new(launcher).arg("--version").output().unwrap();
    let mut cmd = Command::new(launcher);
    if String::from_utf8_lossy(&version.stdout).contains("Open MPI") {
        cmd.args(["--oversubscribe", "--allow-run-as-root"]);
    }
    cmd.args(["-n", &ranks.to_string(), env!("CARGO_BIN_EXE_solvent")])
        .args(args)
        .output()
        .expect("run mpirun")
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// Every member of an npz file: arrays as their raw little-endian bytes (compared bit
/// for bit), text as text.
fn members(p: &Path) -> HashMap<String, Vec<u8>> {
    npz::read(p)
        .unwrap()
        .into_iter()
        .map(|(name, m)| match m {
            NpzMember::Array(a) => (name, a.data.iter().flat_map(|v| v.to_le_bytes()).collect()),
            NpzMember::Text(t) => (name, t.into_bytes()),
        })
        .collect()
}

#[test]
fn datagen_on_ranks_is_the_jobs_r_data_set_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    // darcy: sorted GCRO-DR chains; helmholtz: GCRO-DR + ILU(0); 13 samples do not split
    // evenly over 2 or 3 ranks
    for (family, ranks) in [("darcy", 2usize), ("helmholtz", 3)] {
        let common = ["--grid", "20", "--count", "13", "--strategy", "skr", "--quiet"];
        let one = dir.path().join(format!("{family}-jobs.npz"));
        let many = dir.path().join(format!("{family}-mpi.npz"));
        let json = dir.path().join(format!("{family}-mpi.json"));
        let jobs = ranks.to_string();
        let mut args = vec!["datagen", family, "--jobs", &jobs, "--out", one.to_str().unwrap()];
        args.extend(common);
        ok(&solvent(&args), "datagen --jobs");
        let mut args = vec![
            "datagen",
            family,
            "--out",
            many.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ];
        args.extend(common);
        ok(&mpirun(ranks, &args), "mpirun datagen");
        let (a, b) = (members(&one), members(&many));
        let names: Vec<&String> = a.keys().collect();
        assert_eq!(a.len(), b.len(), "{names:?}");
        for (name, bytes) in &a {
            match name.as_str() {
                // seconds differ from run to run; the metadata adds the rank count
                "solve_s" | "metadata" => continue,
                _ => assert!(
                    b.get(name) == Some(bytes),
                    "{family}, {ranks} ranks: `{name}` differs"
                ),
            }
        }
        let meta: serde_json::Value = serde_json::from_slice(&b["metadata"]).unwrap();
        assert_eq!(meta["ranks"], ranks);
        assert_eq!(meta["plan"]["chains"], ranks);
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let per_rank = report["ranks"]["ranks"].as_array().unwrap();
        assert_eq!(per_rank.len(), ranks);
        // every sample is reported once, and the ranks' systems add up to the count
        assert_eq!(report["sequence"]["systems"].as_array().unwrap().len(), 13);
        let work: u64 = per_rank.iter().map(|r| r["work"].as_u64().unwrap()).sum();
        assert_eq!(work, 13);
        let its: u64 = per_rank.iter().map(|r| r["iterations"].as_u64().unwrap()).sum();
        assert_eq!(its, report["sequence"]["total_iterations"].as_u64().unwrap());
        assert!(report["ranks"]["imbalance"].as_f64().unwrap() >= 1.0);
    }
}

#[test]
fn solve_seq_on_ranks_writes_the_jobs_r_solutions() {
    let dir = tempfile::tempdir().unwrap();
    for ranks in [2usize, 3] {
        let one = dir.path().join(format!("jobs{ranks}"));
        let many = dir.path().join(format!("mpi{ranks}"));
        let json = dir.path().join(format!("mpi{ranks}.json"));
        let src = shared();
        let jobs = ranks.to_string();
        ok(
            &solvent(&[
                "solve-seq",
                src.to_str().unwrap(),
                "--strategy",
                "skr",
                "--jobs",
                &jobs,
                "--quiet",
                "--out",
                one.to_str().unwrap(),
            ]),
            "solve-seq --jobs",
        );
        ok(
            &mpirun(
                ranks,
                &[
                    "solve-seq",
                    src.to_str().unwrap(),
                    "--strategy",
                    "skr",
                    "--quiet",
                    "--out",
                    many.to_str().unwrap(),
                    "--json",
                    json.to_str().unwrap(),
                ],
            ),
            "mpirun solve-seq",
        );
        let mut names: Vec<String> = std::fs::read_dir(&one)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["x_0000.mtx", "x_0001.mtx", "x_0002.mtx"]);
        for name in &names {
            assert_eq!(
                std::fs::read(one.join(name)).unwrap(),
                std::fs::read(many.join(name)).unwrap(),
                "{ranks} ranks: {name}"
            );
        }
        // nothing else is left in the output directory (no lock, no staging)
        assert_eq!(std::fs::read_dir(&many).unwrap().count(), 3);
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(report["systems"].as_array().unwrap().len(), 3);
        assert_eq!(report["ranks"]["size"], ranks);
        assert_eq!(report["plan"]["chains"], ranks);
    }
}

/// A rank-4 300 × 200 matrix observed at 15% with noise, as `user item rating` lines.
fn ratings(path: &Path) {
    let (m, n, k) = (300usize, 200usize, 4usize);
    let mut state = 12345u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let u: Vec<f64> = (0..m * k).map(|_| next() - 0.5).collect();
    let v: Vec<f64> = (0..n * k).map(|_| next() - 0.5).collect();
    let mut text = String::new();
    for i in 0..m {
        for j in 0..n {
            if next() < 0.15 {
                let x: f64 = (0..k).map(|t| u[i * k + t] * v[j * k + t]).sum::<f64>() + 0.05 * (next() - 0.5);
                text.push_str(&format!("u{i}\ti{j}\t{x:.6}\n"));
            }
        }
    }
    std::fs::write(path, text).unwrap();
}

fn trace(json: &Path) -> Vec<f64> {
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    report["run"]["trace"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            let e = &t["metrics"]["extra"];
            [
                e["train_rmse"].as_f64().unwrap(),
                e["test_rmse"].as_f64().unwrap(),
            ]
        })
        .collect()
}

#[test]
fn complete_on_ranks_follows_the_one_process_trace() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("r.tsv");
    ratings(&train);
    for solver in ["als", "altmin"] {
        let one = dir.path().join(format!("{solver}-1.json"));
        let common = [
            "complete",
            "--train",
            train.to_str().unwrap(),
            "--split",
            "0.1",
            "--rank",
            "4",
            "--sweeps",
            "6",
            "--tol",
            "0",
            "--solver",
            solver,
            "--quiet",
        ];
        let mut args = common.to_vec();
        args.extend(["--json", one.to_str().unwrap()]);
        ok(&solvent(&args), "complete");
        let reference = trace(&one);
        assert!(reference.len() >= 4, "{reference:?}");
        for ranks in [2usize, 3] {
            let json = dir.path().join(format!("{solver}-{ranks}.json"));
            let factors = dir.path().join(format!("{solver}-{ranks}-factors"));
            let mut args = common.to_vec();
            args.extend([
                "--json",
                json.to_str().unwrap(),
                "--out-factors",
                factors.to_str().unwrap(),
            ]);
            ok(&mpirun(ranks, &args), "mpirun complete");
            let got = trace(&json);
            assert_eq!(got.len(), reference.len(), "{solver}, {ranks} ranks");
            for (a, b) in got.iter().zip(&reference) {
                assert!(
                    (a - b).abs() <= 1e-10 * b.abs(),
                    "{solver}, {ranks} ranks: RMSE {a} vs {b}"
                );
            }
            let report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
            let mpi = &report["mpi"];
            assert_eq!(mpi["ranks"]["size"], ranks);
            // each rank received exactly the factor rows it does not own, k · rows · 8 bytes
            assert_eq!(mpi["sweep_bytes_received"], mpi["sweep_bytes_model"]);
            let (m, n) = (report["m"].as_u64().unwrap(), report["n"].as_u64().unwrap());
            let blocks = &mpi["partition"];
            for r in 0..ranks {
                let own = blocks["rows"][r + 1].as_u64().unwrap() - blocks["rows"][r].as_u64().unwrap()
                    + blocks["cols"][r + 1].as_u64().unwrap()
                    - blocks["cols"][r].as_u64().unwrap();
                assert_eq!(
                    mpi["sweep_bytes_model"][r].as_u64().unwrap(),
                    4 * (m + n - own) * 8
                );
            }
            assert!(factors.join("U.npy").is_file() && factors.join("V.npy").is_file());
        }
    }
}

#[test]
fn a_failing_rank_fails_the_job_with_its_message_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    // system 2 is unreadable: the rank that solves it fails, the others finish
    let seq = dir.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    for e in std::fs::read_dir(shared()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), seq.join(e.file_name())).unwrap();
    }
    std::fs::write(seq.join("A_0002.mtx"), "not a matrix\n").unwrap();
    let out = dir.path().join("out");
    let o = mpirun(
        2,
        &[
            "solve-seq",
            seq.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("error: rank ") && err.contains("A_0002.mtx"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&out).map(|d| d.collect()).unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // datagen: a setting rank 0 refuses before any work (two ranks, one sample); no file
    let data = dir.path().join("d.npz");
    let o = mpirun(
        2,
        &[
            "datagen",
            "darcy",
            "--grid",
            "8",
            "--count",
            "1",
            "--out",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("more ranks than samples"), "{}", stderr(&o));
    assert!(!data.exists());
    // complete: rank 0 cannot read the training file; every rank stops
    let o = mpirun(
        3,
        &[
            "complete",
            "--train",
            dir.path().join("missing.tsv").to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.tsv"), "{}", stderr(&o));
}

#[test]
fn without_mpirun_a_binary_built_with_mpi_is_one_rank() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.npz");
    let o = solvent(&[
        "datagen",
        "darcy",
        "--grid",
        "8",
        "--count",
        "3",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&o, "datagen without mpirun");
    let meta: serde_json::Value = serde_json::from_slice(&members(&out)["metadata"]).unwrap();
    // the one-process data set: no rank count recorded
    assert!(meta.get("ranks").is_none(), "{meta}");
    let o = mpirun(
        1,
        &[
            "datagen",
            "darcy",
            "--grid",
            "8",
            "--count",
            "3",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    ok(&o, "mpirun -n 1");
}
