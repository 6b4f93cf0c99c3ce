//! The observed set Ω stored twice, compressed by rows and by columns, so that each
//! half-step streams its side once (24 bytes per observed entry: a u32 index and an f64
//! value on each side, plus the pointers).

/// One side of Ω: for row i, `idx[ptr[i]..ptr[i+1]]` are the observed columns and `val`
/// their values.
#[derive(Clone, Copy, Debug)]
pub struct Side<'a> {
    /// Offsets, length rows + 1.
    pub ptr: &'a [usize],
    /// Column (or row) indices.
    pub idx: &'a [u32],
    /// Values.
    pub val: &'a [f64],
}

impl Side<'_> {
    /// Number of rows on this side.
    pub fn len(&self) -> usize {
        self.ptr.len() - 1
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Ω of an m × n matrix, by rows and by columns.
#[derive(Clone, Debug)]
pub struct Omega {
    m: usize,
    n: usize,
    rows: (Vec<usize>, Vec<u32>, Vec<f64>),
    cols: (Vec<usize>, Vec<u32>, Vec<f64>),
}

fn compress(
    len: usize,
    entries: &[(u32, u32, f64)],
    key: impl Fn(&(u32, u32, f64)) -> (u32, u32),
) -> (Vec<usize>, Vec<u32>, Vec<f64>) {
    let mut ptr = vec![0usize; len + 1];
    for e in entries {
        ptr[key(e).0 as usize + 1] += 1;
    }
    for i in 0..len {
        ptr[i + 1] += ptr[i];
    }
    let mut next = ptr.clone();
    let mut idx = vec![0u32; entries.len()];
    let mut val = vec![0.0; entries.len()];
    for e in entries {
        let (a, b) = key(e);
        let p = &mut next[a as usize];
        idx[*p] = b;
        val[*p] = e.2;
        *p += 1;
    }
    (ptr, idx, val)
}

impl Omega {
    /// Builds both sides from `(row, col, value)` entries (indices below m and n).
    pub fn new(m: usize, n: usize, entries: &[(u32, u32, f64)]) -> Self {
        Self {
            m,
            n,
            rows: compress(m, entries, |e| (e.0, e.1)),
            cols: compress(n, entries, |e| (e.1, e.0)),
        }
    }
    /// Rows m.
    pub fn nrows(&self) -> usize {
        self.m
    }
    /// Columns n.
    pub fn ncols(&self) -> usize {
        self.n
    }
    /// |Ω|.
    pub fn len(&self) -> usize {
        self.rows.1.len()
    }
    /// Whether Ω is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Ω by rows (row i: the observed columns).
    pub fn by_rows(&self) -> Side<'_> {
        Side {
            ptr: &self.rows.0,
            idx: &self.rows.1,
            val: &self.rows.2,
        }
    }
    /// Ω by columns (column j: the observed rows).
    pub fn by_cols(&self) -> Side<'_> {
        Side {
            ptr: &self.cols.0,
            idx: &self.cols.1,
            val: &self.cols.2,
        }
    }
    /// Bytes held per observed entry (both sides and pointers).
    pub fn bytes_per_entry(&self) -> f64 {
        let ptrs = (self.m + self.n + 2) * std::mem::size_of::<usize>();
        (2 * self.len() * 12 + ptrs) as f64 / self.len().max(1) as f64
    }
}
