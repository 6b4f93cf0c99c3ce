//! One call from a model directory and calibration sentences to everything the allocators
//! need: the model, the dense calibration pass, the ranked layers and the curves (from the
//! cache when it has them).

use crate::calibration::Calibration;
use crate::curves::{self, CurveSpec, Curves};
use crate::encoder::ModelDir;
use crate::error::Result;
use crate::prune::PrunableLayer;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A model ready for allocation.
pub struct Prepared {
    /// The model.
    pub model: ModelDir,
    /// The dense pass over the calibration sentences.
    pub cal: Calibration,
    /// The encoder's linear layers, ranked by the curves' score.
    pub layers: Vec<PrunableLayer>,
    /// The output-distortion curves.
    pub curves: Curves,
    /// Where the curves were read from, when they came from the cache.
    pub cached: Option<PathBuf>,
    /// Where they were written, when they were measured and a cache was given.
    pub stored: Option<PathBuf>,
    /// Why they could not be written to the cache (the curves are still returned).
    pub store_error: Option<String>,
    /// Seconds for the dense pass.
    pub calibration_s: f64,
    /// Seconds measuring the curves (0 when cached).
    pub curves_s: f64,
}

/// Opens `dir`, runs the dense pass over `sentences`, and reads the curves from `cache`
/// or measures (and stores) them, reporting `progress(done, total)` while measuring.
pub fn prepare(
    dir: &Path,
    sentences: &[String],
    spec: &CurveSpec,
    cache: Option<&Path>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Prepared> {
    let model = ModelDir::open(dir)?;
    let t = Instant::now();
    let cal = Calibration::new(&model, sentences)?;
    let calibration_s = t.elapsed().as_secs_f64();
    let layers = curves::prunable_layers(&model, &cal, spec.score)?;
    let key = curves::cache_key(&model, sentences, spec)?;
    let hit = cache.and_then(|d| curves::load_cached(d, &key).map(|c| (c, curves::cache_file(d, &key))));
    let (curves, cached, stored, store_error, curves_s) = match hit {
        Some((c, path)) => (c, Some(path), None, None, 0.0),
        None => {
            let t = Instant::now();
            let c = curves::compute(&cal, &layers, spec, key, progress)?;
            let secs = t.elapsed().as_secs_f64();
            // A cache that cannot be written costs the next run, not this one.
            let (stored, store_error) = match cache.map(|d| curves::store(d, &c)) {
                Some(Ok(p)) => (Some(p), None),
                Some(Err(e)) => (None, Some(e.to_string())),
                None => (None, None),
            };
            (c, None, stored, store_error, secs)
        }
    };
    Ok(Prepared {
        model,
        cal,
        layers,
        curves,
        cached,
        stored,
        store_error,
        calibration_s,
        curves_s,
    })
}
