//! `trace_sentinel._native`: the Python extension module behind the `trace_sentinel`
//! package (PyO3, built by maturin from the repository's `pyproject.toml`).
//!
//! It holds what runs per event or per byte: the `Event` class, the reference's
//! baselines, detectors and semantic layer over the engine's arithmetic, the sentinel's
//! hot loop (`SentinelCore`), the sentinel over the engine's detect stage when templates
//! or per-source baselines are asked for (`EngineCore`), the native `scan`/`watch_file`
//! pipelines and the command line. The package's Python modules (`python/trace_sentinel/`) keep the
//! reference's Python-shaped API around it: dataclasses, enums, protocols, sources,
//! sinks, seeding. Nothing here prints, and no input makes it panic: errors are Python
//! exceptions.

mod baseline;
mod engine_core;
mod event;
mod exclusive;
mod pipeline;
mod semantic;
mod sentinel;
mod time;

use pyo3::prelude::*;

/// Run the `trace-sentinel` command line with `argv` (program name first) and return its
/// exit code. The GIL is released while it runs.
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| trace_sentinel_cli::exit_status(argv))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<event::Event>()?;
    m.add_class::<baseline::RunningStats>()?;
    m.add_class::<baseline::Ewma>()?;
    m.add_class::<baseline::RollingWindow>()?;
    m.add_class::<baseline::ZScoreDetector>()?;
    m.add_class::<baseline::MADDetector>()?;
    m.add_class::<semantic::HashingVectorizer>()?;
    m.add_class::<semantic::SemanticNoveltyDetector>()?;
    m.add_class::<sentinel::SentinelCore>()?;
    m.add_class::<engine_core::EngineCore>()?;
    m.add_class::<pipeline::AnomalyStream>()?;
    m.add_function(wrap_pyfunction!(sentinel::_register, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::scan, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::watch_file, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
