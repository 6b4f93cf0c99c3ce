//! `solvent._solvent`: the extension module behind the `solvent` Python package.
//!
//! Every function here is a thin layer over one library call (the same calls the CLI
//! makes): arrays and names in, the library's typed settings built and checked, the
//! call run with the GIL released and Ctrl-C honoured ([`detach`]), arrays and the
//! library's report (as JSON text) out. The Python package (`python/solvent/`) turns
//! SciPy and pandas inputs into these arrays, reports into result objects, and keeps
//! the public signatures, docstrings and type stubs.

mod allocation;
mod bcd;
mod bilevel;
mod completion;
mod convert;
mod datagen;
mod detach;
mod linear;

use pyo3::prelude::*;

#[pymodule]
fn _solvent(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<linear::SolveOutcome>()?;
    m.add_function(wrap_pyfunction!(linear::solve_csr, m)?)?;
    m.add_function(wrap_pyfunction!(linear::solve_sequence_source, m)?)?;
    m.add_function(wrap_pyfunction!(datagen::datagen, m)?)?;
    m.add_function(wrap_pyfunction!(bcd::bcd_fit, m)?)?;
    m.add_function(wrap_pyfunction!(completion::complete, m)?)?;
    m.add_function(wrap_pyfunction!(allocation::allocate, m)?)?;
    m.add_function(wrap_pyfunction!(bilevel::bilevel_callables, m)?)?;
    m.add_function(wrap_pyfunction!(bilevel::bilevel_builtin, m)?)?;
    Ok(())
}
