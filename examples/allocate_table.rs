//! Allocate per-layer sparsity under a global budget from an options table built in
//! memory, and compare the exact DP with the uniform baseline.
//!
//! `cargo run --release --example allocate_table`

use solvent::problems::allocation::{Layer, LayerOption, OptionTable};
use solvent::solvers::allocation::{allocate, AllocateRequest, AllocationMethod, Budget};

/// Three layers of 1000, 4000 and 500 weights, sparsity 0–90% in steps of 10%; the
/// distortion of pruning a fraction s of layer l grows like c_l·s².
fn table() -> Result<OptionTable, Box<dyn std::error::Error>> {
    let layers = [("attn", 1000u64, 3.0), ("mlp", 4000, 1.0), ("head", 500, 8.0)]
        .iter()
        .map(|&(name, size, c)| Layer {
            name: name.into(),
            shape: None,
            options: (0..10u32)
                .map(|k| {
                    let s = k as f64 / 10.0;
                    LayerOption {
                        level: k * 10,
                        sparsity: Some(s),
                        cost: vec![size - (s * size as f64).round() as u64],
                        distortion: c * s * s * size as f64,
                    }
                })
                .collect(),
        })
        .collect();
    Ok(OptionTable::new(vec!["params".into()], layers)?)
}

/// Allocates at 50% of the parameters and checks the DP beats uniform.
pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let table = table()?;
    let mut request = AllocateRequest::new(AllocationMethod::Dp, Budget::Fraction(0.5));
    request.compare = true;
    let out = allocate(&table, request)?;
    for l in &out.layers {
        println!("{:<5} level {:>2}%", l.name, l.level);
    }
    println!(
        "kept {} of {} parameters, distortion {:.1} (lower bound {:.1})",
        out.total_cost["params"], out.dense_total, out.total_distortion, out.lower_bound
    );
    assert!(out.total_cost["params"] <= out.budget);
    let uniform = out
        .compare
        .iter()
        .find(|c| c.method == AllocationMethod::Uniform)
        .and_then(|c| c.total_distortion)
        .ok_or("no uniform baseline")?;
    println!("uniform: {uniform:.1}");
    assert!(out.total_distortion <= uniform);
    Ok(())
}
