//! Never lose a user's data, never blow up on a small file: each class of bad input of the
//! reliability table (`docs/reliability.md`) pinned by a test, through the CLI as a user
//! would meet it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::{shared_file, solvent, stderr};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs solvent and asserts a usage or input error: exit 1, `needle` on standard error.
fn refused(args: &[&str], needle: &str) -> Output {
    let o = solvent(args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?} should exit 1: {e}");
    assert!(e.contains(needle), "{args:?}: expected \"{needle}\" in: {e}");
    assert!(!e.contains("panicked"), "{args:?} panicked: {e}");
    o
}

/// A copy of the FEM test system (matrix, right-hand side) in `dir`.
fn system(dir: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (dir.join("A.mtx"), dir.join("b.mtx"));
    std::fs::copy(shared_file("A_0000.mtx"), &a).unwrap();
    std::fs::copy(shared_file("b_0000.mtx"), &b).unwrap();
    (a, b)
}

/// A small labelled data set in svmlight format.
fn svm(dir: &Path, name: &str) -> PathBuf {
    let f = dir.join(name);
    let mut text = String::new();
    for i in 0..40 {
        let x = (i as f64 * 0.37).sin();
        let y = if x + 0.1 * (i as f64).cos() > 0.0 { 1 } else { -1 };
        text += &format!(
            "{y} 1:{x:.4} 2:{:.4} 3:{:.4}\n",
            (i as f64 * 0.11).cos(),
            1.0 + i as f64 * 0.01
        );
    }
    std::fs::write(&f, text).unwrap();
    f
}

#[test]
fn an_output_that_is_an_input_or_another_output_is_refused_before_any_work() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = system(d.path());
    let before = std::fs::read(&a).unwrap();
    refused(&["solve", p(&a), "--out", p(&a)], "would overwrite the matrix");
    refused(
        &["solve", p(&a), "--rhs", p(&b), "--out", p(&b)],
        "would overwrite the right-hand side",
    );
    refused(&["solve", p(&a), "--json", p(&a)], "would overwrite the matrix");
    // another spelling of the same file, and a symbolic link to it
    let dotted = d.path().join(".").join("A.mtx");
    refused(
        &["solve", p(&a), "--out", p(&dotted)],
        "would overwrite the matrix",
    );
    #[cfg(unix)]
    {
        let link = d.path().join("link.mtx");
        std::os::unix::fs::symlink(&a, &link).unwrap();
        refused(
            &["solve", p(&a), "--json", p(&link)],
            "would overwrite the matrix",
        );
    }
    assert_eq!(std::fs::read(&a).unwrap(), before, "the matrix is untouched");
    // two outputs into one file
    let out = d.path().join("x.mtx");
    refused(
        &["solve", p(&a), "--out", p(&out), "--json", p(&out)],
        "same file",
    );
    let npz = d.path().join("d.npz");
    refused(
        &[
            "datagen",
            "darcy",
            "--grid",
            "8",
            "--count",
            "2",
            "--out",
            p(&npz),
            "--json",
            p(&npz),
        ],
        "same file",
    );
    // the other commands' inputs
    let r = d.path().join("r.tsv");
    std::fs::write(&r, "1\t1\t4\n1\t2\t3\n2\t1\t5\n2\t2\t1\n").unwrap();
    let pairs = d.path().join("p.txt");
    std::fs::write(&pairs, "1\t1\n").unwrap();
    refused(
        &[
            "complete",
            "--train",
            p(&r),
            "--predict",
            p(&pairs),
            "--out",
            p(&r),
        ],
        "would overwrite the training set",
    );
    let good = svm(d.path(), "good.svm");
    refused(
        &["bcd", "--data", p(&good), "--out", p(&good)],
        "would overwrite the data",
    );
    refused(
        &[
            "bilevel",
            "--problem",
            "hyperparam",
            "--data",
            p(&good),
            "--out",
            p(&good),
        ],
        "would overwrite the data",
    );
    let t = d.path().join("t.csv");
    std::fs::write(
        &t,
        "layer,level,sparsity,params,distortion\na,0,0,10,0\na,1,0.5,5,1\n",
    )
    .unwrap();
    refused(
        &["allocate", "--table", p(&t), "--save-table", p(&t)],
        "would overwrite the table",
    );
    assert_eq!(std::fs::read_to_string(&r).unwrap().lines().count(), 4);
}

#[cfg(unix)]
#[test]
fn outputs_keep_devices_links_and_permissions() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let d = tempfile::tempdir().unwrap();
    let (a, _) = system(d.path());
    // a device stays a device; /dev/full reports the failure
    let o = solvent(&[
        "solve",
        p(&a),
        "--quiet",
        "--out",
        "/dev/null",
        "--json",
        "/dev/null",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    refused(&["solve", p(&a), "--quiet", "--out", "/dev/full"], "/dev/full");
    // `-` is standard output
    let o = solvent(&["solve", p(&a), "--quiet", "--json", "-"]);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["command"], "solve");
    // a link is followed, not replaced; a file's mode is kept
    let real = d.path().join("real.mtx");
    std::fs::write(&real, "old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = d.path().join("x.mtx");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = solvent(&["solve", p(&a), "--quiet", "--out", p(&link)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .starts_with("%%MatrixMarket"));
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // a FIFO is written through (a reader on the other end gets the report)
    let fifo = d.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = solvent(&["solve", p(&a), "--quiet", "--json", p(&fifo)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(reader.join().unwrap().contains("\"command\": \"solve\""));
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // nothing left behind
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Runs solvent under a 1 GiB address-space limit (so a missing guard fails fast).
fn limited(args: &[&str]) -> Output {
    let mut cmd = String::from("ulimit -v 1048576; exec \"$0\"");
    for i in 0..args.len() {
        cmd += &format!(" \"${}\"", i + 1);
    }
    Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .arg(env!("CARGO_BIN_EXE_solvent"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn limited_refused(args: &[&str], needle: &str) {
    let o = limited(args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?} under 1 GiB: {e}");
    assert!(e.contains(needle), "{args:?}: expected \"{needle}\" in: {e}");
}

#[test]
fn declared_sizes_are_not_trusted() {
    let d = tempfile::tempdir().unwrap();
    let huge = d.path().join("huge.mtx");
    std::fs::write(
        &huge,
        "%%MatrixMarket matrix coordinate real general\n2000000000 2000000000 1\n1 1 1\n",
    )
    .unwrap();
    limited_refused(&["solve", p(&huge)], "row pointers alone would take");
    let many = d.path().join("many.mtx");
    std::fs::write(
        &many,
        "%%MatrixMarket matrix coordinate real general\n3 3 2000000000\n1 1 1\n",
    )
    .unwrap();
    limited_refused(&["solve", p(&many)], "truncated");
    let wide = d.path().join("wide.svm");
    std::fs::write(&wide, "1 2000000000:1\n-1 1:1\n").unwrap();
    limited_refused(&["bcd", "--data", p(&wide)], "needs about");
    let edges = d.path().join("g.edges");
    std::fs::write(&edges, "0 999999999 1\n").unwrap();
    let labels = d.path().join("l.txt");
    std::fs::write(&labels, "0 1\n").unwrap();
    limited_refused(
        &[
            "bcd",
            "--problem",
            "labelprop",
            "--data",
            p(&edges),
            "--labels",
            p(&labels),
        ],
        "needs about",
    );
    limited_refused(&["allocate", "--generate", "100000000x101"], "needs about");
    limited_refused(
        &[
            "datagen",
            "darcy",
            "--grid",
            "20000",
            "--count",
            "1",
            "--out",
            p(&d.path().join("a.npz")),
        ],
        "needs about",
    );
    // a grid whose 5-point matrix would pass the u32 index limit is refused before that
    limited_refused(
        &[
            "datagen",
            "darcy",
            "--grid",
            "30000",
            "--count",
            "1",
            "--out",
            p(&d.path().join("a.npz")),
        ],
        "too many unknowns",
    );
    if cfg!(feature = "hdf5") {
        limited_refused(
            &[
                "datagen",
                "darcy",
                "--grid",
                "64",
                "--count",
                "200000",
                "--out",
                p(&d.path().join("b.h5")),
            ],
            "needs about",
        );
    }
}

#[test]
fn allocation_costs_that_overflow_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path().join("t.csv");
    let big = 1u64 << 63;
    std::fs::write(
        &t,
        format!("layer,level,params,distortion\na,0,{big},0\na,1,1,5\nb,0,{big},0\nb,1,1,5\nc,0,{big},0\nc,1,1,5\n"),
    )
    .unwrap();
    refused(&["allocate", "--table", p(&t)], "more than 2^64 − 1");
    let max = u64::MAX;
    std::fs::write(
        &t,
        format!("layer,level,params,distortion\na,0,{max},0\nb,0,{max},0\n"),
    )
    .unwrap();
    refused(&["allocate", "--table", p(&t)], "more than 2^64 − 1");
}

#[test]
fn nan_ordering_parameters_are_an_input_error() {
    let d = tempfile::tempdir().unwrap();
    for k in 0..3 {
        for f in [format!("A_{k:04}.mtx"), format!("b_{k:04}.mtx")] {
            std::fs::copy(shared_file(&f), d.path().join(&f)).unwrap();
        }
        let mut v = vec![1.0; 5];
        if k == 1 {
            v[2] = f64::NAN;
        }
        solvent::linalg::io::npy::write_f64(d.path().join(format!("params_{k:04}.npy")), &[5], &v).unwrap();
    }
    refused(
        &["solve-seq", p(d.path()), "--strategy", "skr", "--quiet"],
        "params_0001.npy",
    );
}

#[test]
fn a_closed_standard_output_is_a_quiet_end() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().join("r.tsv");
    let mut text = String::new();
    for u in 0..30 {
        for i in 0..20 {
            if (u * 7 + i * 3) % 4 == 0 {
                text += &format!("u{u}\ti{i}\t{}\n", 1 + (u + i) % 5);
            }
        }
    }
    std::fs::write(&r, text).unwrap();
    let json = d.path().join("r.json");
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "\"{}\" complete --train \"{}\" --rank 2 --sweeps 5 --json \"{}\" | head -1; echo \"exit ${{PIPESTATUS[0]}}\"",
            env!("CARGO_BIN_EXE_solvent"),
            r.display(),
            json.display()
        ))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let e = stderr(&o);
    assert!(!e.contains("panicked"), "{e}");
    assert!(out.contains("exit 0"), "{out} {e}");
    assert!(
        json.exists(),
        "the report is written whatever happens to standard output"
    );
}

#[test]
fn usage_errors_exit_1_on_every_subcommand() {
    for sub in [
        "solve",
        "solve-seq",
        "datagen",
        "complete",
        "allocate",
        "bilevel",
        "bcd",
    ] {
        let o = solvent(&[sub, "--no-such-flag"]);
        assert_eq!(o.status.code(), Some(1), "{sub}: {}", stderr(&o));
    }
    for args in [
        vec![],
        vec!["no-such-command"],
        vec!["solve", "--tol", "abc"],
        vec!["datagen", "nope"],
    ] {
        let o = solvent(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
    }
    // help and version are not errors
    assert_eq!(solvent(&["--help"]).status.code(), Some(0));
    assert_eq!(solvent(&["--version"]).status.code(), Some(0));
    // a negative number is a value, checked by the command
    refused(&["solve", "--tol", "-1", "--grid", "4"], "tol");
}

#[test]
fn a_failed_sequence_leaves_no_partial_results() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    for k in 0..4 {
        std::fs::copy(
            shared_file(&format!("A_{:04}.mtx", k % 3)),
            dir.join(format!("A_{k:04}.mtx")),
        )
        .unwrap();
        std::fs::copy(
            shared_file(&format!("b_{:04}.mtx", k % 3)),
            dir.join(format!("b_{k:04}.mtx")),
        )
        .unwrap();
    }
    // system 3 is unreadable
    std::fs::write(
        dir.join("A_0003.mtx"),
        "%%MatrixMarket matrix coordinate real general\n475 475 1\n1 1 oops\n",
    )
    .unwrap();
    let out = d.path().join("out");
    refused(
        &[
            "solve-seq",
            p(&dir),
            "--out",
            p(&out),
            "--method",
            "direct",
            "--quiet",
        ],
        "A_0003.mtx",
    );
    let written: Vec<_> = std::fs::read_dir(&out)
        .map(|r| r.flatten().collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "nothing written: {written:?}");
    // --keep-partial keeps what was solved before the failure
    let o = solvent(&[
        "solve-seq",
        p(&dir),
        "--out",
        p(&out),
        "--method",
        "direct",
        "--quiet",
        "--keep-partial",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.join("x_0000.mtx").exists() && !out.join("x_0003.mtx").exists());
    // an unwritable report: refused before the output directory is created
    let out2 = d.path().join("out2");
    refused(
        &[
            "solve-seq",
            p(&dir),
            "--out",
            p(&out2),
            "--json",
            p(&d.path().join("no/such/r.json")),
        ],
        "does not exist",
    );
    assert!(!out2.exists());
    // a second run into a directory another run holds
    std::fs::write(out.join(".solvent.lock"), "1").unwrap();
    refused(
        &["solve-seq", p(&dir), "--out", p(&out), "--quiet"],
        "another solvent run",
    );
}

#[test]
fn unconverged_bcd_and_bilevel_write_nothing_unless_asked() {
    let d = tempfile::tempdir().unwrap();
    let data = svm(d.path(), "d.svm");
    let w = d.path().join("w.npy");
    let o = solvent(&[
        "bcd",
        "--data",
        p(&data),
        "--problem",
        "logistic",
        "--max-iters",
        "1",
        "--tol",
        "1e-14",
        "--quiet",
        "--out",
        p(&w),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("iteration limit"), "{}", stderr(&o));
    assert!(!w.exists());
    let o = solvent(&[
        "bcd",
        "--data",
        p(&data),
        "--problem",
        "logistic",
        "--max-iters",
        "1",
        "--tol",
        "1e-14",
        "--quiet",
        "--out",
        p(&w),
        "--keep-unconverged",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(w.exists());
    let s = d.path().join("s.json");
    let o = solvent(&[
        "bilevel",
        "--max-iters",
        "1",
        "--tol",
        "1e-14",
        "--quiet",
        "--out",
        p(&s),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not converged"), "{}", stderr(&o));
    assert!(!s.exists());
}

#[test]
fn settings_that_would_be_ignored_or_are_out_of_range_are_refused() {
    let d = tempfile::tempdir().unwrap();
    for c in ["2", "-1", "NaN"] {
        refused(
            &["bilevel", "--problem", "hypercleaning", "--corrupt", c],
            "--corrupt",
        );
    }
    refused(
        &["bilevel", "--problem", "quadratic", "--corrupt", "0.2"],
        "hypercleaning",
    );
    refused(
        &["bilevel", "--sigma", "1e-3", "--sigma-min", "1e-2"],
        "--sigma-min",
    );
    let data = svm(d.path(), "v.svm");
    refused(
        &["bilevel", "--problem", "quadratic", "--data", p(&data)],
        "--data",
    );
    let e = stderr(&refused(&["bilevel", "--dim-x", "0"], "dim_x"));
    assert!(!e.contains("QuadraticConfig {"), "no Debug struct: {e}");
    let t = d.path().join("t.csv");
    std::fs::write(
        &t,
        "layer,level,sparsity,params,distortion\na,0,0,10,0\na,1,0.5,5,1\n",
    )
    .unwrap();
    refused(
        &[
            "allocate",
            "--table",
            p(&t),
            "--write-pruned",
            p(&d.path().join("m.safetensors")),
        ],
        "--model",
    );
    // a typo in the first row of a CSV is not a header
    let csv = d.path().join("x.csv");
    std::fs::write(&csv, "1,2x,1\n0,1,0\n1,3,1\n").unwrap();
    refused(
        &["bcd", "--data", p(&csv), "--problem", "ls"],
        "mixes numbers and text",
    );
    // a byte-order mark is not part of the first id, nor of a Matrix Market header
    let r = d.path().join("bom.tsv");
    std::fs::write(&r, "\u{feff}a\tx\t4\na\ty\t2\nb\tx\t5\nb\ty\t3\n").unwrap();
    let pairs = d.path().join("pairs.tsv");
    std::fs::write(&pairs, "a\tx\n").unwrap();
    let out = d.path().join("pred.tsv");
    let o = solvent(&[
        "complete",
        "--train",
        p(&r),
        "--rank",
        "1",
        "--quiet",
        "--predict",
        p(&pairs),
        "--out",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pred = std::fs::read_to_string(&out).unwrap();
    let value: f64 = pred.split('\t').nth(2).unwrap().trim().parse().unwrap();
    assert!(
        (value - 4.0).abs() < 1.0,
        "user a is known despite the BOM: {pred}"
    );
    let (a, _) = system(d.path());
    let bom = d.path().join("bom.mtx");
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(std::fs::read(&a).unwrap());
    std::fs::write(&bom, bytes).unwrap();
    let o = solvent(&["solve", p(&bom), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn messages_say_what_is_wrong() {
    let d = tempfile::tempdir().unwrap();
    // CG on a nonsymmetric matrix is refused up front, not run for 10,000 iterations
    refused(
        &[
            "solve",
            "--generate",
            "convdiff2d",
            "--grid",
            "10",
            "--method",
            "cg",
        ],
        "symmetric",
    );
    refused(
        &[
            "solve",
            "--generate",
            "convdiff2d",
            "--grid",
            "10",
            "--method",
            "minres",
        ],
        "symmetric",
    );
    // an inconsistent system: GMRES cannot get far below ‖b‖
    let a = d.path().join("sing.mtx");
    std::fs::write(
        &a,
        "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n2 1 1\n",
    )
    .unwrap();
    let b = d.path().join("b.mtx");
    std::fs::write(&b, "%%MatrixMarket matrix array real general\n2 1\n1\n-1\n").unwrap();
    let o = solvent(&[
        "solve",
        p(&a),
        "--rhs",
        p(&b),
        "--method",
        "gmres",
        "--precond",
        "none",
        "--max-iters",
        "50",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("inconsistent or the matrix singular"),
        "{}",
        stderr(&o)
    );
    // the npz size refusal suggests f32 only when f64 is in use
    let out = d.path().join("big.npz");
    let f32 = refused(
        &[
            "datagen",
            "darcy",
            "--grid",
            "2000",
            "--count",
            "300",
            "--out",
            p(&out),
        ],
        "4 GiB",
    );
    assert!(!stderr(&f32).contains("--precision f32"), "{}", stderr(&f32));
    let f64 = refused(
        &[
            "datagen",
            "darcy",
            "--grid",
            "2000",
            "--count",
            "300",
            "--precision",
            "f64",
            "--out",
            p(&out),
        ],
        "4 GiB",
    );
    assert!(stderr(&f64).contains("--precision f32"), "{}", stderr(&f64));
    // no driver chatter under --quiet, even when probing a GPU without a runtime directory
    let gpu = solvent::gpu::GpuContext::new(&solvent::gpu::GpuRequest { allow_software: true }).is_ok();
    let device = if gpu { "gpu" } else { "cpu" };
    let o = Command::new(env!("CARGO_BIN_EXE_solvent"))
        .args(["solve", "--grid", "4", "--quiet", "--device", device])
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("XDG_RUNTIME_DIR"), "{}", stderr(&o));
}
