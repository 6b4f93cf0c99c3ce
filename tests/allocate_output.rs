//! End-to-end tests of the model runner's commands (feature `nn`) on a small random BERT:
//! `allocate --distortion output` (curves, cache, DP, evolve under the joint distortion,
//! the pruned file), `prune-eval` and `embed`.
#![cfg(feature = "nn")]

use serde_json::Value;
use solvent::nn::fixture::{sample_sentences, write_tiny_bert, TinyBert};

mod common;
use common::{solvent, stderr};

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn find<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(key).or_else(|| m.values().find_map(|x| find(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find(x, key)),
        _ => None,
    }
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let model = d.path().join("model");
    write_tiny_bert(&model, &TinyBert::default()).unwrap();
    let text = d.path().join("calibration.txt");
    std::fs::write(&text, sample_sentences(40, 1).join("\n")).unwrap();
    (d, model, text)
}

/// Counts zeros per F32 tensor of a safetensors file (header parsed by hand).
fn zeros_per_tensor(path: &std::path::Path) -> std::collections::HashMap<String, usize> {
    let data = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(data[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&data[8..8 + n]).unwrap();
    let body = &data[8 + n..];
    let mut out = std::collections::HashMap::new();
    for (name, info) in header.as_object().unwrap() {
        if name == "__metadata__" || info["dtype"] != "F32" {
            continue;
        }
        let (a, b) = (
            info["data_offsets"][0].as_u64().unwrap() as usize,
            info["data_offsets"][1].as_u64().unwrap() as usize,
        );
        let zeros = body[a..b]
            .chunks_exact(4)
            .filter(|c| f32::from_le_bytes((*c).try_into().unwrap()) == 0.0)
            .count();
        out.insert(name.clone(), zeros);
    }
    out
}

#[test]
fn allocate_on_output_curves_caches_and_prunes_exactly() {
    let (d, model, text) = setup();
    let cache = d.path().join("cache");
    let (out, rep, pruned) = (
        d.path().join("a.json"),
        d.path().join("r.json"),
        d.path().join("p.safetensors"),
    );
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "allocate",
            "--model",
            model.to_str().unwrap(),
            "--distortion",
            "output",
            "--calibration",
            text.to_str().unwrap(),
            "--levels",
            "5",
            "--cache-dir",
            cache.to_str().unwrap(),
            "--budget-frac",
            "0.5",
            "--compare",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let a1 = args(&[
        "--out",
        out.to_str().unwrap(),
        "--json",
        rep.to_str().unwrap(),
        "--write-pruned",
        pruned.to_str().unwrap(),
    ]);
    let o = solvent(&a1.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("12 layers × 5 levels on 40 sentences"),
        "{}",
        stderr(&o)
    );
    let alloc = read(&out);
    let layers = alloc["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 12);
    let report = read(&rep);
    assert_eq!(report["source"]["distortion"], "output");
    assert_eq!(report["source"]["curves_cached"], Value::Null);
    // The pruned file has exactly the allocation's zeros in every layer.
    let zeros = zeros_per_tensor(&pruned);
    let mut kept_total = 0;
    for l in layers {
        let name = l["name"].as_str().unwrap();
        let kept = l["cost"]["params"].as_u64().unwrap() as usize;
        let size: usize = match name.contains("intermediate")
            || name.contains("output.dense.weight") && !name.contains("attention")
        {
            true => 512,
            false => 256,
        };
        assert_eq!(zeros[name], size - kept, "{name}");
        kept_total += kept;
    }
    assert!(kept_total <= (8 * 256 + 4 * 512) / 2, "{kept_total}");
    assert_eq!(
        alloc["total_cost"]["params"].as_u64().unwrap() as usize,
        kept_total
    );
    // The second run reads the curves from the cache and reaches the same allocation.
    let out2 = d.path().join("a2.json");
    let a2 = args(&["--out", out2.to_str().unwrap()]);
    let o = solvent(&a2.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("curves read from the cache"),
        "{}",
        stderr(&o)
    );
    assert_eq!(read(&out2)["layers"], alloc["layers"]);
    // evolve scores candidates by the joint distortion (its start is the DP's answer).
    let rep3 = d.path().join("r3.json");
    let a3 = args(&[
        "--method",
        "evolve",
        "--generations",
        "2",
        "--offspring",
        "4",
        "--json",
        rep3.to_str().unwrap(),
    ]);
    let o = solvent(&a3.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let r3 = read(&rep3);
    let ev = find(&r3, "evolve").unwrap_or_else(|| panic!("no evolve details: {r3}"));
    assert!(ev["evaluations"].as_u64().unwrap() > 4, "{r3}");
    assert_eq!(
        ev["evaluator"], "external",
        "the joint distortion, not the table's sum"
    );
}

#[test]
fn output_distortion_flags_are_checked() {
    let (d, model, text) = setup();
    let o = solvent(&[
        "allocate",
        "--model",
        model.to_str().unwrap(),
        "--distortion",
        "output",
        "--calib",
        d.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--calib does not apply with --distortion output"),
        "{}",
        stderr(&o)
    );
    let o = solvent(&[
        "allocate",
        "--model",
        model.to_str().unwrap(),
        "--calibration",
        text.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--calibration does not apply with --distortion weight"),
        "{}",
        stderr(&o)
    );
    // An output inside the model directory that would overwrite one of its files is refused.
    let target = model.join("model.safetensors");
    let o = solvent(&[
        "allocate",
        "--model",
        model.to_str().unwrap(),
        "--distortion",
        "output",
        "--write-pruned",
        target.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("would overwrite a file of the model"),
        "{}",
        stderr(&o)
    );
    let o = solvent(&[
        "allocate",
        "--model",
        target.to_str().unwrap(),
        "--score",
        "wanda",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--score does not apply with --distortion weight"),
        "{}",
        stderr(&o)
    );
    let missing = d.path().join("nope");
    let o = solvent(&[
        "allocate",
        "--model",
        missing.to_str().unwrap(),
        "--distortion",
        "output",
        "--no-cache",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("nope") && stderr(&o).contains("not a directory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn prune_eval_writes_the_table_and_embed_matches_the_library() {
    let (d, model, text) = setup();
    let held = d.path().join("heldout.txt");
    std::fs::write(&held, sample_sentences(30, 2).join("\n")).unwrap();
    let (json, md) = (d.path().join("e.json"), d.path().join("e.md"));
    let o = solvent(&[
        "prune-eval",
        "--model",
        model.to_str().unwrap(),
        "--calibration",
        text.to_str().unwrap(),
        "--heldout",
        held.to_str().unwrap(),
        "--levels",
        "5",
        "--sparsities",
        "50",
        "--methods",
        "uniform,global,owl,dp",
        "--additivity",
        "4",
        "--no-cache",
        "--json",
        json.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read(&json);
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        let (c, t) = (row["cosine"].as_f64().unwrap(), row["top10"].as_f64().unwrap());
        assert!(c > 0.0 && c <= 1.0 + 1e-9 && (0.0..=1.0).contains(&t), "{row}");
        assert!((row["sparsity"].as_f64().unwrap() - 0.5).abs() < 0.13, "{row}");
    }
    assert_eq!(r["additivity"]["samples"].as_array().unwrap().len(), 4);
    let table = std::fs::read_to_string(&md).unwrap();
    assert!(
        table.contains("| 50% | dp |") && table.contains("Additivity (4 random allocations"),
        "{table}"
    );
    // embed: the library's embeddings, written as JSON.
    let out = d.path().join("emb.json");
    let o = solvent(&[
        "embed",
        "--model",
        model.to_str().unwrap(),
        "--text",
        held.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = read(&out);
    let m = solvent::nn::ModelDir::open(&model).unwrap();
    let lib = m.embed(&solvent::nn::read_sentences(&held).unwrap()).unwrap();
    let cli: Vec<Vec<f32>> = serde_json::from_value(e["embeddings"].clone()).unwrap();
    assert_eq!(cli, lib);
}
