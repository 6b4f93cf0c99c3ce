//! External solvers: a suite's `command` template, filled in and run as a child process
//! with the suite's time limit (killed when it runs over), which writes its trace to
//! `{out}` in the trace schema ([`RunTrace`]). A command that exits non-zero, crashes or
//! writes no readable trace is a failed run; one that reports `skipped` (its library is
//! not installed) is a skipped run; the suite goes on either way.

use super::suite::{plain, SolverConfig};
use super::trace::{RunStatus, RunTrace};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The command line of `config` for one run.
pub fn fill(
    template: &str,
    config: &SolverConfig,
    problem: &Path,
    out: &Path,
    tol: f64,
    budget: f64,
    seed: u64,
) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut cmd = template
        .replace("{problem}", &quote(&problem.display().to_string()))
        .replace("{out}", &quote(&out.display().to_string()))
        .replace("{tol}", &format!("{tol:e}"))
        .replace("{budget}", &format!("{budget}"))
        .replace("{seed}", &seed.to_string());
    for (k, v) in &config.params {
        cmd = cmd.replace(&format!("{{{k}}}"), &quote(&plain(v)));
    }
    cmd
}

/// Runs the filled command `cmd` (through `sh -c`, in `cwd`) with `timeout` seconds, and
/// reads the trace it wrote to `out`.
pub fn run(cmd: &str, cwd: &Path, out: &Path, timeout: f64) -> RunTrace {
    let _ = std::fs::remove_file(out);
    let mut command = Command::new("sh");
    command.arg("-c").arg(cmd).current_dir(cwd);
    // its own process group, so that a timeout kills everything it started (the shell
    // and the interpreter under it), not the shell alone
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return RunTrace::without_trace(RunStatus::Failed, format!("cannot start `{cmd}`: {e}")),
    };
    // read standard error on a thread so a chatty child never blocks on a full pipe
    let mut err_pipe = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = err_pipe.as_mut() {
            use std::io::Read;
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let start = Instant::now();
    let limit = Duration::from_secs_f64(timeout);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() >= limit => {
                #[cfg(unix)]
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .stderr(Stdio::null())
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stderr = reader.join().unwrap_or_default();
    let tail: String = stderr
        .lines()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join(" | ");
    let written = std::fs::read_to_string(out)
        .ok()
        .and_then(|t| serde_json::from_str::<RunTrace>(&t).ok());
    match (status, written) {
        (None, w) => {
            let mut t = w.unwrap_or_else(|| RunTrace::without_trace(RunStatus::Timeout, ""));
            t.status = RunStatus::Timeout;
            t.reason = format!("killed after the time limit of {timeout} s");
            t
        }
        (Some(s), Some(t)) if s.success() => t,
        (Some(s), _) if s.success() => RunTrace::without_trace(
            RunStatus::Failed,
            format!("the command wrote no readable trace to {}: {tail}", out.display()),
        ),
        (Some(s), _) => RunTrace::without_trace(
            RunStatus::Failed,
            format!(
                "the command failed ({}): {tail}",
                s.code()
                    .map_or("killed by a signal".into(), |c| format!("exit {c}"))
            ),
        ),
    }
}
