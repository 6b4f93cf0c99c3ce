//! A bounded fuzz run of every file reader (Matrix Market, svmlight, ratings, allocation
//! tables in JSON and CSV, safetensors, npy): seed files mutated at random (bytes flipped,
//! inserted, deleted, duplicated, truncated, numbers replaced by huge, negative or
//! non-finite ones), each read once. No input may panic, and none may make the reader
//! allocate more than 10x its size plus a constant (a file declaring billions of rows
//! must be refused, not believed). Reproducible from the seed; the counts are printed
//! (`cargo test --test fuzz_readers -- --nocapture`).
//!
//! One test in this binary, so the allocation counter sees only the reader at work.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts live bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now =
                    LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Allocation allowed beyond 10x the input: buffered readers, parsers' tables, the
/// error message (the Matrix Market reader's 1 MiB line buffer and first reservation).
const SLACK: usize = 8 << 20;

/// A deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Numbers a hostile file would declare.
const NASTY: [&str; 10] = [
    "2000000000",
    "200000000",
    "18446744073709551615",
    "9999999999999999999999",
    "-1",
    "0",
    "nan",
    "inf",
    "1e308",
    "-0",
];

/// One mutation of `seed` (1–3 edits).
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(3) {
        let n = b.len();
        match rng.below(7) {
            0 if n > 0 => {
                let i = rng.below(n);
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(n + 1);
                b.insert(i, rng.next() as u8);
            }
            2 if n > 0 => {
                let i = rng.below(n);
                let len = 1 + rng.below(16.min(n - i));
                b.drain(i..i + len);
            }
            3 if n > 0 => {
                let i = rng.below(n);
                let len = 1 + rng.below(32.min(n - i));
                let piece: Vec<u8> = b[i..i + len].to_vec();
                let at = rng.below(n + 1);
                b.splice(at..at, piece);
            }
            4 => b.truncate(rng.below(n + 1)),
            _ => {
                // replace a run of digits by a nasty number
                let digits: Vec<usize> = (0..n).filter(|&i| b[i].is_ascii_digit()).collect();
                if digits.is_empty() {
                    continue;
                }
                let start = digits[rng.below(digits.len())];
                let mut end = start;
                while end < n && (b[end].is_ascii_digit() || b[end] == b'.') {
                    end += 1;
                }
                let s = NASTY[rng.below(NASTY.len())].as_bytes().to_vec();
                b.splice(start..end, s);
            }
        }
    }
    b
}

/// What one reader's run found.
struct Tally {
    inputs: usize,
    accepted: usize,
    /// The largest peak allocation seen, and the size of its input.
    worst: (usize, usize),
}

/// Reads `count` mutations of `seeds` (or as many as fit in `budget`) with `read`,
/// asserting no panic and bounded allocation for each.
fn fuzz(
    name: &str,
    ext: &str,
    seeds: &[Vec<u8>],
    count: usize,
    budget: Duration,
    read: &dyn Fn(&Path) -> bool,
) -> Tally {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("input.{ext}"));
    let mut rng = Rng(0x5eed ^ name.len() as u64);
    let mut t = Tally {
        inputs: 0,
        accepted: 0,
        worst: (0, 0),
    };
    let start = Instant::now();
    while t.inputs < count && start.elapsed() < budget {
        let seed = &seeds[rng.below(seeds.len())];
        let input = if t.inputs < seeds.len() {
            seed.clone()
        } else {
            mutate(seed, &mut rng)
        };
        std::fs::write(&path, &input).unwrap();
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&path)));
        let used = PEAK.load(Ordering::Relaxed).saturating_sub(base);
        let Ok(ok) = ok else {
            panic!(
                "{name}: the reader panicked on input {}:\n{}",
                t.inputs,
                String::from_utf8_lossy(&input)
            );
        };
        assert!(
            used <= 10 * input.len() + SLACK,
            "{name}: input {} of {} bytes made the reader allocate {used} bytes:\n{}",
            t.inputs,
            input.len(),
            String::from_utf8_lossy(&input[..input.len().min(400)])
        );
        if used > t.worst.0 {
            t.worst = (used, input.len());
        }
        t.inputs += 1;
        t.accepted += usize::from(ok);
    }
    eprintln!(
        "{name:<18} {:>6} inputs, {:>5} read without error, no panic; largest peak allocation {} bytes (for a {}-byte input)",
        t.inputs, t.accepted, t.worst.0, t.worst.1
    );
    t
}

fn safetensors_seed() -> Vec<u8> {
    // two F32 tensors: "w" 2×3 and "b" 3
    let header = r#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}}"#;
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    for i in 0..9 {
        v.extend_from_slice(&(i as f32 * 0.5 - 1.0).to_le_bytes());
    }
    v
}

fn npy_seed() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.npy");
    solvent::linalg::io::npy::write_f64(&p, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    std::fs::read(p).unwrap()
}

#[test]
fn readers_survive_mutated_inputs_with_bounded_allocation() {
    use solvent::linalg::io::{matrix_market, npy, svmlight};
    use solvent::problems::allocation::{read_table, Model};
    use solvent::problems::completion::{read_ratings, Delimiter};

    let budget = Duration::from_secs(6);
    let n = 3000;
    let b = |s: &str| s.as_bytes().to_vec();
    let mm = [
        b("%%MatrixMarket matrix coordinate real general\n% a comment\n3 3 4\n1 1 2.5\n2 2 3\n3 1 -1\n3 3 4e-2\n"),
        b("%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 4\n2 1 -1\n3 3 2\n"),
        b("%%MatrixMarket matrix array real general\n3 1\n1.0\n2.0\n-3.5\n"),
        b("%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 2\n2 1\n"),
    ];
    let svm = [
        b("+1 1:0.5 3:-2 # note\n-1 qid:3 2:1.5\n\n0 4:1e-3\n"),
        b("1 1:1 2:1\n-1 2:3\n"),
    ];
    let ratings = [
        b("user\titem\trating\n196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"),
        b("u1,i1,4.5\nu2,i1,3\nu1,i2,1\n"),
    ];
    let table_json = [b(
        r#"{"layers":[{"name":"a","shape":[4,25],"options":[{"level":0,"sparsity":0.0,"cost":{"params":100},"distortion":0},{"level":50,"sparsity":0.5,"cost":{"params":50},"distortion":1.5}]},{"name":"b","options":[{"level":0,"cost":{"params":10},"distortion":0},{"level":1,"cost":{"params":5},"distortion":2}]}]}"#,
    )];
    let table_csv = [b("layer,level,sparsity,params,flops,distortion\na,0,0,100,200,0\na,50,0.5,50,100,1.5\nb,0,0,10,20,0\nb,1,0.5,5,10,2\n")];
    let tensors = [safetensors_seed()];
    let arrays = [npy_seed()];

    let runs = [
        fuzz("matrix market", "mtx", &mm, n, budget, &|p| {
            matrix_market::read_matrix(p).is_ok() | matrix_market::read_vector(p).is_ok()
        }),
        fuzz("svmlight", "svm", &svm, n, budget, &|p| {
            svmlight::read(p, None).is_ok()
        }),
        fuzz("ratings", "tsv", &ratings, n, budget, &|p| {
            read_ratings(p, Delimiter::Auto, None).is_ok()
        }),
        fuzz("allocation json", "json", &table_json, n, budget, &|p| {
            read_table(p).is_ok()
        }),
        fuzz("allocation csv", "csv", &table_csv, n, budget, &|p| {
            read_table(p).is_ok()
        }),
        fuzz("safetensors", "safetensors", &tensors, n, budget, &|p| {
            Model::open(p).is_ok()
        }),
        fuzz("npy", "npy", &arrays, n, budget, &|p| npy::read(p).is_ok()),
    ];
    for t in &runs {
        assert!(t.inputs >= 200, "too few inputs tried in the time budget");
        assert!(
            t.accepted >= 1 && t.accepted < t.inputs,
            "the seeds read and some mutations fail"
        );
    }
}
