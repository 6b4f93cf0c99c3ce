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

#[test]
fn the_default_regularisation_does_not_overfit_and_auto_picks_by_held_out_error() {
    // noisy, sparse low-rank ratings: a small λ overfits
    let d = tempfile::tempdir().unwrap();
    let (r, _, _) = synthetic(&SyntheticConfig {
        m: 300,
        n: 200,
        rank: 5,
        p: 0.08,
        noise: 0.5,
        seed: 11,
    })
    .unwrap();
    let train = d.path().join("r.tsv");
    write_ratings(&train, &r.entries, 0);
    let run = |reg: Option<&str>| -> serde_json::Value {
        let json = d.path().join("rep.json");
        let mut args = vec![
            "complete",
            "--train",
            train.to_str().unwrap(),
            "--split",
            "0.2",
            "--rank",
            "10",
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ];
        if let Some(reg) = reg {
            args.extend(["--reg", reg]);
        }
        let o = solvent(&args);
        assert!(o.status.success(), "{reg:?}: {}", stderr(&o));
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
    };
    let rmse = |v: &serde_json::Value| v["test_rmse_with_fallback"].as_f64().unwrap();
    let (small, default, auto) = (run(Some("0.02")), run(None), run(Some("auto")));
    assert_eq!(default["reg"], 0.12, "the documented default");
    assert!(
        rmse(&default) < rmse(&small),
        "default {} vs λ = 0.02 {}",
        rmse(&default),
        rmse(&small)
    );
    // auto's λ is the held-out argmin of its grid, and generalises at least as well as λ = 0.02
    let scores = auto["reg_choice"]["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 7);
    let best = scores
        .iter()
        .min_by(|a, b| a[1].as_f64().unwrap().total_cmp(&b[1].as_f64().unwrap()))
        .unwrap()[0]
        .as_f64()
        .unwrap();
    assert_eq!(auto["reg"].as_f64().unwrap(), best);
    assert!(
        rmse(&auto) < rmse(&small),
        "auto {} vs λ = 0.02 {}",
        rmse(&auto),
        rmse(&small)
    );
}

#[test]
fn a_pairs_file_with_a_header_gets_no_prediction_for_it() {
    let d = tempfile::tempdir().unwrap();
    let train = d.path().join("r.tsv");
    std::fs::write(&train, "row\tcol\tvalue\n1\t1\t4\n1\t2\t3\n2\t1\t5\n2\t2\t1\n").unwrap();
    let pairs = d.path().join("p.tsv");
    std::fs::write(&pairs, "row\tcol\tvalue\n1\t2\t0\n").unwrap();
    let out = d.path().join("out.tsv");
    let o = solvent(&[
        "complete",
        "--train",
        train.to_str().unwrap(),
        "--rank",
        "1",
        "--quiet",
        "--predict",
        pairs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("1\t2\t"), "{text}");
}
