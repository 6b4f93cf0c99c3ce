//! The `solvent` command-line tool.
//!
//! Exit codes: 0 converged, 2 ran but did not converge, 1 bad input or usage (clap's own
//! usage errors included), 130 interrupted (SIGINT or SIGTERM; temporaries removed).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // an interrupt removes the temporaries of outputs being written, then exits: only a
    // SIGKILL can leave a `.NAME.tmp-PID` file behind
    let _ = ctrlc::set_handler(|| {
        solvent::linalg::io::output::remove_temporaries();
        std::process::exit(130);
    });
    // Vulkan drivers (Mesa's lavapipe) complain on standard error when the runtime
    // directory is missing or invalid, even under --quiet: give them a valid one
    let runtime_ok = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
    if !runtime_ok {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let cli = match solvent::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match solvent::cli::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            solvent::errln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
