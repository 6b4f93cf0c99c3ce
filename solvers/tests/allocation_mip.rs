//! The allocation DP against an independent exact answer: the same multiple-choice knapsack as
//! a mixed-integer programme (binary x_lk, one option per layer, one budget row), solved by
//! good_lp's pure-Rust MIP backend (microlp), on instances of 50 layers × 21 levels.

use good_lp::{constraint, microlp, variable, Expression, ProblemVariables, Solution, SolverModel};
use solvent_problems::allocation::{synthetic_table, SyntheticTable};
use solvent_solvers::allocation::{dp, Mckp};

fn mip(p: &Mckp) -> f64 {
    let mut vars = ProblemVariables::new();
    let x: Vec<Vec<_>> = p
        .costs
        .iter()
        .map(|c| c.iter().map(|_| vars.add(variable().binary())).collect())
        .collect();
    let objective: Expression = x
        .iter()
        .zip(&p.values)
        .flat_map(|(xs, vs)| xs.iter().zip(vs).map(|(&x, &v)| v * x))
        .sum();
    let spend: Expression = x
        .iter()
        .zip(&p.costs)
        .flat_map(|(xs, cs)| xs.iter().zip(cs).map(|(&x, &c)| c as f64 * x))
        .sum();
    let mut model = vars.minimise(objective.clone()).using(microlp);
    for xs in &x {
        let one: Expression = xs.iter().copied().sum();
        model = model.with(constraint!(one == 1.0));
    }
    model = model.with(constraint!(spend <= p.budget as f64));
    let sol = model.solve().expect("MIP solves");
    // Read the choice back and evaluate it exactly (the MIP's own objective is in floats).
    let choice: Vec<usize> = x
        .iter()
        .map(|xs| {
            xs.iter()
                .position(|&v| sol.value(v) > 0.5)
                .expect("one option per layer")
        })
        .collect();
    assert!(p.cost_of(&choice) <= p.budget);
    p.value_of(&choice)
}

#[test]
fn dp_matches_a_mip_on_50_layers_by_21_levels() {
    for (seed, frac, noise) in [(1u64, 0.3, 0.0), (2, 0.5, 0.2), (3, 0.15, 0.5)] {
        let t = synthetic_table(&SyntheticTable {
            layers: 50,
            levels: 21,
            min_size: 500,
            max_size: 20_000,
            noise,
            seed,
        })
        .unwrap();
        let budget = (t.max_total(0) as f64 * frac) as u64;
        let p = Mckp::from_table(&t, 0, budget).unwrap();
        let s = dp::solve(&p).unwrap();
        let m = mip(&p);
        let tol = 1e-7 * m.abs().max(1.0);
        assert!(
            (s.value - m).abs() <= tol,
            "seed {seed}: DP {} vs MIP {m}",
            s.value
        );
        assert!(s.lagrange.lower_bound <= s.value + tol);
    }
}
