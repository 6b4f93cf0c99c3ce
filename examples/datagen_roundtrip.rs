//! Generate a small Darcy data set (sorted, recycled sequence solve), write it as `.npz`
//! and read it back, as a neural-operator pipeline would.
//!
//! `cargo run --release --example datagen_roundtrip`

use solvent::linalg::io::npz::{self, NpzMember};
use solvent::problems::generators::PdeFamily;
use solvent::solvers::datagen::{generate, DatagenConfig, Precision};
use solvent::solvers::sequence::NoProgress;

/// Generates, writes, reads back and compares.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = DatagenConfig {
        seed: 7,
        ..DatagenConfig::new(PdeFamily::Darcy, 32, 16)
    };
    let out = generate(&config, &mut NoProgress)?;
    println!("{}", out.report.summary());
    println!("plan: {}", out.report.plan.reason);
    let dir = std::env::temp_dir().join(format!("solvent-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("darcy.npz");
    out.dataset.write(&path, Precision::F64)?;
    // read it back: coeff and sol are (K, N, N) arrays
    let mut sol = None;
    for (name, member) in npz::read(&path)? {
        if let (true, NpzMember::Array(a)) = (name == "sol", member) {
            assert_eq!(a.shape, vec![16, 32, 32]);
            sol = Some(a.data);
        }
    }
    std::fs::remove_dir_all(&dir)?;
    let sol = sol.ok_or("no `sol` member in the data set")?;
    assert_eq!(sol, out.dataset.sol, "float64 fields read back bit for bit");
    assert!(out.dataset.relres.iter().all(|&r| r <= config.tol));
    println!("read back {} solution values", sol.len());
    Ok(())
}
