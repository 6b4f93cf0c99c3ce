//! Helpers shared by the end-to-end tests: running the `solvent` binary.

use std::process::{Command, Output};

/// Runs the built `solvent` binary with `args`.
pub fn solvent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_solvent"))
        .args(args)
        .output()
        .expect("run solvent")
}

/// Its standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
