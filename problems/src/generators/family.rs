//! Families of sampled PDE systems for data generation: one system per
//! sampled parameter, reproducible from `(seed, sample index)` alone.
//!
//! | family | parameter (the dataset's `coeff`) | matrix | right side |
//! |---|---|---|---|
//! | `darcy` | `a = exp(g)`, `g` a GRF | `−∇·(a∇u)` (SPD) | `f = 1` |
//! | `darcy-threshold` | `a = 12` where `g ≥ 0`, else `3` | as above | `f = 1` |
//! | `helmholtz` | source `f = g`; wave number `k` | `−Δ − k²` (indefinite) | `f` |
//! | `convdiff` | stream function `ψ = g` | `−εΔ + v·∇`, `v = ∇^⊥ψ` (nonsymmetric) | `f = 1` |
//! | `poisson-rhs` | source `f = g` | `−Δ` (the same for all) | `f` |
//! | `darcy3d` | `a = exp(g)`, `g` a 3-D GRF | `−∇·(a∇u)`, 7-point (SPD) | `f = 1` |
//! | `helmholtz3d` | source `f = g`; wave number `k` | `−Δ − k²`, 7-point (indefinite) | `f` |
//! | `convdiff3d` | speed `\|v\|` | `−εΔ + v·∇`, `v = ∇ × A` (nonsymmetric) | `f = 1` |
//!
//! The 2-D families live on the unit square (`N²` unknowns, [`super::poisson2d`]),
//! the `…3d` ones on the unit cube (`N³` unknowns, [`super::poisson3d`]; the vector
//! potential `A` of `convdiff3d` is three independent 3-D GRFs, and its full
//! velocity is [`PdeSampler::velocity3d`]). All matrices are scaled by `h²`, so
//! right sides are `h² f`. The GRF `g` has the neural-operator covariance
//! `(−Δ + τ²)^(−α)` ([`GaussianRandomField`], [`GaussianRandomField3d`]).

use super::grf::{GaussianRandomField, GaussianRandomField3d, GrfParams};
use super::grid2d::{
    convection_diffusion2d_field, darcy2d, poisson2d, shifted_laplacian2d, velocity_from_stream_function,
    DarcyCoefficient,
};
use super::grid3d::{
    convection_diffusion3d_field, darcy3d, shifted_laplacian3d, velocity_from_vector_potential,
};
use crate::error::{ProblemError, Result};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardUniform};
use solvent_linalg::CsrMatrix;

/// A PDE family of [`PdeSampler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PdeFamily {
    /// Darcy flow with log-normal permeability.
    Darcy,
    /// Darcy flow with the thresholded 12/3 permeability.
    DarcyThreshold,
    /// Helmholtz with a random source and a random wave number.
    Helmholtz,
    /// Convection–diffusion with a random divergence-free velocity.
    ConvDiff,
    /// Poisson with only the source varying.
    PoissonRhs,
    /// 3-D Darcy flow with log-normal permeability (unit cube, 7-point).
    Darcy3d,
    /// 3-D Helmholtz with a random source and a random wave number.
    Helmholtz3d,
    /// 3-D convection–diffusion with a random divergence-free velocity.
    ConvDiff3d,
}

solvent_linalg::named_enum!(PdeFamily, "family" {
    Darcy => "darcy",
    DarcyThreshold => "darcy-threshold",
    Helmholtz => "helmholtz",
    ConvDiff => "convdiff",
    PoissonRhs => "poisson-rhs",
    Darcy3d => "darcy3d",
    Helmholtz3d => "helmholtz3d",
    ConvDiff3d => "convdiff3d",
});

impl PdeFamily {
    /// Whether the family's matrices are symmetric positive definite (the Darcy
    /// families and Poisson; Helmholtz is symmetric but indefinite, convection–diffusion
    /// nonsymmetric).
    pub fn is_spd(self) -> bool {
        matches!(
            self,
            Self::Darcy | Self::DarcyThreshold | Self::PoissonRhs | Self::Darcy3d
        )
    }
    /// The space dimension: 2 (unit square, `N²` unknowns) or 3 (unit cube, `N³`).
    pub fn dim(self) -> usize {
        match self {
            Self::Darcy3d | Self::Helmholtz3d | Self::ConvDiff3d => 3,
            _ => 2,
        }
    }
    /// Whether the family's matrix depends on the sample through the wave number `k`
    /// alone (Helmholtz, 2-D and 3-D), which data sets record per sample.
    pub fn has_wave_number(self) -> bool {
        matches!(self, Self::Helmholtz | Self::Helmholtz3d)
    }
    /// What a data set's `coeff` field holds for this family, for metadata.
    pub fn coeff_meaning(self) -> &'static str {
        match self {
            Self::Darcy | Self::Darcy3d => "permeability a = exp(g), g a Gaussian random field",
            Self::DarcyThreshold => "permeability a = 12 where g >= 0, else 3 (g a Gaussian random field)",
            Self::Helmholtz | Self::Helmholtz3d | Self::PoissonRhs => "source f = g, a Gaussian random field",
            Self::ConvDiff => "stream function psi = g, a Gaussian random field (v = (d psi/dy, -d psi/dx))",
            Self::ConvDiff3d => {
                "speed |v| of the velocity v = curl A, A three independent Gaussian random fields (the fields of streams 3s, 3s+1, 3s+2 for sample s), scaled so max |v| = speed; the full velocity is PdeSampler::velocity3d"
            }
        }
    }
    /// The PDE, for metadata.
    pub fn equation(self) -> &'static str {
        match self {
            Self::Darcy | Self::DarcyThreshold | Self::Darcy3d => "-div(a grad u) = 1, u = 0 on the boundary",
            Self::Helmholtz | Self::Helmholtz3d => "-lap u - k^2 u = f, u = 0 on the boundary",
            Self::ConvDiff3d => {
                "-eps lap u + v . grad u = 1, v = curl A (A three independent GRFs), u = 0 on the boundary"
            }
            Self::ConvDiff => "-eps lap u + v . grad u = 1, v = (d psi/dy, -d psi/dx), u = 0 on the boundary",
            Self::PoissonRhs => "-lap u = f, u = 0 on the boundary",
        }
    }
}

/// Parameters of a family beyond the grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FamilyConfig {
    /// Interior grid points per side (`N`; `n = N²` unknowns, `N³` for the 3-D families).
    pub grid: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// Covariance of the random fields.
    pub grf: GrfParams,
    /// Helmholtz wave numbers are uniform in this range.
    pub k_range: (f64, f64),
    /// Convection–diffusion diffusivity ε.
    pub eps: f64,
    /// Convection–diffusion largest speed.
    pub speed: f64,
    /// The Darcy operator: the symmetric discretisation of −∇·(a∇u) (default), or the
    /// operator the SKR paper solved, `L·diag(a)` (`published`).
    pub darcy_operator: DarcyOperator,
}

/// Which Darcy operator the `darcy` family assembles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DarcyOperator {
    /// −∇·(a∇u) with harmonic-mean faces: symmetric positive definite.
    Symmetric,
    /// `L·diag(a)` (`L` the h²-scaled 5-point Laplacian): the matrix the SKR paper built
    /// for Darcy flow (−Δ(a u), nonsymmetric), kept to reproduce its experiments.
    Published,
}

impl FamilyConfig {
    /// Defaults: α = 2, τ = 3, k ∈ [10, 15] (k² above 10–20 Laplacian
    /// eigenvalues `π²(p² + q²)`: indefinite), ε = 0.01, speed 1.
    pub fn new(grid: usize, seed: u64) -> Self {
        Self {
            grid,
            seed,
            grf: GrfParams::default(),
            k_range: (10.0, 15.0),
            eps: 0.01,
            speed: 1.0,
            darcy_operator: DarcyOperator::Symmetric,
        }
    }

    /// The settings of the SKR paper's experiments (Wang et al., ICLR 2024): fields
    /// a = exp(GRF) with α = 2.5, τ = 7; the Darcy operator `L·diag(a)`; Helmholtz wave
    /// numbers k ~ U(0, 1). (Its grids: 80 × 80 for Darcy, 100 × 100 for Helmholtz.)
    pub fn published(grid: usize, seed: u64) -> Self {
        Self {
            grf: GrfParams { alpha: 2.5, tau: 7.0 },
            k_range: (0.0, 1.0),
            darcy_operator: DarcyOperator::Published,
            ..Self::new(grid, seed)
        }
    }
}

/// One sampled system.
#[derive(Clone, Debug)]
pub struct PdeSample {
    /// The matrix.
    pub a: CsrMatrix,
    /// The right-hand side.
    pub b: Vec<f64>,
    /// The parameter field written to the dataset (`N × N` row-major, or `N × N × N`
    /// with the last index fastest for the 3-D families).
    pub coeff: Vec<f64>,
    /// The scalar parameter of the sample (Helmholtz `k`), if any.
    pub scalar: Option<f64>,
}

/// Samples systems of one family: sample `i` depends only on the seed and
/// `i`, never on how many are drawn or in which order.
#[derive(Clone, Debug)]
pub struct PdeSampler {
    family: PdeFamily,
    config: FamilyConfig,
    grf: Field,
    /// The fixed Poisson matrix (poisson-rhs only).
    fixed: Option<CsrMatrix>,
}

impl PdeSampler {
    /// Validates the configuration and precomputes the field spectrum.
    pub fn new(family: PdeFamily, config: FamilyConfig) -> Result<Self> {
        let (k0, k1) = config.k_range;
        if !(k0.is_finite() && k1.is_finite() && 0.0 <= k0 && k0 <= k1) {
            return Err(ProblemError::Invalid(format!(
                "wave number range must satisfy 0 ≤ k_min ≤ k_max, got [{k0}, {k1}]"
            )));
        }
        if !(config.eps > 0.0 && config.eps.is_finite() && config.speed.is_finite() && config.speed >= 0.0) {
            return Err(ProblemError::Invalid(format!(
                "convection–diffusion needs ε > 0 and a finite speed ≥ 0, got ε = {}, speed = {}",
                config.eps, config.speed
            )));
        }
        let grf = match family.dim() {
            3 => Field::Three(GaussianRandomField3d::new(config.grid, config.grf, config.seed)?),
            _ => Field::Two(GaussianRandomField::new(config.grid, config.grf, config.seed)?),
        };
        let fixed = match family {
            PdeFamily::PoissonRhs => Some(poisson2d(config.grid)?),
            _ => None,
        };
        Ok(Self {
            family,
            config,
            grf,
            fixed,
        })
    }
    /// What a data set of this sampler holds, for its metadata: the family, its
    /// equation, domain and discretisation, the grid, the seed and the field settings.
    pub fn metadata(&self) -> serde_json::Value {
        let c = &self.config;
        let (domain, discretisation) = match self.family.dim() {
            3 => (
                "unit cube, Dirichlet u = 0; the N×N×N interior points x_l = (l+1)/(N+1), y_j = (j+1)/(N+1), z_i = (i+1)/(N+1); coeff[s, i, j, l] and sol[s, i, j, l] sit at (x_l, y_j, z_i); unknown (i*N + j)*N + l",
                "7-point finite differences / finite volumes (harmonic-mean faces for Darcy, first-order upwind convection), matrices scaled by h², b = h² f",
            ),
            _ => (
                "unit square, Dirichlet u = 0; the N×N interior points x_j = (j+1)/(N+1), y_i = (i+1)/(N+1); coeff[s, i, j] and sol[s, i, j] sit at (x_j, y_i)",
                "5-point finite differences / finite volumes (harmonic-mean faces for Darcy, first-order upwind convection), matrices scaled by h², b = h² f",
            ),
        };
        serde_json::json!({
            "family": self.family.as_str(),
            "equation": self.family.equation(),
            "coeff": self.family.coeff_meaning(),
            "dim": self.family.dim(),
            "domain": domain,
            "discretisation": discretisation,
            "grid": c.grid,
            "n": self.n(),
            "seed": c.seed,
            "grf": {"alpha": c.grf.alpha, "tau": c.grf.tau, "covariance": "(-lap + tau^2)^(-alpha) on the unit torus (the unit 3-torus for the 3-D families)"},
            "k_range": [c.k_range.0, c.k_range.1],
            "eps": c.eps,
            "speed": c.speed,
            "darcy_operator": match c.darcy_operator {
                DarcyOperator::Symmetric => "-div(a grad u), harmonic-mean faces (symmetric)",
                DarcyOperator::Published => "L diag(a), the SKR paper's (nonsymmetric)",
            },
        })
    }
    /// The family.
    pub fn family(&self) -> PdeFamily {
        self.family
    }
    /// The configuration.
    pub fn config(&self) -> &FamilyConfig {
        &self.config
    }
    /// Unknowns per system (`N²`, or `N³` for the 3-D families).
    pub fn n(&self) -> usize {
        self.config.grid.pow(self.family.dim() as u32)
    }
    /// Whether every sample has the same matrix.
    pub fn matrix_is_constant(&self) -> bool {
        self.fixed.is_some()
    }

    /// The wave number of sample `i` (Helmholtz), from its own random stream.
    pub fn wave_number(&self, i: usize) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed ^ 0x6865_6c6d_686f_6c74);
        rng.set_stream(i as u64);
        let u: f64 = StandardUniform.sample(&mut rng);
        let (k0, k1) = self.config.k_range;
        k0 + (k1 - k0) * u
    }

    /// The parameter vector that decides how similar two samples' systems
    /// are (for ordering), without assembling: the coefficient field, the
    /// stream function, the source, the three velocity components
    /// (`convdiff3d`), or (Helmholtz, whose matrix depends on `k` alone) the
    /// wave number.
    pub fn features(&self, i: usize) -> Vec<f64> {
        match self.family {
            PdeFamily::Helmholtz | PdeFamily::Helmholtz3d => vec![self.wave_number(i)],
            PdeFamily::ConvDiff3d => self.velocity3d(i).map(|v| v.concat()).unwrap_or_default(),
            _ => self.coefficient(&self.grf.sample(i as u64)),
        }
    }

    /// The parameter field of sample `i` as written to a data set (one
    /// random-field draw, no assembly; for `convdiff3d` the speed `|v|`, from
    /// three draws).
    pub fn coefficient_field(&self, i: usize) -> Vec<f64> {
        match self.velocity3d(i) {
            Some(v) => speed(&v),
            None => self.coefficient(&self.grf.sample(i as u64)),
        }
    }

    /// The velocity `[vx, vy, vz]` of sample `i` of `convdiff3d` (at the grid
    /// points, last index fastest): the discrete curl of the vector potential
    /// whose components are the random fields of streams `3i`, `3i + 1`, `3i + 2`,
    /// scaled so the largest speed is the configured `speed`. `None` for the
    /// other families.
    pub fn velocity3d(&self, i: usize) -> Option<[Vec<f64>; 3]> {
        if self.family != PdeFamily::ConvDiff3d {
            return None;
        }
        let s = 3 * i as u64;
        let [ax, ay, az] = [s, s + 1, s + 2].map(|k| self.grf.sample(k));
        let v = velocity_from_vector_potential(self.config.grid, &ax, &ay, &az, self.config.speed);
        Some(v.expect("the potentials have the grid's size"))
    }

    fn coefficient(&self, g: &[f64]) -> Vec<f64> {
        match self.family {
            PdeFamily::Darcy | PdeFamily::Darcy3d => {
                g.iter().map(|&v| DarcyCoefficient::LogNormal.apply(v)).collect()
            }
            PdeFamily::DarcyThreshold => g
                .iter()
                .map(|&v| DarcyCoefficient::THRESHOLD_12_3.apply(v))
                .collect(),
            _ => g.to_vec(),
        }
    }

    /// Assembles sample `i`.
    pub fn sample(&self, i: usize) -> Result<PdeSample> {
        let m = self.config.grid;
        let h2 = 1.0 / ((m as f64 + 1.0) * (m as f64 + 1.0));
        let ones = || vec![h2; self.n()];
        let scaled = |f: &[f64]| f.iter().map(|v| v * h2).collect::<Vec<_>>();
        if let Some(v) = self.velocity3d(i) {
            let a = convection_diffusion3d_field(m, self.config.eps, &v[0], &v[1], &v[2])?;
            return Ok(PdeSample {
                a,
                b: ones(),
                coeff: speed(&v),
                scalar: None,
            });
        }
        let g = self.grf.sample(i as u64);
        let coeff = self.coefficient(&g);
        let (a, b, scalar) = match self.family {
            PdeFamily::Darcy if self.config.darcy_operator == DarcyOperator::Published => {
                // L·diag(a): column j of the Laplacian scaled by a_j
                let mut op = poisson2d(m)?;
                let cols = op.col_idx().to_vec();
                for (v, &c) in op.values_mut().iter_mut().zip(&cols) {
                    *v *= coeff[c as usize];
                }
                (op, ones(), None)
            }
            PdeFamily::Darcy => (darcy2d(m, &g, DarcyCoefficient::LogNormal)?, ones(), None),
            PdeFamily::DarcyThreshold => (darcy2d(m, &g, DarcyCoefficient::THRESHOLD_12_3)?, ones(), None),
            PdeFamily::Helmholtz => {
                let k = self.wave_number(i);
                (shifted_laplacian2d(m, k * k)?, scaled(&g), Some(k))
            }
            PdeFamily::ConvDiff => {
                let (vx, vy) = velocity_from_stream_function(m, &g, self.config.speed);
                (
                    convection_diffusion2d_field(m, self.config.eps, &vx, &vy)?,
                    ones(),
                    None,
                )
            }
            PdeFamily::PoissonRhs => (
                self.fixed.clone().expect("set in new() for poisson-rhs"),
                scaled(&g),
                None,
            ),
            PdeFamily::Darcy3d => (darcy3d(m, &g, DarcyCoefficient::LogNormal)?, ones(), None),
            PdeFamily::Helmholtz3d => {
                let k = self.wave_number(i);
                (shifted_laplacian3d(m, k * k)?, scaled(&g), Some(k))
            }
            PdeFamily::ConvDiff3d => unreachable!("assembled from its velocity above"),
        };
        Ok(PdeSample { a, b, coeff, scalar })
    }
}

/// The random field of a sampler: on the square or on the cube.
#[derive(Clone, Debug)]
enum Field {
    Two(GaussianRandomField),
    Three(GaussianRandomField3d),
}

impl Field {
    fn sample(&self, k: u64) -> Vec<f64> {
        match self {
            Self::Two(g) => g.sample(k),
            Self::Three(g) => g.sample(k),
        }
    }
}

/// The pointwise speed `|v|` of a 3-D velocity.
fn speed(v: &[Vec<f64>; 3]) -> Vec<f64> {
    (0..v[0].len())
        .map(|k| (v[0][k].powi(2) + v[1][k].powi(2) + v[2][k].powi(2)).sqrt())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_reproducible_and_match_their_family() {
        let cfg = FamilyConfig::new(12, 5);
        for &fam in PdeFamily::ALL {
            assert_eq!(PdeFamily::parse(fam.as_str()), Some(fam));
            let s = PdeSampler::new(fam, cfg).unwrap();
            let a = s.sample(3).unwrap();
            let b = s.sample(3).unwrap();
            assert_eq!(a.a.values(), b.a.values());
            assert_eq!(a.b, b.b);
            let n = if fam.dim() == 3 { 12 * 12 * 12 } else { 144 };
            assert_eq!(s.n(), n);
            assert_eq!((a.coeff.len(), a.b.len(), a.a.nrows()), (n, n, n));
            assert_eq!(s.metadata()["n"], n);
            let c = s.sample(4).unwrap();
            assert_eq!(s.coefficient_field(4), c.coeff);
            assert_ne!(a.coeff, c.coeff, "{}", fam.as_str());
            let sym = a.a.is_symmetric(1e-14);
            match fam {
                PdeFamily::ConvDiff | PdeFamily::ConvDiff3d => assert!(!sym),
                _ => assert!(sym),
            }
            assert_eq!(s.matrix_is_constant(), fam == PdeFamily::PoissonRhs);
            if fam == PdeFamily::PoissonRhs {
                assert_eq!(a.a.values(), c.a.values());
            }
        }
        assert_eq!(PdeFamily::parse("darcy3d"), Some(PdeFamily::Darcy3d));
        assert_eq!(PdeFamily::parse("helmholtz3d"), Some(PdeFamily::Helmholtz3d));
        assert_eq!(PdeFamily::parse("convdiff3d"), Some(PdeFamily::ConvDiff3d));
        assert!(PdeFamily::parse("darcy-3d").is_none());
        let three: Vec<_> = PdeFamily::ALL.iter().filter(|f| f.dim() == 3).collect();
        assert_eq!(three.len(), 3);
    }

    #[test]
    fn helmholtz_is_indefinite_for_every_sampled_wave_number() {
        let cfg = FamilyConfig::new(20, 1);
        let s = PdeSampler::new(PdeFamily::Helmholtz, cfg).unwrap();
        let h = 1.0 / 21.0;
        let lam_min = 2.0 * (1.0 - (std::f64::consts::PI * h).cos()) * 2.0;
        for i in 0..50 {
            let k = s.wave_number(i);
            assert!((10.0..=15.0).contains(&k));
            assert_eq!(s.features(i), vec![k]);
            let smp = s.sample(i).unwrap();
            assert_eq!(smp.scalar, Some(k));
            // diagonal 4 − k²h² lies above the smallest eigenvalue's shift: indefinite
            assert!(k * k * h * h > lam_min);
        }
        assert_ne!(s.wave_number(0), s.wave_number(1));
        let mut bad = cfg;
        bad.k_range = (5.0, 1.0);
        assert!(PdeSampler::new(PdeFamily::Helmholtz, bad).is_err());
    }

    #[test]
    fn the_published_preset_builds_the_papers_operators() {
        let m = 10;
        let s = PdeSampler::new(PdeFamily::Darcy, FamilyConfig::published(m, 3)).unwrap();
        let smp = s.sample(1).unwrap();
        // L·diag(a): entry (i, j) is L_ij·a_j
        let l = poisson2d(m).unwrap();
        let a = s.coefficient_field(1);
        for i in 0..m * m {
            let (cols, vals) = smp.a.row(i);
            let (lc, lv) = l.row(i);
            assert_eq!(cols, lc);
            for ((&j, &v), &w) in cols.iter().zip(vals).zip(lv) {
                assert!((v - w * a[j as usize]).abs() <= 1e-14 * v.abs().max(1.0));
            }
        }
        assert!(!smp.a.is_symmetric(1e-12));
        let h = PdeSampler::new(PdeFamily::Helmholtz, FamilyConfig::published(m, 3)).unwrap();
        assert!((0..20).all(|i| (0.0..=1.0).contains(&h.wave_number(i))));
    }

    #[test]
    fn convdiff_velocity_is_discretely_divergence_free() {
        let m = 16;
        let g = GaussianRandomField::new(m, GrfParams::default(), 2)
            .unwrap()
            .sample(0);
        let (vx, vy) = velocity_from_stream_function(m, &g, 1.0);
        let vmax = vx.iter().zip(&vy).map(|(a, b)| a.hypot(*b)).fold(0.0, f64::max);
        assert!((vmax - 1.0).abs() < 1e-12);
        // central divergence of a central curl vanishes on the periodic grid
        let at = |v: &[f64], i: usize, j: usize| v[(i % m) * m + (j % m)];
        for i in 0..m {
            for j in 0..m {
                let div =
                    (at(&vx, i, j + 1) - at(&vx, i, j + m - 1)) + (at(&vy, i + 1, j) - at(&vy, i + m - 1, j));
                assert!(div.abs() < 1e-12, "divergence {div} at ({i},{j})");
            }
        }
    }

    #[test]
    fn the_3d_families_assemble_their_operators_from_their_fields() {
        let m = 6;
        let n = m * m * m;
        let h2 = 1.0 / 49.0;
        let cfg = FamilyConfig::new(m, 11);
        let grf = GaussianRandomField3d::new(m, cfg.grf, 11).unwrap();
        // darcy3d: a = exp(g) of stream i, the 7-point harmonic-mean operator, b = h²
        let d = PdeSampler::new(PdeFamily::Darcy3d, cfg).unwrap();
        let smp = d.sample(2).unwrap();
        let g = grf.sample(2);
        assert_eq!(smp.coeff, g.iter().map(|v| v.exp()).collect::<Vec<_>>());
        assert_eq!(
            smp.a.values(),
            darcy3d(m, &g, DarcyCoefficient::LogNormal).unwrap().values()
        );
        assert!(smp.b.iter().all(|&b| b == h2));
        assert_eq!(d.features(2), smp.coeff);
        assert!(PdeFamily::Darcy3d.is_spd() && d.velocity3d(2).is_none());
        // helmholtz3d: −Δ − k² with k in the range, b = h² f
        let hz = PdeSampler::new(PdeFamily::Helmholtz3d, cfg).unwrap();
        let smp = hz.sample(2).unwrap();
        let k = hz.wave_number(2);
        assert!((10.0..=15.0).contains(&k) && smp.scalar == Some(k));
        assert_eq!(hz.features(2), vec![k]);
        assert!((smp.a.get(0, 0) - (6.0 - k * k * h2)).abs() < 1e-14);
        assert_eq!(smp.coeff, g);
        for (b, f) in smp.b.iter().zip(&g) {
            assert!((b - h2 * f).abs() <= 1e-15 * f.abs());
        }
        // convdiff3d: the velocity from the potentials of streams 6, 7, 8; coeff = |v|
        let c = PdeSampler::new(PdeFamily::ConvDiff3d, cfg).unwrap();
        let smp = c.sample(2).unwrap();
        let v = c.velocity3d(2).unwrap();
        let expect =
            velocity_from_vector_potential(m, &grf.sample(6), &grf.sample(7), &grf.sample(8), 1.0).unwrap();
        assert_eq!(v, expect);
        let op = convection_diffusion3d_field(m, 0.01, &v[0], &v[1], &v[2]).unwrap();
        assert_eq!(smp.a.values(), op.values());
        assert_eq!(smp.coeff, speed(&v));
        assert_eq!(c.coefficient_field(2), smp.coeff);
        assert!((smp.coeff.iter().cloned().fold(0.0, f64::max) - 1.0).abs() < 1e-12);
        assert_eq!(c.features(2).len(), 3 * n);
        assert_ne!(c.features(2), c.features(3));
        let meta = c.metadata();
        assert_eq!(meta["dim"], 3);
        assert!(meta["coeff"].as_str().unwrap().contains("speed |v|"));
        assert!(meta["domain"].as_str().unwrap().contains("unit cube"));
        assert!(PdeSampler::new(PdeFamily::Darcy3d, FamilyConfig::new(1, 0)).is_err());
    }
}
