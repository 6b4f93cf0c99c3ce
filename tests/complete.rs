//! End-to-end tests of `solvent complete`: files in, factors and predictions out.

use solvent::problems::completion::{synthetic, SyntheticConfig};
use std::fmt::Write as _;

mod common;
use common::{solvent, stderr};

fn write_ratings(path: &std::path::Path, entries: &[(u32, u32, f64)], offset: u32) {
    let mut s = String::new();
    for &(i, j, v) in entries {
        // ids unlike indices: users "u<i>", items "<j + offset>"
        writeln!(s, "u{i}\t{}\t{v}\t0", j + offset).unwrap();
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn complete_recovers_a_low_rank_matrix_and_predicts_with_the_original_ids() {
    let d = tempfile::tempdir().unwrap();
    let (r, _, _) = synthetic(&SyntheticConfig {
        m: 150,
        n: 120,
        rank: 3,
        p: 0.4,
        noise: 0.0,
        seed: 3,
    })
    .unwrap();
    let (train, test) = r.split(0.1, 4).unwrap();
    let (tp, sp) = (d.path().join("train.tsv"), d.path().join("test.tsv"));
    write_ratings(&tp, &train.entries, 1000);
    // one test pair with an unseen user: predicted by the training mean
    let mut test_entries = test.entries.clone();
    test_entries.truncate(50);
    write_ratings(&sp, &test_entries, 1000);
    let mut s = std::fs::read_to_string(&sp).unwrap();
    s.push_str("stranger\t1000\t2.5\t0\n");
    std::fs::write(&sp, s).unwrap();
    let pairs = d.path().join("pairs.txt");
    let mut ps = String::from("user item\n");
    for &(i, j, _) in &test_entries[..5] {
        writeln!(ps, "u{i} {}", j + 1000).unwrap();
    }
    ps.push_str("nobody 1000\n");
    std::fs::write(&pairs, ps).unwrap();
    let (preds, json, fdir) = (
        d.path().join("p.tsv"),
        d.path().join("r.json"),
        d.path().join("f"),
    );
    for solver in ["altmin", "als"] {
        let o = solvent(&[
            "complete",
            "--train",
            tp.to_str().unwrap(),
            "--test",
            sp.to_str().unwrap(),
            "--rank",
            "3",
            "--reg",
            "0",
            "--solver",
            solver,
            "--sweeps",
            "40",
            "--tol",
            "0",
            "--predict",
            pairs.to_str().unwrap(),
            "--out",
            preds.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--out-factors",
            fdir.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{solver}: {}", stderr(&o));
        let rep: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(rep["unseen_test_entries"], 1);
        assert!(
            rep["test_rmse"].as_f64().unwrap() < 1e-6,
            "{solver}: {}",
            rep["test_rmse"]
        );
        let lines: Vec<String> = std::fs::read_to_string(&preds)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(lines.len(), 6);
        for (line, &(i, j, v)) in lines.iter().zip(&test_entries[..5]) {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(
                (f[0], f[1]),
                (format!("u{i}").as_str(), (j + 1000).to_string().as_str())
            );
            assert!(
                (f[2].parse::<f64>().unwrap() - v).abs() < 1e-6,
                "{solver}: {line} vs {v}"
            );
        }
        let mean = rep["train_mean"].as_f64().unwrap();
        let last: Vec<&str> = lines[5].split('\t').collect();
        assert_eq!(last[0], "nobody");
        assert!((last[2].parse::<f64>().unwrap() - mean).abs() < 1e-12);
        assert_eq!(rep["fallback_predictions"], 1);
        let users = std::fs::read_to_string(fdir.join("users.txt")).unwrap();
        assert_eq!(users.lines().count(), rep["m"].as_u64().unwrap() as usize);
        assert!(fdir.join("U.npy").exists() && fdir.join("V.npy").exists());
    }
}

#[test]
fn bad_complete_input_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.tsv");
    std::fs::write(&bad, "1 1 5\n1 2 4\n2 1 x\n").unwrap();
    let o = solvent(&["complete", "--train", bad.to_str().unwrap(), "--rank", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("bad.tsv:3") && stderr(&o).contains("not a number"),
        "{}",
        stderr(&o)
    );
    let good = d.path().join("good.tsv");
    std::fs::write(&good, "1 1 5\n1 2 4\n2 1 3\n").unwrap();
    for rank in ["0", "3"] {
        let o = solvent(&[
            "complete",
            "--train",
            good.to_str().unwrap(),
            "--rank",
            rank,
            "--quiet",
        ]);
        assert_eq!(o.status.code(), Some(1), "rank {rank}");
        assert!(stderr(&o).contains("rank"), "{}", stderr(&o));
    }
    let o = solvent(&[
        "complete",
        "--train",
        good.to_str().unwrap(),
        "--predict",
        good.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "clap: --predict needs --out (a usage error: exit 1)"
    );
}
