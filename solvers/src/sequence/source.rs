//! Where the systems of a sequence come from.

use crate::{Result, SolverError};
use solvent_linalg::CsrMatrix;

/// K systems, produced on demand (so a long sequence's matrices never have
/// to sit in memory at once; ordering does hold every feature vector). Implementations must be deterministic: system `i` is
/// the same whenever it is asked for.
pub trait SystemSource: Sync {
    /// Number of systems K.
    fn len(&self) -> usize;
    /// True when there are no systems.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The parameter vector of system `i` used for ordering (all of one
    /// length); similar vectors should mean similar systems.
    fn features(&self, i: usize) -> Result<Vec<f64>>;
    /// System `i`: matrix and right-hand side.
    fn system(&self, i: usize) -> Result<(CsrMatrix, Vec<f64>)>;
    /// A name for system `i` in messages (e.g. its file).
    fn label(&self, i: usize) -> String {
        format!("system {i}")
    }
    /// `Some(true)` when the source knows every matrix is the same.
    fn matrix_is_constant(&self) -> Option<bool> {
        None
    }
}

/// Systems already in memory.
#[derive(Clone, Debug)]
pub struct InMemorySource {
    systems: Vec<(CsrMatrix, Vec<f64>)>,
    features: Vec<Vec<f64>>,
}

impl InMemorySource {
    /// Systems with their ordering features (one vector per system, all of
    /// one length).
    pub fn new(systems: Vec<(CsrMatrix, Vec<f64>)>, features: Vec<Vec<f64>>) -> Result<Self> {
        if systems.len() != features.len() {
            return Err(SolverError::Sequence {
                system: "features".into(),
                message: format!("{} systems but {} feature vectors", systems.len(), features.len()),
            });
        }
        if let Some(d) = features.first().map(Vec::len) {
            if let Some(i) = features.iter().position(|f| f.len() != d) {
                return Err(SolverError::Sequence {
                    system: format!("system {i}"),
                    message: format!(
                        "feature vector has {} values, system 0 has {d}",
                        features[i].len()
                    ),
                });
            }
        }
        Ok(Self { systems, features })
    }
}

impl SystemSource for InMemorySource {
    fn len(&self) -> usize {
        self.systems.len()
    }
    fn features(&self, i: usize) -> Result<Vec<f64>> {
        Ok(self.features[i].clone())
    }
    fn system(&self, i: usize) -> Result<(CsrMatrix, Vec<f64>)> {
        Ok(self.systems[i].clone())
    }
}

/// The systems of a PDE family ([`solvent_problems::generators::PdeSampler`]),
/// assembled on demand.
#[derive(Clone, Debug)]
pub struct SamplerSource {
    sampler: solvent_problems::generators::PdeSampler,
    count: usize,
}

impl SamplerSource {
    /// The first `count` samples of `sampler`.
    pub fn new(sampler: solvent_problems::generators::PdeSampler, count: usize) -> Self {
        Self { sampler, count }
    }
    /// The sampler.
    pub fn sampler(&self) -> &solvent_problems::generators::PdeSampler {
        &self.sampler
    }
}

impl SystemSource for SamplerSource {
    fn len(&self) -> usize {
        self.count
    }
    fn features(&self, i: usize) -> Result<Vec<f64>> {
        Ok(self.sampler.features(i))
    }
    fn system(&self, i: usize) -> Result<(CsrMatrix, Vec<f64>)> {
        let s = self.sampler.sample(i)?;
        Ok((s.a, s.b))
    }
    fn label(&self, i: usize) -> String {
        format!("{} sample {i}", self.sampler.family().as_str())
    }
    fn matrix_is_constant(&self) -> Option<bool> {
        Some(self.sampler.matrix_is_constant())
    }
}
