//! Observed entries with their user and item ids mapped to dense indices.

use crate::error::{ProblemError, Result};
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// Arbitrary string ids ↔ dense indices `0..len`, in order of first appearance.
#[derive(Clone, Debug, Default)]
pub struct IdMap {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl IdMap {
    /// The index of `name`, adding it when new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }
    /// The index of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }
    /// The id of index `i`.
    pub fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
    /// Number of ids.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// Ids in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// Observed entries `(row, col, value)` of an `m × n` matrix, with the id maps that
/// give rows (users) and columns (items) their original names.
#[derive(Clone, Debug, Default)]
pub struct Ratings {
    /// Row (user) ids.
    pub users: IdMap,
    /// Column (item) ids.
    pub items: IdMap,
    /// Entries `(row, col, value)`.
    pub entries: Vec<(u32, u32, f64)>,
}

impl Ratings {
    /// Rows m (users seen).
    pub fn nrows(&self) -> usize {
        self.users.len()
    }
    /// Columns n (items seen).
    pub fn ncols(&self) -> usize {
        self.items.len()
    }
    /// Observed entries |Ω|.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether nothing is observed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Adds an entry by ids (new ids get new indices).
    pub fn push(&mut self, user: &str, item: &str, value: f64) {
        let (i, j) = (self.users.intern(user), self.items.intern(item));
        self.entries.push((i, j, value));
    }
    /// Mean of the observed values (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.entries.is_empty() {
            return 0.0;
        }
        self.entries.iter().map(|e| e.2).sum::<f64>() / self.entries.len() as f64
    }
    /// A seeded random split: each entry goes to the test part with probability
    /// `test_frac`. Both parts keep the full id maps, so indices agree.
    pub fn split(&self, test_frac: f64, seed: u64) -> Result<(Ratings, Ratings)> {
        if !(0.0..1.0).contains(&test_frac) {
            return Err(ProblemError::Invalid(format!(
                "the test fraction must be in [0, 1), got {test_frac}"
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut train = Ratings {
            users: self.users.clone(),
            items: self.items.clone(),
            entries: Vec::new(),
        };
        let mut test = train.clone();
        for &e in &self.entries {
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            if u < test_frac {
                test.entries.push(e);
            } else {
                train.entries.push(e);
            }
        }
        Ok((train, test))
    }
}
