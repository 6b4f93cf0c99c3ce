//! Running library calls with the GIL released and Ctrl-C honoured.
//!
//! Python runs its signal handlers only on the main thread, between bytecodes. A long
//! Rust computation would block both: other Python threads (the GIL) and Ctrl-C. So the
//! computation runs on a worker thread while the calling thread, with the GIL released,
//! waits for it and every [`POLL`] re-acquires the GIL just long enough to run the
//! pending handlers (`PyErr_CheckSignals`). When a handler raises — `KeyboardInterrupt`
//! from Ctrl-C — the library's interrupt flag ([`Options::interrupt`]) is set, the
//! worker stops at its next iteration, and the exception is raised to the caller.
//!
//! Small jobs run inline instead (starting a thread costs tens of microseconds, more
//! than a small solve): the caller says so with `inline`.

use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// How often the waiting thread looks for pending signals.
const POLL: Duration = Duration::from_millis(50);

/// An interrupt flag for [`solvent::solvers::Options::interrupt`].
pub fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// Runs `work` without the GIL — on this thread when `inline`, else on a worker while
/// this thread watches for signals — setting `flag` and returning the signal's
/// exception when one is raised.
pub fn run<T, F>(py: Python<'_>, flag: &Arc<AtomicBool>, inline: bool, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    if inline {
        return Ok(py.detach(work));
    }
    py.detach(|| {
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<()>();
            let worker = std::thread::Builder::new()
                .name("solvent worker".into())
                .spawn_scoped(scope, move || {
                    let out = work();
                    let _ = tx.send(());
                    out
                })
                .map_err(|e| {
                    pyo3::exceptions::PyRuntimeError::new_err(format!("could not start a worker thread: {e}"))
                })?;
            let mut raised: Option<PyErr> = None;
            loop {
                match rx.recv_timeout(POLL) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if raised.is_none() {
                            if let Err(e) = Python::attach(|py| py.check_signals()) {
                                flag.store(true, Ordering::Relaxed);
                                raised = Some(e);
                            }
                        }
                    }
                }
            }
            let out = match worker.join() {
                Ok(out) => out,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            match raised {
                Some(e) => Err(e),
                None => Ok(out),
            }
        })
    })
}
