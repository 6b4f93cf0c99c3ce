//! An external evaluator: a shell command that scores allocations (for joint
//! distortions that do not add up, measured by running the model).

use super::evolve::Evaluator;
use super::pipeline::layer_choices;
use crate::SolverError;
use solvent_problems::allocation::OptionTable;
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `sh -c COMMAND` per evaluation: the allocation goes to its standard input as
/// JSON (`{"layers": [{"name", "level", "sparsity", "cost", "distortion"}, …]}`), the
/// selection stage is in `$SOLVENT_EVAL_STAGE`, and the last non-empty line of its
/// standard output is the score (a finite number). A command that fails or prints no
/// number is an error naming the command.
pub struct CommandEvaluator<'a> {
    /// The shell command.
    pub command: String,
    /// Selection stages it supports.
    pub stages: usize,
    /// The table allocations index into.
    pub table: &'a OptionTable,
}

impl Evaluator for CommandEvaluator<'_> {
    fn stages(&self) -> usize {
        self.stages
    }
    fn evaluate(&mut self, choice: &[usize], stage: usize) -> Result<f64, SolverError> {
        let fail = |m: String| SolverError::NotApplicable(format!("evaluator `{}`: {m}", self.command));
        let input = serde_json::json!({ "layers": layer_choices(self.table, choice) }).to_string();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env("SOLVENT_EVAL_STAGE", stage.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot start: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            // an evaluator may ignore its input and exit first: a closed pipe is not an error,
            // its output and exit status decide
            match stdin.write_all(input.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(fail(format!("writing stdin: {e}")))
                }
                _ => {}
            }
        }
        let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(format!("exited with {}", out.status)));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        match last.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(fail(format!(
                "last line of its output, \"{last}\", is not a finite number"
            ))),
        }
    }
}
