//! A benchmark suite as written in its TOML file, and its expansion into runs.
//!
//! ```toml
//! name = "lasso"
//! description = "Lasso to a relative duality gap of 1e-6"
//! reported = "what the paper reported, quoted beside what the suite measures"
//! repeat = 3          # repetitions of every run (interleaved)
//! timeout = 60.0      # seconds per run
//! seeds = [0]         # a problem is generated once per seed
//! target = 1e-6       # the metric a run must reach (time-to-target)
//!
//! [[problems]]
//! name = "sparse"
//! kind = "lasso"      # lasso | l1-logistic | ls | logistic | sequence | completion | allocation | bilevel
//! params = { samples = 500, features = 2000, density = 0.01, lambda_ratio = 0.1 }
//!
//! [[solvers]]
//! name = "bcd"
//! solver = "bcd"      # one of Solvent's (for the problem's kind), or…
//! params = { rule = ["gsq", "cyclic"] }   # a grid: every combination is a run
//!
//! [[solvers]]
//! name = "sklearn"    # …an external command writing the trace schema (docs/bench.md)
//! command = "python3 bench/peers/sklearn_lasso.py {problem} {out} {tol} {budget}"
//! kinds = ["lasso"]
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The problem kinds a suite can hold.
pub const KINDS: &[&str] = &[
    "lasso",
    "l1-logistic",
    "ls",
    "logistic",
    "sequence",
    "completion",
    "allocation",
    "bilevel",
];

/// A suite file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Name (the output's title).
    pub name: String,
    /// What the suite compares.
    #[serde(default)]
    pub description: String,
    /// What the paper (or the peers' documentation) reported for this experiment.
    #[serde(default)]
    pub reported: String,
    /// Repetitions of every run.
    #[serde(default = "one")]
    pub repeat: usize,
    /// Seconds per run at most.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// Seeds: every problem is made once per seed.
    #[serde(default = "zero_seed")]
    pub seeds: Vec<u64>,
    /// The metric target of time-to-target (a suboptimality, a duality gap, a relative
    /// residual, or a test-RMSE excess over the best, by kind).
    #[serde(default = "default_target")]
    pub target: f64,
    /// The problems.
    pub problems: Vec<ProblemSpec>,
    /// The solvers.
    pub solvers: Vec<SolverSpec>,
}

fn one() -> usize {
    1
}
fn default_timeout() -> f64 {
    60.0
}
fn zero_seed() -> Vec<u64> {
    vec![0]
}
fn default_target() -> f64 {
    1e-6
}

/// One problem of a suite.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemSpec {
    /// Name, unique in the suite.
    pub name: String,
    /// One of [`KINDS`].
    pub kind: String,
    /// The kind's parameters (generator sizes, λ, the PDE family, …).
    #[serde(default)]
    pub params: toml::Table,
}

/// One solver of a suite: Solvent's (`solver`) or an external command (`command`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverSpec {
    /// Name, unique in the suite.
    pub name: String,
    /// A Solvent solver for the problem's kind (`bcd`; `sequence`; `altmin`, `als`).
    #[serde(default)]
    pub solver: Option<String>,
    /// An external command template: `{problem}` (the problem file or directory),
    /// `{out}` (the trace to write), `{tol}`, `{budget}` (seconds), `{seed}`, and
    /// `{param}` for each of its parameters.
    #[serde(default)]
    pub command: Option<String>,
    /// The kinds it applies to (default: every kind for a command, its own for Solvent's).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Parameters; an array is a grid (every combination is one run).
    #[serde(default)]
    pub params: toml::Table,
}

/// A solver with one value per parameter.
#[derive(Clone, Debug)]
pub struct SolverConfig {
    /// The suite's solver.
    pub spec: SolverSpec,
    /// Its parameters for this configuration.
    pub params: BTreeMap<String, toml::Value>,
}

impl SolverConfig {
    /// `name` or `name[key=value,…]`.
    pub fn label(&self) -> String {
        if self.params.is_empty() || self.spec.params.values().all(|v| !v.is_array()) {
            return self.spec.name.clone();
        }
        // only the parameters that vary are named
        let varying: Vec<String> = self
            .params
            .iter()
            .filter(|(k, _)| self.spec.params.get(*k).is_some_and(|v| v.is_array()))
            .map(|(k, v)| format!("{k}={}", plain(v)))
            .collect();
        format!("{}[{}]", self.spec.name, varying.join(","))
    }
}

/// A TOML value as plain text (strings unquoted).
pub fn plain(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every combination of a parameter grid (arrays vary, scalars are fixed).
fn grid(params: &toml::Table) -> Vec<BTreeMap<String, toml::Value>> {
    let mut out = vec![BTreeMap::new()];
    for (k, v) in params {
        let values: Vec<toml::Value> = match v {
            toml::Value::Array(a) if !a.is_empty() => a.clone(),
            other => vec![other.clone()],
        };
        out = out
            .into_iter()
            .flat_map(|base| {
                values.iter().map(move |x| {
                    let mut m = base.clone();
                    m.insert(k.clone(), x.clone());
                    m
                })
            })
            .collect();
    }
    out
}

/// Why a suite file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file cannot be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The file is not a valid suite.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Suite {
    /// Reads and checks a suite file.
    pub fn read(path: &Path) -> Result<Self, SuiteError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SuiteError::Read {
            path: p.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &p)
    }

    /// Parses and checks a suite (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<Self, SuiteError> {
        let invalid = |message: String| SuiteError::Invalid {
            path: origin.to_string(),
            message,
        };
        let suite: Suite = toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_string()))?;
        if suite.problems.is_empty() || suite.solvers.is_empty() {
            return Err(invalid(
                "a suite needs at least one [[problems]] and one [[solvers]]".into(),
            ));
        }
        if suite.repeat == 0 {
            return Err(invalid("repeat must be at least 1".into()));
        }
        if !(suite.timeout > 0.0 && suite.timeout.is_finite()) {
            return Err(invalid(format!(
                "timeout must be positive, got {}",
                suite.timeout
            )));
        }
        if !(suite.target > 0.0 && suite.target.is_finite()) {
            return Err(invalid(format!("target must be positive, got {}", suite.target)));
        }
        if suite.seeds.is_empty() {
            return Err(invalid("seeds must list at least one seed".into()));
        }
        let mut names = std::collections::HashSet::new();
        for p in &suite.problems {
            if !KINDS.contains(&p.kind.as_str()) {
                return Err(invalid(format!(
                    "problem `{}`: unknown kind `{}` (choose from {})",
                    p.name,
                    p.kind,
                    KINDS.join(", ")
                )));
            }
            if !names.insert(format!("p:{}", p.name)) {
                return Err(invalid(format!("two problems are called `{}`", p.name)));
            }
        }
        for s in &suite.solvers {
            if s.solver.is_some() == s.command.is_some() {
                return Err(invalid(format!(
                    "solver `{}`: give exactly one of `solver` (Solvent's) and `command` (external)",
                    s.name
                )));
            }
            if let Some(k) = s.kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
                return Err(invalid(format!("solver `{}`: unknown kind `{k}`", s.name)));
            }
            if !names.insert(format!("s:{}", s.name)) {
                return Err(invalid(format!("two solvers are called `{}`", s.name)));
            }
        }
        Ok(suite)
    }

    /// Every configuration of every solver.
    pub fn configs(&self) -> Vec<SolverConfig> {
        self.solvers
            .iter()
            .flat_map(|s| {
                grid(&s.params).into_iter().map(move |params| SolverConfig {
                    spec: s.clone(),
                    params,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_expands_to_every_combination_and_labels_name_what_varies() {
        let s = Suite::parse(
            r#"
name = "t"
[[problems]]
name = "p"
kind = "lasso"
[[solvers]]
name = "bcd"
solver = "bcd"
params = { rule = ["gsq", "cyclic"], block_size = [10, 50], update = "newton" }
"#,
            "t.toml",
        )
        .unwrap();
        let labels: Vec<String> = s.configs().iter().map(|c| c.label()).collect();
        assert_eq!(labels.len(), 4);
        assert!(
            labels.contains(&"bcd[block_size=10,rule=gsq]".to_string()),
            "{labels:?}"
        );
        assert!(s
            .configs()
            .iter()
            .all(|c| c.params["update"].as_str() == Some("newton")));
    }

    #[test]
    fn bad_suites_are_refused_with_the_reason() {
        let cases = [
            ("name = \"t\"\n[[problems]]\nname = \"p\"\nkind = \"nope\"\n[[solvers]]\nname = \"s\"\nsolver = \"bcd\"\n", "unknown kind `nope`"),
            ("name = \"t\"\n[[problems]]\nname = \"p\"\nkind = \"lasso\"\n[[solvers]]\nname = \"s\"\n", "exactly one of"),
            ("name = \"t\"\nrepeat = 0\n[[problems]]\nname = \"p\"\nkind = \"lasso\"\n[[solvers]]\nname = \"s\"\nsolver = \"bcd\"\n", "repeat"),
            ("name = \"t\"\nbogus = 1\n", "bogus"),
        ];
        for (text, want) in cases {
            let e = Suite::parse(text, "t.toml").unwrap_err().to_string();
            assert!(e.contains(want) && e.starts_with("t.toml"), "{e}");
        }
    }
}
