//! Memory guards: a command predicts what it will allocate and checks it against what
//! the process may have — the machine's available memory and the process's
//! address-space limit (`ulimit -v`) — before starting, so that a small file declaring a
//! huge size gets a clear error naming the estimate instead of an abort mid-run.

use crate::error::{LinalgError, Result};

/// Bytes the process can still allocate, as far as the system says: the smaller of the
/// machine's available memory (`MemAvailable`) and the room left under the
/// address-space limit. `None` where the system does not say (then nothing is refused).
pub fn available_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let mem = meminfo.as_deref().and_then(|t| kib_field(t, "MemAvailable:"));
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| address_space_limit(&t));
    let used = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| kib_field(&t, "VmSize:"))
        .unwrap_or(0);
    let room = limit.map(|l| l.saturating_sub(used));
    match (mem, room) {
        (Some(m), Some(r)) => Some(m.min(r)),
        (m, r) => m.or(r),
    }
}

/// A `NAME: N kB` field of a `/proc` file, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// The soft "Max address space" of `/proc/self/limits`, in bytes (`None`: unlimited).
fn address_space_limit(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    let soft = line["Max address space".len()..].split_whitespace().next()?;
    soft.parse().ok()
}

/// Refuses work predicted to need `bytes` when the process cannot have them, with an
/// error naming `what` and the estimate. Predictions are of the large buffers only, so
/// the check leaves a margin: it refuses above 90% of what is available.
pub fn check(bytes: f64, what: &str) -> Result<()> {
    let Some(avail) = available_bytes() else {
        return Ok(());
    };
    if bytes > 0.9 * avail as f64 {
        return Err(LinalgError::Memory {
            what: what.to_string(),
            needed: bytes,
            available: avail as f64,
        });
    }
    Ok(())
}

/// Dense parts a reader may size from what a file declares (row pointers of a sparse
/// matrix, the entries of a vector) before it refuses: 64 MiB plus 16 bytes per byte of
/// the file. A file of a few bytes that declares billions of rows is refused by name
/// instead of allocating gigabytes; a real file is never near the limit.
pub fn declared_limit(file_bytes: u64) -> f64 {
    64.0 * 1024.0 * 1024.0 + 16.0 * file_bytes as f64
}

/// `bytes` for humans (`7.2 GB`).
pub fn human(bytes: f64) -> String {
    match bytes {
        b if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        b if b >= 1e6 => format!("{:.1} MB", b / 1e6),
        b => format!("{:.0} kB", b / 1e3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields_parse() {
        assert_eq!(
            kib_field("MemTotal: 10 kB\nMemAvailable:    2048 kB\n", "MemAvailable:"),
            Some(2048 * 1024)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max address space         1073741824           unlimited            bytes\n";
        assert_eq!(address_space_limit(limits), Some(1 << 30));
        let unlimited = "Max address space         unlimited            unlimited            bytes\n";
        assert_eq!(address_space_limit(unlimited), None);
    }

    #[test]
    fn an_impossible_estimate_is_refused_with_its_size() {
        if available_bytes().is_none() {
            return; // a system that does not say
        }
        let e = check(1e18, "a test buffer").unwrap_err();
        assert!(
            e.to_string().contains("1000000000.0 GB") && e.to_string().contains("a test buffer"),
            "{e}"
        );
        check(1e3, "a small buffer").unwrap();
    }
}
