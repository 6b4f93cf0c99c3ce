//! End-to-end tests of `solvent solve-seq FILE.npz`: a whole sequence in one archive of
//! CSR arrays, its solutions in one `.npz` file, each checked against its system
//! assembled independently (from triplets).

use solvent::linalg::io::npy::NpyArray;
use solvent::linalg::io::npz::{self, NpzMember, NpzWriter};
use solvent::linalg::vector::relative_residual;
use solvent::linalg::CsrMatrix;
use std::collections::HashMap;
use std::path::Path;

mod common;
use common::{solvent, stderr};

const M: usize = 6; // grid side
const N: usize = M * M;
const K: usize = 5;

/// Entry (i, j) of system s: upwind convection–diffusion on an M × M grid, the
/// convection growing with s (nonsymmetric); `None` off the 5-point stencil.
fn entry(s: usize, i: usize, j: usize) -> Option<f64> {
    let (ri, ci, rj, cj) = (i / M, i % M, j / M, j % M);
    let pe = 0.2 + 0.3 * s as f64;
    if i == j {
        Some(4.0 + pe)
    } else if ri == rj && cj + 1 == ci {
        Some(-1.0 - pe)
    } else if (ri == rj && ci.abs_diff(cj) == 1) || (ci == cj && ri.abs_diff(rj) == 1) {
        Some(-1.0)
    } else {
        None
    }
}

fn rhs(s: usize) -> Vec<f64> {
    (0..N)
        .map(|i| 1.0 + ((i * (s + 1)) as f64 * 0.37).cos())
        .collect()
}

fn matrix(s: usize) -> CsrMatrix {
    let t: Vec<(usize, usize, f64)> = (0..N)
        .flat_map(|i| (0..N).filter_map(move |j| entry(s, i, j).map(|v| (i, j, v))))
        .collect();
    CsrMatrix::from_triplets(N, N, &t).unwrap()
}

/// Writes the sequence as SciPy would hand it over: int32 indices, each row's columns in
/// descending order (unsorted), `data` K × nnz; `nan_at` puts a NaN in `data`.
fn write_sequence(path: &Path, nan_at: Option<(usize, usize)>) {
    let mut indptr = vec![0i32];
    let mut indices = Vec::new();
    for i in 0..N {
        for j in (0..N).rev() {
            if entry(0, i, j).is_some() {
                indices.push(j as i32);
            }
        }
        indptr.push(indices.len() as i32);
    }
    let nnz = indices.len();
    let mut data = Vec::with_capacity(K * nnz);
    for s in 0..K {
        for i in 0..N {
            for &j in &indices[indptr[i] as usize..indptr[i + 1] as usize] {
                data.push(entry(s, i, j as usize).unwrap());
            }
        }
    }
    if let Some((s, e)) = nan_at {
        data[s * nnz + e] = f64::NAN;
    }
    let b: Vec<f64> = (0..K).flat_map(rhs).collect();
    let mut w = NpzWriter::new();
    w.add("indptr", &[N + 1], &indptr).unwrap();
    w.add("indices", &[nnz], &indices).unwrap();
    w.add("data", &[K, nnz], &data).unwrap();
    w.add("b", &[K, N], &b).unwrap();
    w.add("params", &[K, 1], &[0.2, 0.5, 0.8, 1.1, 1.4]).unwrap();
    w.write(path).unwrap();
}

fn load(p: &Path) -> HashMap<String, NpyArray> {
    npz::read(p)
        .unwrap()
        .into_iter()
        .filter_map(|(n, m)| match m {
            NpzMember::Array(a) => Some((n, a)),
            NpzMember::Text(_) => None,
        })
        .collect()
}

#[test]
fn solve_seq_of_an_npz_writes_one_npz_of_solutions() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("seq.npz");
    write_sequence(&input, None);
    let out = d.path().join("out.npz");
    let json = d.path().join("r.json");
    for strategy in ["auto", "skr", "independent"] {
        let o = solvent(&[
            "solve-seq",
            input.to_str().unwrap(),
            "--strategy",
            strategy,
            "--tol",
            "1e-10",
            "--out",
            out.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{strategy}: {}", stderr(&o));
        let a = load(&out);
        assert_eq!(a["x"].shape, vec![K, N]);
        assert_eq!(a["iterations"].shape, vec![K]);
        assert_eq!(a["converged"].data, vec![1.0; K]);
        for s in 0..K {
            let x = &a["x"].data[s * N..(s + 1) * N];
            let res = relative_residual(&matrix(s), x, &rhs(s));
            assert!(res <= 1e-10, "{strategy} system {s}: {res:.2e}");
            assert!((a["relres"].data[s] - res).abs() <= 1e-3 * res + 1e-15);
        }
        let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(r["command"], "solve-seq");
        assert_eq!(r["npz"], input.to_str().unwrap());
        assert!(r.get("dir").is_none());
        assert_eq!(r["ordered_by"], "params");
        assert_eq!(r["systems"].as_array().unwrap().len(), K);
        assert_eq!(r["systems"][3]["solution"], "x[3]");
        assert_eq!(r["systems"][3]["matrix"], "data[3]");
    }
    // without --out: STEM.solutions.npz beside the input, and a summary
    let o = solvent(&["solve-seq", input.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let default = d.path().join("seq.solutions.npz");
    assert_eq!(load(&default)["x"].shape, vec![K, N]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Wrote 5 of 5 solutions to"), "{text}");
    // --out naming a directory: the default name in it
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let o = solvent(&[
        "solve-seq",
        input.to_str().unwrap(),
        "--out",
        sub.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(sub.join("seq.solutions.npz").is_file());
}

#[test]
fn an_output_never_replaces_the_input_and_bad_input_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("seq.npz");
    write_sequence(&input, None);
    let before = std::fs::read(&input).unwrap();
    // --out equal to the input (also spelled differently), or --json equal to it
    let dotted = d.path().join(".").join("seq.npz");
    for extra in [
        vec!["--out", input.to_str().unwrap()],
        vec!["--out", dotted.to_str().unwrap()],
        vec!["--json", input.to_str().unwrap()],
    ] {
        let mut a = vec!["solve-seq", input.to_str().unwrap(), "--quiet"];
        a.extend_from_slice(&extra);
        let o = solvent(&a);
        assert_eq!(o.status.code(), Some(1), "{extra:?}");
        assert!(stderr(&o).contains("would overwrite"), "{}", stderr(&o));
        assert_eq!(std::fs::read(&input).unwrap(), before, "the input changed");
    }
    // an output directory that does not exist
    let o = solvent(&[
        "solve-seq",
        input.to_str().unwrap(),
        "--out",
        d.path().join("nope/x.npz").to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));

    // a NaN in the values: exit 1 naming the entry and system, nothing written
    let bad = d.path().join("bad.npz");
    write_sequence(&bad, Some((2, 7)));
    let o = solvent(&["solve-seq", bad.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("data[2, 7] is NaN (system 2)"),
        "{}",
        stderr(&o)
    );
    assert!(!d.path().join("bad.solutions.npz").exists());
    // a file that is not an archive
    let junk = d.path().join("junk.npz");
    std::fs::write(&junk, b"not a zip archive").unwrap();
    let o = solvent(&["solve-seq", junk.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("junk.npz"), "{}", stderr(&o));
    // only the inputs and the one output of the runs above are in the directory
    let mut names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["bad.npz", "junk.npz", "seq.npz"]);
}

#[test]
fn unconverged_systems_are_nan_rows_and_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("seq.npz");
    write_sequence(&input, None);
    let out = d.path().join("x.npz");
    let o = solvent(&[
        "solve-seq",
        input.to_str().unwrap(),
        "--strategy",
        "independent",
        "--method",
        "gmres",
        "--max-iters",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("system 0 of"), "{}", stderr(&o));
    assert!(stderr(&o).contains("its row of x is NaN"), "{}", stderr(&o));
    let a = load(&out);
    assert_eq!(a["converged"].data, vec![0.0; K]);
    assert!(a["x"].data.iter().all(|v| v.is_nan()));
    assert!(a["relres"].data.iter().all(|&r| r > 1e-8 && r.is_finite()));
    assert!(a["iterations"].data.iter().all(|&i| i == 2.0));
}
