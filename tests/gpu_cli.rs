//! End-to-end tests of `--device`: GPU results against the CPU and against independently
//! assembled systems, and the errors when no adapter fits. GPU runs use whatever adapter
//! is present (lavapipe in CI); without one they skip unless SOLVENT_REQUIRE_GPU is set.

use solvent::gpu::{GpuContext, GpuRequest, REQUIRE_GPU_ENV};
use solvent::linalg::io::matrix_market;
use solvent::linalg::io::npz::{self, NpzMember};
use solvent::linalg::vector::relative_residual;
use solvent::problems::generators::{FamilyConfig, PdeFamily, PdeSampler};
use std::process::Command;

mod common;
use common::{check_shared_solutions, shared, solvent, stderr};

fn have_gpu() -> bool {
    match GpuContext::new(&GpuRequest { allow_software: true }) {
        Ok(_) => true,
        Err(e) if std::env::var_os(REQUIRE_GPU_ENV).is_some() => {
            panic!("{REQUIRE_GPU_ENV} is set but no adapter could be opened: {e}")
        }
        Err(e) => {
            eprintln!("skipping: {e}");
            false
        }
    }
}

fn sol(path: &std::path::Path) -> Vec<f64> {
    for (name, m) in npz::read(path).unwrap() {
        if let (true, NpzMember::Array(a)) = (name == "sol", m) {
            return a.data;
        }
    }
    panic!("no sol in {}", path.display())
}

#[test]
fn datagen_on_the_gpu_solves_every_system_and_matches_the_cpu() {
    if !have_gpu() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // darcy: batched CG; convdiff: batched GMRES, or GCRO-DR recycled along the sequence
    for (family, method) in [("darcy", "auto"), ("convdiff", "auto"), ("convdiff", "gcrodr")] {
        let mut outs = Vec::new();
        for device in ["gpu", "cpu"] {
            let out = dir.path().join(format!("{family}-{method}-{device}.npz"));
            let json = dir.path().join(format!("{family}-{method}-{device}.json"));
            let extra: &[&str] = if device == "gpu" && method != "auto" {
                &["--method", method]
            } else {
                &[]
            };
            let o = solvent(
                &[
                    "datagen",
                    family,
                    "--grid",
                    "16",
                    "--count",
                    "6",
                    "--seed",
                    "2",
                    "--tol",
                    "1e-10",
                    "--precision",
                    "f64",
                    "--device",
                    device,
                    "--quiet",
                    "--out",
                    out.to_str().unwrap(),
                    "--json",
                    json.to_str().unwrap(),
                ]
                .iter()
                .chain(extra)
                .copied()
                .collect::<Vec<_>>(),
            );
            assert!(o.status.success(), "{family} {method} {device}: {}", stderr(&o));
            let r: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
            assert_eq!(r["metadata"]["device"], device);
            outs.push(sol(&out));
        }
        let sampler = PdeSampler::new(PdeFamily::parse(family).unwrap(), FamilyConfig::new(16, 2)).unwrap();
        let n = 256;
        for i in 0..6 {
            let s = sampler.sample(i).unwrap();
            let x = &outs[0][i * n..(i + 1) * n];
            let res = relative_residual(&s.a, x, &s.b);
            assert!(res <= 1e-10, "{family} sample {i}: GPU residual {res:.2e}");
            let scale = outs[1][i * n..(i + 1) * n]
                .iter()
                .map(|v| v.abs())
                .fold(0.0, f64::max);
            let diff = x
                .iter()
                .zip(&outs[1][i * n..])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                diff <= 1e-7 * scale,
                "{family} sample {i}: GPU and CPU differ by {diff:.2e}"
            );
        }
    }
}

#[test]
fn solve_seq_on_the_gpu_reproduces_the_shared_reference_solutions() {
    if !have_gpu() {
        return;
    }
    let shared = shared();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sol");
    let o = solvent(&[
        "solve-seq",
        shared.to_str().unwrap(),
        "--device",
        "gpu",
        "--tol",
        "1e-10",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    check_shared_solutions(&out, "gpu");
}

#[test]
fn solve_on_the_gpu_matches_a_direct_solve() {
    if !have_gpu() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (gen, method) in [
        ("darcy2d", "cg"),
        ("convdiff2d", "gmres"),
        ("convdiff2d", "gcrodr"),
        ("poisson2d", "auto"),
        // symmetric with a positive diagonal but indefinite: auto's CG breaks down and
        // the system is solved again with device GMRES
        ("shifted2d", "auto"),
    ] {
        let mut xs = Vec::new();
        for (device, m) in [("gpu", method), ("cpu", "direct")] {
            let out = dir.path().join(format!("{gen}-{method}-{device}.mtx"));
            let o = solvent(&[
                "solve",
                "--generate",
                gen,
                "--grid",
                "40",
                "--method",
                m,
                "--tol",
                "1e-10",
                "--device",
                device,
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{gen} {device}: {}", stderr(&o));
            xs.push(matrix_market::read_vector(&out).unwrap());
        }
        let scale = xs[1].iter().map(|v| v.abs()).fold(0.0, f64::max);
        let err = xs[0]
            .iter()
            .zip(&xs[1])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err <= 1e-6 * scale, "{gen}: GPU vs direct {err:.2e}");
    }
}

#[test]
fn no_adapter_is_an_error_for_gpu_and_the_cpu_for_auto() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let run = |device: &str| {
        Command::new(env!("CARGO_BIN_EXE_solvent"))
            .args([
                "solve",
                "--generate",
                "poisson2d",
                "--grid",
                "1000",
                "--method",
                "cg",
                "--tol",
                "1e-3",
                "--device",
                device,
                "--json",
                json.to_str().unwrap(),
            ])
            .env("WGPU_ADAPTER_NAME", "no-such-adapter-anywhere")
            .output()
            .unwrap()
    };
    let o = run("gpu");
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("no usable GPU adapter") && e.contains("adapters found"),
        "{e}"
    );
    assert!(e.contains("no-such-adapter-anywhere"), "{e}");
    assert!(!json.exists(), "nothing written on error");
    // auto: n = 10⁶ is large enough to want a GPU, none fits, so the CPU solves it
    let o = run("auto");
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["device"], "cpu", "{r}");
    assert!(r["converged"].as_bool().unwrap());
    assert!(
        r["report"]["settings"]["plan"]["reason"]
            .as_str()
            .unwrap()
            .contains("device auto"),
        "the plan says why the GPU was not taken: {r}"
    );
}

#[test]
fn gpu_requests_the_gpu_cannot_serve_are_usage_errors() {
    for (args, want) in [
        (
            vec!["solve", "--grid", "8", "--method", "bicgstab", "--device", "gpu"],
            "does not run on the GPU",
        ),
        (
            vec!["solve", "--grid", "8", "--precond", "ilu0", "--device", "gpu"],
            "does not run on the GPU",
        ),
        (
            vec![
                "datagen",
                "darcy",
                "--grid",
                "8",
                "--count",
                "2",
                "--strategy",
                "skr",
                "--device",
                "gpu",
            ],
            "CPU only",
        ),
        (
            vec![
                "datagen", "darcy", "--grid", "8", "--count", "2", "--jobs", "2", "--device", "gpu",
            ],
            "--jobs 2 (parallel chains) runs on the CPU only",
        ),
    ] {
        let o = solvent(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}

/// `solve --json` has one shape on both devices (the same run report, status and trace),
/// and the GPU solve takes `--trace` and `--time-limit` like the CPU one.
#[test]
fn the_gpu_solve_reports_like_the_cpu_and_takes_trace_and_time_limit() {
    if !have_gpu() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut keys = Vec::new();
    for device in ["gpu", "cpu"] {
        let json = dir.path().join(format!("{device}.json"));
        let trace = dir.path().join(format!("{device}.jsonl"));
        let o = solvent(&[
            "solve",
            "--generate",
            "poisson2d",
            "--grid",
            "30",
            "--method",
            "cg",
            "--precond",
            "jacobi",
            "--tol",
            "1e-10",
            "--time-limit",
            "60",
            "--device",
            device,
            "--quiet",
            "--json",
            json.to_str().unwrap(),
            "--trace",
            trace.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{device}: {}", stderr(&o));
        let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(r["device"], device);
        assert_eq!(r["command"], "solve");
        assert_eq!(r["report"]["status"]["kind"], "converged", "{device}: {r}");
        assert!(r["relative_residual"].as_f64().unwrap() <= 1e-10);
        // at least the start and the end are traced, in the file and in the report
        assert!(
            r["report"]["trace"].as_array().unwrap().len() >= 2,
            "{device}: {r}"
        );
        let lines = std::fs::read_to_string(&trace).unwrap().lines().count();
        assert!(lines >= 2, "{device}: {lines} trace lines");
        let mut k: Vec<String> = r.as_object().unwrap().keys().cloned().collect();
        k.sort();
        keys.push(k);
        let mut rk: Vec<String> = r["report"].as_object().unwrap().keys().cloned().collect();
        rk.sort();
        keys.push(rk);
    }
    assert_eq!(keys[0], keys[2], "top-level fields differ between devices");
    assert_eq!(keys[1], keys[3], "report fields differ between devices");
}
