//! The repository stands on its own: no tracked file refers to a path outside it.
//!
//! A clone must build and pass its tests with nothing beside it (a user's machine,
//! a packager's build, a fork's CI). This test scans every tracked text file for
//! relative paths made of `../` steps and fails when one climbs out of the
//! repository root, resolved from the file's own folder or from its crate's folder
//! (where `env!("CARGO_MANIFEST_DIR")`-relative paths start).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The tracked files, relative to the root: `git ls-files`, or a walk of the tree
/// (minus `target/` and `.git/`) when the source is not a git checkout.
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let git = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output();
    if let Ok(out) = git {
        if out.status.success() && !out.stdout.is_empty() {
            return out
                .stdout
                .split(|&c| c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| PathBuf::from(String::from_utf8_lossy(s).into_owned()))
                .collect();
        }
    }
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(root.join(&rel)).expect("read the source tree") {
            let entry = entry.expect("read a directory entry");
            let name = entry.file_name();
            if name == "target" || name == ".git" {
                continue;
            }
            let path = rel.join(&name);
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Characters that may follow the `../` steps in a path reference.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// Every relative path in `text` that starts with at least one `../` step and names
/// something after the steps (a bare `../` is not a reference to a file).
fn parent_references(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(pos) = text[i..].find("../") {
        let start = i + pos;
        // only the start of a run: not preceded by a path character (so `a../b`,
        // `x/../y` and the second step of a two-step run are not separate references)
        let preceded = start > 0 && is_path_char(bytes[start - 1] as char);
        let end = start
            + text[start..]
                .char_indices()
                .find(|&(_, c)| !is_path_char(c))
                .map_or(text.len() - start, |(k, _)| k);
        if !preceded {
            let candidate = &text[start..end];
            let name = candidate.trim_start_matches("../");
            if name.chars().any(|c| c.is_ascii_alphanumeric()) {
                found.push(candidate.to_string());
            }
        }
        i = end.max(start + 3);
    }
    found
}

/// Whether `reference`, resolved from `base` (a folder relative to the root),
/// climbs above the root.
fn escapes(base: &Path, reference: &str) -> bool {
    let mut depth: Vec<String> = base
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return true;
                }
            }
            name => depth.push(name.to_string()),
        }
    }
    false
}

/// The folder of the nearest `Cargo.toml` at or above `dir` (the root if none).
fn crate_dir(root: &Path, dir: &Path) -> PathBuf {
    let mut d = dir.to_path_buf();
    loop {
        if root.join(&d).join("Cargo.toml").is_file() {
            return d;
        }
        if !d.pop() {
            return PathBuf::new();
        }
    }
}

#[test]
fn no_tracked_file_refers_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut offenders = Vec::new();
    let files = tracked_files(root);
    assert!(
        files.len() > 50,
        "found only {} files under {}",
        files.len(),
        root.display()
    );
    for rel in files {
        if rel.file_name().is_some_and(|n| n == "Cargo.lock") {
            continue;
        }
        let Ok(bytes) = std::fs::read(root.join(&rel)) else {
            continue;
        };
        if bytes.contains(&0) {
            continue; // binary (npy, npz)
        }
        let text = String::from_utf8_lossy(&bytes);
        let dir = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let krate = crate_dir(root, &dir);
        for (line_no, line) in text.lines().enumerate() {
            // include_str!/include_bytes!/#[path] resolve from the file's folder;
            // CARGO_MANIFEST_DIR joins from the crate's; otherwise either may be meant
            let file_relative = ["include_str!", "include_bytes!", "#[path"]
                .iter()
                .any(|m| line.contains(m));
            let crate_relative = line.contains("CARGO_MANIFEST_DIR");
            for reference in parent_references(line) {
                let from_file = !crate_relative && escapes(&dir, &reference);
                let from_crate = !file_relative && escapes(&krate, &reference);
                if from_file || from_crate {
                    offenders.push(format!("{}:{}: {reference}", rel.display(), line_no + 1));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "tracked files refer to paths outside the repository (copy what they need into it):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scanner_finds_what_it_must() {
    let up = "../";
    // a reference out of the root from a top-level test (crate root = repository root)
    let line = format!("join(\"{up}{up}outside/data\")");
    assert_eq!(parent_references(&line), vec![format!("{up}{up}outside/data")]);
    assert!(escapes(Path::new("tests"), &format!("{up}{up}outside/data")));
    assert!(escapes(Path::new(""), &format!("{up}outside")));
    // a sibling crate from a member crate stays inside
    assert!(!escapes(Path::new("gpu"), &format!("{up}linalg")));
    // a bare `../` and inner steps are not references of their own
    assert!(parent_references(&format!("\"{up}\"")).is_empty());
    assert_eq!(parent_references(&format!("a/{up}b")), Vec::<String>::new());
}
