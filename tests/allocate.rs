//! End-to-end tests of `solvent allocate`: tables in, allocations and reports out.

use serde_json::Value;
use solvent::problems::allocation::{synthetic_table, write_json, SyntheticTable};
use solvent::solvers::allocation::{dp, Mckp};

mod common;
use common::{solvent, stderr};

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn csv_table(dir: &std::path::Path) -> std::path::PathBuf {
    // Three layers, non-convex curves.
    let p = dir.join("t.csv");
    std::fs::write(
        &p,
        "layer,level,sparsity,params,flops,distortion,shape\n\
         a,0,0.0,100,400,0.0,10x10\na,1,0.5,50,200,1.0,\na,2,0.9,10,40,9.0,\n\
         b,0,0.0,200,200,0.0,20x10\nb,1,0.5,100,100,4.0,\nb,2,0.9,20,20,5.0,\n\
         c,0,0.0,60,600,0.0,6x10\nc,1,0.5,30,300,0.5,\nc,2,0.9,6,60,7.0,\n",
    )
    .unwrap();
    p
}

#[test]
fn allocate_a_csv_table_exactly_and_compare() {
    let d = tempfile::tempdir().unwrap();
    let t = csv_table(d.path());
    let (out, rep) = (d.path().join("alloc.json"), d.path().join("rep.json"));
    let o = solvent(&[
        "allocate",
        "--table",
        t.to_str().unwrap(),
        "--budget",
        "190",
        "--compare",
        "--out",
        out.to_str().unwrap(),
        "--json",
        rep.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a = read(&out);
    // Brute force over the 27 choices.
    let costs = [[100, 50, 10], [200, 100, 20], [60, 30, 6]];
    let dist = [[0.0, 1.0, 9.0], [0.0, 4.0, 5.0], [0.0, 0.5, 7.0]];
    let mut best = f64::INFINITY;
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                if costs[0][i] + costs[1][j] + costs[2][k] <= 190 {
                    best = best.min(dist[0][i] + dist[1][j] + dist[2][k]);
                }
            }
        }
    }
    let total = a["total_distortion"].as_f64().unwrap();
    assert_eq!(total, best);
    assert!(a["total_cost"]["params"].as_u64().unwrap() <= 190);
    assert!(a["lower_bound"].as_f64().unwrap() <= total);
    let names: Vec<&str> = a["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    for l in a["layers"].as_array().unwrap() {
        assert!(l["level"].is_u64() && l["sparsity"].is_f64() && l["cost"]["flops"].is_u64());
    }
    let r = read(&rep);
    assert_eq!(r["run"]["status"]["kind"], "converged");
    assert_eq!(r["run"]["metrics"]["criterion"], "bound_gap");
    let compare = r["compare"].as_array().unwrap();
    assert!(compare.len() >= 3);
    for c in compare {
        if let Some(v) = c["total_distortion"].as_f64() {
            assert!(v >= total, "{} beats the DP", c["method"]);
        }
    }
}

#[test]
fn allocate_two_budgets_and_evolve_with_a_command_evaluator() {
    let d = tempfile::tempdir().unwrap();
    let t = csv_table(d.path());
    let out = d.path().join("alloc.json");
    let o = solvent(&[
        "allocate",
        "--table",
        t.to_str().unwrap(),
        "--budget",
        "250",
        "--second-cost",
        "flops",
        "--second-budget",
        "500",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a = read(&out);
    assert!(a["total_cost"]["params"].as_u64().unwrap() <= 250);
    assert!(a["total_cost"]["flops"].as_u64().unwrap() <= 500);
    assert!(a["lower_bound"].as_f64().unwrap() <= a["total_distortion"].as_f64().unwrap() + 1e-12);
    // A black-box evaluator: the length of the allocation JSON it is given (a number per call).
    let rep = d.path().join("rep.json");
    let o = solvent(&[
        "allocate",
        "--table",
        t.to_str().unwrap(),
        "--budget",
        "250",
        "--method",
        "evolve",
        "--evaluator",
        "wc -c",
        "--generations",
        "3",
        "--offspring",
        "4",
        "--json",
        rep.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read(&rep);
    assert_eq!(r["run"]["iterations"], 3);
    assert_eq!(r["run"]["solver"], "allocation-evolve");
    let e = &r["details"]["evolve"];
    assert!(e["value"].as_f64().unwrap() <= e["start_value"].as_f64().unwrap());
    assert!(e["evaluations"].as_u64().unwrap() > 1);
    let o = solvent(&[
        "allocate",
        "--table",
        t.to_str().unwrap(),
        "--budget",
        "250",
        "--method",
        "evolve",
        "--evaluator",
        "echo oops",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("\"oops\", is not a finite number"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn allocate_rejects_bad_input_clearly() {
    let d = tempfile::tempdir().unwrap();
    let t = csv_table(d.path());
    let ts = t.to_str().unwrap();
    // Minimum achievable is 10 + 20 + 6 = 36: 36 works, 35 does not.
    let o = solvent(&["allocate", "--table", ts, "--budget", "36", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = solvent(&["allocate", "--table", ts, "--budget", "35"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("infeasible") && e.contains("minimum achievable 36"),
        "{e}"
    );
    let o = solvent(&["allocate", "--table", ts, "--method", "global"]);
    assert!(stderr(&o).contains("needs --model"), "{}", stderr(&o));
    let o = solvent(&["allocate", "--table", ts, "--cost", "bytes"]);
    assert!(
        stderr(&o).contains("no \"bytes\" costs (it has: params, flops)"),
        "{}",
        stderr(&o)
    );
    let o = solvent(&["allocate", "--table", ts, "--budget-frac", "1.5"]);
    assert!(
        stderr(&o).contains("fraction must be in (0, 1]"),
        "{}",
        stderr(&o)
    );
    let bad = d.path().join("bad.csv");
    std::fs::write(&bad, "layer,level,params,distortion\nx,0,10,0\nx,1,5,nan\n").unwrap();
    let o = solvent(&["allocate", "--table", bad.to_str().unwrap()]);
    assert!(
        stderr(&o).contains("bad.csv:3: distortion is NaN"),
        "{}",
        stderr(&o)
    );
    let out = d.path().join("never.json");
    let o = solvent(&[
        "allocate",
        "--table",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success() && !out.exists());
}

#[test]
fn scaled_resolution_reports_its_rounding_and_stays_within_budget() {
    let d = tempfile::tempdir().unwrap();
    let table = synthetic_table(&SyntheticTable {
        layers: 120,
        levels: 41,
        noise: 0.1,
        seed: 9,
        ..SyntheticTable::default()
    })
    .unwrap();
    let path = d.path().join("t.json");
    write_json(&table, &path).unwrap();
    let budget = table.max_total(0) / 3;
    let exact = dp::solve(&Mckp::from_table(&table, 0, budget).unwrap()).unwrap();
    let rep = d.path().join("rep.json");
    let o = solvent(&[
        "allocate",
        "--table",
        path.to_str().unwrap(),
        "--budget",
        &budget.to_string(),
        "--resolution",
        "5000",
        "--json",
        rep.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read(&rep);
    let unit = r["scaling"]["unit"].as_f64().unwrap();
    let rounding = r["scaling"]["cost_rounding"].as_f64().unwrap();
    assert!(unit > 1.0 && rounding > 0.0 && rounding <= 121.0 * unit);
    assert!(r["total_cost"]["params"].as_u64().unwrap() <= budget);
    let v = r["total_distortion"].as_f64().unwrap();
    assert!(v >= exact.value - 1e-9 * exact.value);
    assert!(r["lower_bound"].as_f64().unwrap() <= exact.value + 1e-9 * exact.value);
    // Exact by default: the CLI matches the library's DP.
    let o = solvent(&[
        "allocate",
        "--table",
        path.to_str().unwrap(),
        "--budget",
        &budget.to_string(),
        "--json",
        rep.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success());
    let v = read(&rep)["total_distortion"].as_f64().unwrap();
    assert!((v - exact.value).abs() <= 1e-9 * exact.value);
}

/// A safetensors file by hand: header length, JSON header, little-endian data.
fn write_safetensors(path: &std::path::Path, tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let mut offset = 0;
    for (name, dtype, shape, data) in tensors {
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + data.len()]}),
        );
        offset += data.len();
    }
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
    bytes.extend(h);
    for (_, _, _, data) in tensors {
        bytes.extend(data);
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn allocate_a_model_and_write_the_pruned_file() {
    let d = tempfile::tempdir().unwrap();
    let model = d.path().join("m.safetensors");
    let f32s = |v: Vec<f32>| v.into_iter().flat_map(f32::to_le_bytes).collect::<Vec<u8>>();
    // fc1: 4×8 weights 1..32 (scaled), fc2: 8×2 weights with signs, a bias and an int tensor.
    let w1: Vec<f32> = (1..=32).map(|i| i as f32 * 0.1).collect();
    let w2: Vec<f32> = (1..=16)
        .map(|i| if i % 2 == 0 { i as f32 } else { -(i as f32) } * 0.05)
        .collect();
    write_safetensors(
        &model,
        &[
            ("fc1.weight", "F32", vec![4, 8], f32s(w1.clone())),
            ("fc1.bias", "F32", vec![4], f32s(vec![0.5; 4])),
            ("fc2.weight", "F32", vec![8, 2], f32s(w2.clone())),
            (
                "ids",
                "I64",
                vec![1, 3],
                (0..3i64).flat_map(i64::to_le_bytes).collect(),
            ),
        ],
    );
    let (out, pruned) = (d.path().join("alloc.json"), d.path().join("p.safetensors"));
    let o = solvent(&[
        "allocate",
        "--model",
        model.to_str().unwrap(),
        "--levels",
        "5",
        "--budget-frac",
        "0.5",
        "--out",
        out.to_str().unwrap(),
        "--write-pruned",
        pruned.to_str().unwrap(),
        "--compare",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let a = read(&out);
    let layers = a["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2); // the I64 tensor and the bias are not candidates
    let kept: u64 = layers.iter().map(|l| l["cost"]["params"].as_u64().unwrap()).sum();
    assert!(kept <= 24);
    // The pruned file: zeros exactly where the allocation says, the largest weights kept,
    // everything else byte for byte.
    let orig = std::fs::read(&model).unwrap();
    let new = std::fs::read(&pruned).unwrap();
    let m0 = solvent::problems::allocation::Model::open(&model).unwrap();
    let m1 = solvent::problems::allocation::Model::open(&pruned).unwrap();
    for l in layers {
        let name = l["name"].as_str().unwrap();
        let (_, w0) = m0.weights(name).unwrap();
        let (_, w1) = m1.weights(name).unwrap();
        let zeros = w1.iter().filter(|&&v| v == 0.0).count() as u64;
        assert_eq!(zeros, w0.len() as u64 - l["cost"]["params"].as_u64().unwrap());
        let min_kept = w1
            .iter()
            .filter(|&&v| v != 0.0)
            .map(|v| v.abs())
            .fold(f64::INFINITY, f64::min);
        let max_pruned = w0
            .iter()
            .zip(&w1)
            .filter(|(_, &b)| b == 0.0)
            .map(|(a, _)| a.abs())
            .fold(0.0, f64::max);
        assert!(min_kept >= max_pruned, "{name}");
        assert!(w0.iter().zip(&w1).all(|(a, b)| *b == 0.0 || a == b));
    }
    assert_eq!(m0.describe(), m1.describe());
    let bias = |bytes: &[u8]| {
        bytes
            .windows(16)
            .filter(|w| *w == f32s(vec![0.5; 4]).as_slice())
            .count()
    };
    assert_eq!(bias(&orig), bias(&new));
    // Asking for the int tensor by name is an error naming it and its dtype.
    let o = solvent(&["allocate", "--model", model.to_str().unwrap(), "--include", "ids"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("tensor \"ids\" has dtype I64"),
        "{}",
        stderr(&o)
    );
    let o = solvent(&[
        "allocate",
        "--model",
        d.path().join("missing.safetensors").to_str().unwrap(),
    ]);
    assert!(stderr(&o).contains("missing.safetensors"), "{}", stderr(&o));
}
