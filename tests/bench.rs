//! `solvent bench` end to end on a tiny suite: two Solvent solver configurations and an
//! external command (the pure-Python ISTA peer) on a small Lasso, plus a peer that
//! crashes, one that runs over the time limit and one that reports itself skipped.

use std::path::Path;
use std::process::Command;

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_solvent"))
        .arg("bench")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run solvent bench")
}

/// The CSV as (header, rows), fields split on commas outside quotes.
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let split = |line: &str| {
        let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => out.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        out.push(cur);
        out
    };
    let mut lines = text.lines();
    let header = split(lines.next().unwrap());
    (header, lines.map(split).collect())
}

const SUITE: &str = r#"
name = "tiny"
description = "a tiny Lasso"
repeat = 1
timeout = 20.0
seeds = [3]
target = 1e-6

[[problems]]
name = "small"
kind = "lasso"
params = { samples = 40, features = 60, density = 0.2, informative = 5, noise = 0.05, lambda_ratio = 0.2 }

[[solvers]]
name = "bcd"
solver = "bcd"
params = { rule = ["gs-q", "cyclic"] }

[[solvers]]
name = "ista"
command = "python3 bench/peers/ista_lasso.py {problem} {out} {tol} {budget}"

[[solvers]]
name = "crashes"
command = "sh -c 'echo boom >&2; exit 3'"

[[solvers]]
name = "hangs"
command = "sleep 30"

[[solvers]]
name = "absent"
command = "python3 -c \"import json, sys; json.dump({'status': 'skipped', 'reason': 'no such library'}, open(sys.argv[1], 'w'))\" {out}"
"#;

#[test]
fn a_suite_runs_end_to_end_and_records_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("tiny.toml");
    // the hanging peer is stopped by a short time limit; the others finish well within it
    std::fs::write(&suite, SUITE.replace("timeout = 20.0", "timeout = 4.0")).unwrap();
    let out = dir.path().join("out");
    let o = bench(&[suite.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    // a failed run (the crashing peer) makes the exit status 2, after everything is written
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let (header, rows) = csv(&out.join("results.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // one row per run: two BCD configurations and four commands, one seed, one repetition
    assert_eq!(rows.len(), 6, "{rows:?}");
    let row = |solver: &str| {
        rows.iter()
            .find(|r| r[col("solver")] == solver)
            .unwrap_or_else(|| panic!("{solver}"))
    };
    for solver in ["bcd[rule=gs-q]", "bcd[rule=cyclic]", "ista"] {
        assert_eq!(row(solver)[col("status")], "ok", "{solver}: {:?}", row(solver));
    }
    assert_eq!(row("crashes")[col("status")], "failed");
    assert!(
        row("crashes")[col("reason")].contains("boom") && row("crashes")[col("reason")].contains("exit 3")
    );
    assert_eq!(row("hangs")[col("status")], "timeout");
    assert_eq!(row("absent")[col("status")], "skipped");
    assert!(row("absent")[col("reason")].contains("no such library"));
    // the best run's last point has suboptimality 0; the others are measured against it
    let subopt: Vec<f64> = ["bcd[rule=gs-q]", "bcd[rule=cyclic]", "ista"]
        .iter()
        .map(|s| row(s)[col("final_subopt")].parse().unwrap())
        .collect();
    assert_eq!(
        subopt.iter().cloned().fold(f64::INFINITY, f64::min),
        0.0,
        "{subopt:?}"
    );
    // BCD stops at the target duality gap, so it reaches the target suboptimality
    for s in ["bcd[rule=gs-q]", "bcd[rule=cyclic]"] {
        let r = row(s);
        assert!(r[col("gap")].parse::<f64>().unwrap() <= 1e-6, "{r:?}");
        assert!(!r[col("time_to_target_s")].is_empty(), "{r:?}");
    }
    // the pure-Python ISTA peer solves the same problem: its objective is within 1e-3 of
    // BCD's (it stops when its objective changes by less than the target)
    let obj = |s: &str| row(s)[col("value")].parse::<f64>().unwrap();
    assert!(
        (obj("ista") - obj("bcd[rule=gs-q]")).abs() <= 1e-3 * obj("bcd[rule=gs-q]"),
        "{} vs {}",
        obj("ista"),
        obj("bcd[rule=gs-q]")
    );
    // the JSON lines: a record per run, then one line per trace point
    let jsonl = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let records = jsonl.lines().filter(|l| l.starts_with("{\"record\"")).count();
    assert_eq!(records, 6);
    assert!(jsonl.lines().any(|l| l.contains("\"subopt\":0.0")));
    // the plots are well-formed SVG with the solvers' curves, and the page shows and links them
    for f in ["small.svg", "small-time-to-target.svg"] {
        let svg = std::fs::read_to_string(out.join(f)).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let paths = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline") || n.has_tag_name("path") || n.has_tag_name("rect"))
            .count();
        assert!(paths >= 3, "{f}: {paths} shapes");
    }
    assert!(std::fs::read_to_string(out.join("small.svg"))
        .unwrap()
        .contains("bcd[rule=cyclic]"));
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("href=\"small.svg\"") && page.contains("href=\"small-time-to-target.svg\""));
    assert!(page.matches("<svg").count() >= 2, "the plots are inline");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| small | bcd[rule=gs-q] | 1 | 1 |"), "{md}");

    // --resume runs nothing that is already recorded
    let o = bench(&[
        suite.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--resume",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("6 runs (6 resumed)"), "{stdout}");
    let (_, again) = csv(&out.join("results.csv"));
    assert_eq!(again.len(), 6);
    // --resume with --only keeps the other solvers' runs (and their best values)
    let o = bench(&[
        suite.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--resume",
        "--only",
        "ista",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2), "the crashed run is still recorded");
    assert_eq!(csv(&out.join("results.csv")).1.len(), 6);
    // --only selects runs
    let only = dir.path().join("only");
    let o = bench(&[
        suite.to_str().unwrap(),
        "--out",
        only.to_str().unwrap(),
        "--only",
        "bcd",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(csv(&only.join("results.csv")).1.len(), 2);
}

#[test]
fn bad_suites_and_solvers_are_refused_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("bad.toml");
    std::fs::write(&suite, SUITE.replace("kind = \"lasso\"", "kind = \"lassso\"")).unwrap();
    let o = bench(&[
        suite.to_str().unwrap(),
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("unknown kind `lassso`"),
        "{err}"
    );
    // a Solvent solver with an unknown parameter fails its runs with the reason
    std::fs::write(
        &suite,
        SUITE.replace("rule = [\"gs-q\", \"cyclic\"]", "rulez = 1"),
    )
    .unwrap();
    let out = dir.path().join("o2");
    let o = bench(&[
        suite.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--only",
        "bcd",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let (header, rows) = csv(&out.join("results.csv"));
    let reason = header.iter().position(|h| h == "reason").unwrap();
    assert!(
        rows[0][reason].contains("unknown parameter `rulez`"),
        "{:?}",
        rows[0]
    );
}

#[test]
fn the_built_in_suites_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/suites");
    let mut n = 0;
    for e in std::fs::read_dir(root).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let s = solvent::bench::suite::Suite::read(&p).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                !s.reported.is_empty(),
                "{}: says what the paper reported",
                p.display()
            );
            n += 1;
        }
    }
    assert!(n >= 3);
}

#[test]
fn allocation_and_smooth_glm_kinds_are_scored_against_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("s.toml");
    std::fs::write(
        &suite,
        r#"
name = "kinds"
target = 1e-6
timeout = 20.0
[[problems]]
name = "alloc"
kind = "allocation"
params = { layers = 30, levels = 11, min_size = 100, max_size = 10000, budget = 0.4 }
[[problems]]
name = "ls"
kind = "ls"
params = { samples = 60, features = 40 }
[[problems]]
name = "bilevel"
kind = "bilevel"
params = { dim_x = 5, dim_y = 5, upper_samples = 20, lower_samples = 20 }
[[solvers]]
name = "allocate"
solver = "allocate"
params = { method = ["dp", "uniform"] }
[[solvers]]
name = "penalty"
solver = "penalty"
[[solvers]]
name = "aid"
solver = "aid"
[[solvers]]
name = "bcd"
solver = "bcd"
params = { rule = ["gsq", "cyclic"] }
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = bench(&[suite.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (header, rows) = csv(&out.join("results.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), 6);
    let get = |problem: &str, solver: &str| {
        rows.iter()
            .find(|r| r[col("problem")] == problem && r[col("solver")] == solver)
            .unwrap_or_else(|| panic!("{problem} {solver}"))
    };
    // the exact DP is the optimum: suboptimality 0, and uniform sparsity is measured
    // against it (strictly worse on curves that differ between layers)
    let dp = get("alloc", "allocate[method=dp]");
    let uniform = get("alloc", "allocate[method=uniform]");
    assert_eq!(dp[col("final_subopt")].parse::<f64>().unwrap(), 0.0);
    let u: f64 = uniform[col("final_subopt")].parse().unwrap();
    assert!(u > 1e-3, "uniform is {u} above the DP");
    assert!(uniform[col("value")].parse::<f64>().unwrap() > dp[col("value")].parse::<f64>().unwrap());
    // least squares: both rules reach the same objective, one of them is the best
    let a: f64 = get("ls", "bcd[rule=gsq]")[col("final_subopt")].parse().unwrap();
    let b: f64 = get("ls", "bcd[rule=cyclic]")[col("final_subopt")]
        .parse()
        .unwrap();
    assert!(a.min(b) == 0.0 && a.max(b) <= 1e-6, "{a} {b}");
    // bilevel: the penalty method and AID reach the same upper objective (the penalty's
    // is O(σ) away)
    let p: f64 = get("bilevel", "penalty")[col("final_subopt")].parse().unwrap();
    let q: f64 = get("bilevel", "aid")[col("final_subopt")].parse().unwrap();
    assert!(p.min(q) == 0.0 && p.max(q) <= 1e-3, "{p} {q}");
}

#[test]
fn a_sequence_read_from_a_directory_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("s.toml");
    std::fs::write(
        &suite,
        r#"
name = "files"
target = 1e-10
[[problems]]
name = "fem-disk"
kind = "sequence"
params = { dir = "tests/data/fem-poisson-disk", tol = 1e-10 }
[[solvers]]
name = "solvent"
solver = "sequence"
params = { strategy = ["skr", "auto"] }
[[solvers]]
name = "lister"
command = "test -f {problem}/A_0000.mtx && printf '%s' '{\"status\": \"skipped\", \"reason\": \"a listing\"}' > {out}"
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = bench(&[suite.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (header, rows) = csv(&out.join("results.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows.iter().filter(|r| r[col("solver")].starts_with("solvent")) {
        // all three systems of the directory solved to the tolerance
        assert_eq!(r[col("status")], "ok", "{r:?}");
        assert!(!r[col("time_to_target_s")].is_empty(), "{r:?}");
        assert!(r[col("value")].parse::<f64>().unwrap() <= 1e-10);
    }
    // the external command was handed the directory itself
    let lister = rows.iter().find(|r| r[col("solver")] == "lister").unwrap();
    assert_eq!(lister[col("status")], "skipped", "{lister:?}");
    let jsonl = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let points = jsonl
        .lines()
        .filter(|l| !l.starts_with("{\"record\"") && l.contains("\"solver\":\"solvent[strategy=skr]\""))
        .count();
    assert_eq!(points, 3);
}
