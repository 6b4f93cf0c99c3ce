//! Every `solvent …` command in the README and the guides (their `sh` blocks) parses with
//! the CLI as it is, so a renamed flag or subcommand cannot leave a stale example behind.
//! (Their Rust examples run as doctests: see `src/lib.rs`.)

use clap::Parser;
use solvent::cli::Cli;
use std::path::Path;

/// The command lines in `sh` fences: continuation lines joined, comments dropped.
fn sh_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = t == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = match t.find(" # ") {
            Some(i) => &t[..i],
            None if t.starts_with('#') => "",
            None => t,
        };
        let code = code.trim_end();
        if let Some(head) = code.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(code);
        if !pending.trim().is_empty() {
            out.push(std::mem::take(&mut pending));
        }
        pending.clear();
    }
    out
}

/// Splits a command line like a POSIX shell would for these examples (single and double
/// quotes, no expansions).
fn words(line: &str) -> Vec<String> {
    let (mut words, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// The `solvent` invocations among the commands (`solvent …`, `cargo run --release -- …`,
/// `mpirun -n R target/release/solvent …`).
fn invocations(commands: &[String]) -> Vec<Vec<String>> {
    commands
        .iter()
        .filter_map(|c| {
            let w = words(c);
            let launcher = w
                .first()
                .is_some_and(|s| ["mpirun", "mpiexec", "srun"].contains(&s.as_str()));
            let args = if w.first().is_some_and(|s| s == "solvent") {
                w[1..].to_vec()
            } else if launcher {
                let i = w.iter().position(|s| s == "solvent" || s.ends_with("/solvent"))?;
                w[i + 1..].to_vec()
            } else if let Some(i) = w.iter().position(|s| s == "--") {
                (w.first().is_some_and(|s| s == "cargo") && w.get(1).is_some_and(|s| s == "run"))
                    .then(|| w[i + 1..].to_vec())?
            } else {
                return None;
            };
            Some(args)
        })
        .collect()
}

#[test]
fn every_documented_command_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            files.push(p);
        }
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for args in invocations(&sh_commands(&text)) {
            // The model runner's subcommands exist only with the `nn` feature.
            if cfg!(not(feature = "nn")) && args.first().is_some_and(|a| a == "prune-eval" || a == "embed") {
                continue;
            }
            checked += 1;
            let argv = std::iter::once("solvent".to_string()).chain(args.iter().cloned());
            if let Err(e) = Cli::try_parse_from(argv) {
                failures.push(format!(
                    "{}: solvent {}\n  {}",
                    f.file_name().unwrap().to_string_lossy(),
                    args.join(" "),
                    e.to_string().lines().next().unwrap_or("")
                ));
            }
        }
    }
    assert!(checked >= 25, "only {checked} documented commands found");
    assert!(
        failures.is_empty(),
        "documented commands that no longer parse:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_extraction_sees_what_it_must() {
    let doc = "```sh\nsolvent solve A.mtx --tol 1e-10   # comment\ncargo run --release -- datagen darcy \\\n    --grid 8\nscripts/test.sh\nmpirun -n 4 target/release/solvent complete --rank 3\n```\n";
    let inv = invocations(&sh_commands(doc));
    assert_eq!(
        inv,
        vec![
            vec!["solve", "A.mtx", "--tol", "1e-10"],
            vec!["datagen", "darcy", "--grid", "8"],
            vec!["complete", "--rank", "3"]
        ]
    );
    assert_eq!(words("a 'b c' \"d\""), vec!["a", "b c", "d"]);
    // a stale flag is caught
    assert!(Cli::try_parse_from(["solvent", "solve", "--no-such-flag"]).is_err());
}
