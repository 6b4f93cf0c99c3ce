//! Layer-wise compression allocation: the per-layer options table ([`OptionTable`]: names,
//! options with levels, integer costs per resource and distortions), its JSON/CSV formats
//! ([`load`]), curves measured from a safetensors model ([`model`]) and synthetic tables
//! ([`synthetic`]).

pub mod load;
pub mod model;
pub mod synthetic;
pub mod table;

pub use load::{parse_json, read_csv, read_json, read_table, write_json};
pub use model::{glob_match, CurveSpec, Model, ModelCurves};
pub use synthetic::{synthetic_table, SyntheticTable};
pub use table::{Layer, LayerOption, OptionTable, PARAMS};
