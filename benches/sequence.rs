//! Sequence-solving ablation, every configuration side by side in one run:
//! independent GMRES(m) (the published baseline), sorted GMRES, sorted
//! GCRO-DR (SKR, the published method), SKR + warm start, and `auto`.
//!
//! Run: `cargo bench --bench sequence -- [FAMILY] [GRID] [COUNT] [TOL] [PRECOND]`
//! (defaults: `darcy 100 100 1e-8 none`, the Darcy setting;
//! `helmholtz 100 100 1e-8 ilu0` is the Helmholtz one). Prints a table of
//! total iterations and solve time (assembly excluded), the ratios to the
//! baseline, and the cost of one GCRO-DR iteration relative to one GMRES
//! iteration. `-- … --only=TEXT` runs only the configurations whose name contains
//! TEXT (for profiling one of them; `A|B` keeps either — quote it in the shell), and `--mk=M,K` gives the GCRO-DR
//! rows GCRO-DR(M, K) instead of (40, 20) (the GMRES rows stay GMRES(40)); `--refresh=R`
//! refreshes their recycled space every R cycles instead of the default. `--chains=P` solves
//! every row as P chains in parallel ([`SequencePlan::chains`]); the `wall s` column is
//! then the one to compare (assembly included), `solve s` staying the sum over systems.
//!
//! `darcy-published` as the family runs the operator the SKR paper actually solved for
//! Darcy — the 5-point Laplacian times `diag(a)` (`−Δ(a u)`, nonsymmetric), with our
//! `a = exp(GRF)` samples and `f = 1` — so its published iteration ratio (19.1x at
//! n = 6400) can be set beside ours on the symmetric operator `−∇·(a∇u)`.

use solvent::linalg::precond::PrecondKind;
use solvent::linalg::CsrMatrix;
use solvent::problems::generators::{poisson2d, FamilyConfig, PdeFamily, PdeSampler};
use solvent::solvers::krylov::{analyse, Method};
use solvent::solvers::sequence::{
    resolve_plan, solve_sequence, OrderKind, SamplerSource, SeqMethod, SequenceConfig, SequencePlan,
    SequenceReport, Strategy, SystemSource, DEFAULT_REFRESH_EVERY,
};
use solvent::solvers::{Options, Result};

/// The SKR paper's Darcy operator `L · diag(a)` (`L` the `h²`-scaled 5-point Laplacian),
/// nonsymmetric, built from the same `exp(GRF)` samples as our `darcy` family.
struct PublishedDarcy {
    inner: SamplerSource,
    laplacian: CsrMatrix,
    grid: usize,
}

impl SystemSource for PublishedDarcy {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn features(&self, i: usize) -> Result<Vec<f64>> {
        self.inner.features(i)
    }
    fn system(&self, i: usize) -> Result<(CsrMatrix, Vec<f64>)> {
        let a = self.inner.sampler().coefficient_field(i);
        let mut op = self.laplacian.clone();
        let cols = op.col_idx().to_vec();
        for (v, &c) in op.values_mut().iter_mut().zip(&cols) {
            *v *= a[c as usize];
        }
        let h = 1.0 / (self.grid as f64 + 1.0);
        Ok((op, vec![h * h; self.grid * self.grid]))
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let family_arg = args.first().map_or("darcy", String::as_str);
    let published = family_arg == "darcy-published";
    let family = if published {
        PdeFamily::Darcy
    } else {
        PdeFamily::parse(family_arg).expect("family")
    };
    let grid: usize = args.get(1).map_or(100, |s| s.parse().expect("grid"));
    let count: usize = args.get(2).map_or(100, |s| s.parse().expect("count"));
    let tol: f64 = args.get(3).map_or(1e-8, |s| s.parse().expect("tol"));
    let precond = args
        .get(4)
        .map_or(PrecondKind::None, |s| PrecondKind::parse(s).expect("precond"));
    // `--mk=M,K`: the GCRO-DR rows use GCRO-DR(M, K); the GMRES baseline stays GMRES(40)
    let (m, k) = std::env::args()
        .find_map(|a| {
            let (m, k) = a.strip_prefix("--mk=")?.split_once(',').expect("--mk=M,K");
            Some((m.parse().expect("--mk=M,K"), k.parse().expect("--mk=M,K")))
        })
        .unwrap_or((40, 20));
    let sampled = SamplerSource::new(
        PdeSampler::new(family, FamilyConfig::new(grid, 0)).expect("sampler"),
        count,
    );
    let source: Box<dyn SystemSource> = if published {
        Box::new(PublishedDarcy {
            inner: sampled,
            laplacian: poisson2d(grid).expect("laplacian"),
            grid,
        })
    } else {
        Box::new(sampled)
    };
    let source = source.as_ref();
    let options = Options::default().tol(tol).max_iters(20_000);
    let pname = precond;

    let mut rows: Vec<(&str, SequencePlan)> = Vec::new();
    let mut indep = SequencePlan::independent(40);
    indep.precond = pname;
    rows.push(("independent GMRES(40)", indep.clone()));
    let mut sorted = indep.clone();
    sorted.order = OrderKind::Greedy;
    rows.push(("sorted GMRES(40)", sorted));
    let refresh: Option<usize> = std::env::args().find_map(|a| {
        a.strip_prefix("--refresh=")
            .map(|r| r.parse().expect("--refresh=CYCLES"))
    });
    // the recycling rows refresh every 4th cycle (auto's period) unless --refresh=R says
    // otherwise; the published SKR (SequencePlan::skr) refreshes every cycle
    let every = refresh.unwrap_or(DEFAULT_REFRESH_EVERY);
    let mut unsorted_rec = SequencePlan::skr(m, k);
    unsorted_rec.refresh_every = every;
    unsorted_rec.order = OrderKind::Given;
    unsorted_rec.precond = pname;
    rows.push(("recycling, unsorted", unsorted_rec));
    let mut as_published = SequencePlan::skr(m, k);
    as_published.precond = pname;
    rows.push(("skr, refresh every cycle (as published)", as_published.clone()));
    let mut skr = as_published;
    skr.refresh_every = every;
    rows.push(("sorted + recycling (skr)", skr.clone()));
    let mut warm = skr.clone();
    warm.warm_start = true;
    rows.push(("skr + warm start", warm));
    if !published && (family == PdeFamily::Darcy || family == PdeFamily::DarcyThreshold) {
        let mut cg = SequencePlan::independent(40);
        cg.method = SeqMethod::Krylov { method: Method::Cg };
        cg.precond = pname;
        rows.push(("independent CG (SPD)", cg.clone()));
        let mut dcg = cg;
        dcg.order = OrderKind::Greedy;
        dcg.method = SeqMethod::DeflatedCg;
        dcg.recycle = 8;
        dcg.warm_start = true;
        rows.push(("sorted + deflated CG(8) + warm", dcg));
    }
    let (a0, _) = source.system(0).expect("system 0");
    let config = SequenceConfig {
        strategy: Strategy::Auto,
        precond: (precond != PrecondKind::None).then_some(precond),
        ..SequenceConfig::default()
    };
    let auto = resolve_plan(
        &config,
        count,
        &analyse(&a0).with_fill(&a0),
        source.matrix_is_constant() == Some(true),
    )
    .expect("plan");
    rows.push(("auto", auto));

    println!(
        "# {} grid {grid} (n = {}), {count} systems, tol {tol:e}, preconditioner {}, GCRO-DR({m}, {k})",
        family_arg,
        grid * grid,
        precond.as_str()
    );
    println!(
        "| configuration | iterations | solve s | s/iteration | iterations ratio | time ratio | not converged | wall s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    if let Some(only) = std::env::args().find_map(|a| a.strip_prefix("--only=").map(str::to_owned)) {
        rows.retain(|(name, _)| only.split('|').any(|o| name.contains(o)));
    }
    let chains: Option<usize> = std::env::args().find_map(|a| {
        a.strip_prefix("--chains=")
            .map(|c| c.parse().expect("--chains=P"))
    });
    for (_, plan) in rows.iter_mut() {
        plan.chains = chains.unwrap_or(1);
    }
    let mut base: Option<SequenceReport> = None;
    let mut per_iter = Vec::new();
    for (name, plan) in rows {
        let r = solve_sequence(source, &plan, &options, &mut |_, _| Ok(())).expect("sequence");
        let b = base.get_or_insert_with(|| r.clone());
        let spi = if r.total_iterations > 0 {
            r.solve_s / r.total_iterations as f64
        } else {
            f64::NAN
        };
        if matches!(
            plan.method,
            SeqMethod::Krylov {
                method: Method::Gmres
            }
        ) || plan.method == SeqMethod::GcroDr
        {
            per_iter.push((name, plan.method, spi));
        }
        println!(
            "| {name} | {} | {:.3} | {:.2e} | {:.1}x | {:.2}x | {} | {:.3} |",
            r.total_iterations,
            r.solve_s,
            spi,
            b.total_iterations as f64 / r.total_iterations.max(1) as f64,
            b.solve_s / r.solve_s,
            r.failed.len(),
            r.solve_wall_s
        );
    }
    let gm = per_iter
        .iter()
        .filter(|p| p.1 != SeqMethod::GcroDr)
        .map(|p| p.2)
        .fold(f64::NAN, f64::min);
    for (name, method, spi) in &per_iter {
        if *method == SeqMethod::GcroDr {
            println!("# {name}: one iteration costs {:.2}x a GMRES(40) iteration (all per-solve overhead included)", spi / gm);
        }
    }
}
