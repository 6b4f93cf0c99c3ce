//! Matrix completion data: observed entries of a users × items matrix with their
//! original ids ([`Ratings`]), loaders for rating files and Matrix Market
//! ([`load`]), and a synthetic low-rank generator ([`synthetic()`]).

pub mod load;
pub mod ratings;
pub mod synthetic;

pub use load::{read_pairs, read_ratings, Delimiter};
pub use ratings::{IdMap, Ratings};
pub use synthetic::{synthetic, SyntheticConfig};
