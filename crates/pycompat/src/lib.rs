//! CPython semantics that trace-sentinel reproduces bit for bit, and nothing else.
//!
//! The reference implementation is a Python program; matching its output byte for byte
//! means matching CPython 3.11 wherever it formats, parses or classifies:
//!
//! * [`pyfmt`]: float `repr`, `round`, `%g`/`%f` and `json.dumps` string escaping;
//! * [`timestamp`]: `datetime` — `fromtimestamp`, `fromisoformat`, `.timestamp()`,
//!   `.isoformat()`;
//! * [`decode`]: lossy UTF-8 exactly like `bytes.decode("utf-8", "replace")`;
//! * [`unicode`]: Unicode 14 `\w`, `isspace`, `isprintable`, `lower`, `strip`, `len`;
//! * [`pyjson`]: the JSON dialect `json.loads` accepts, with `str()`/`repr()` of values.
//!
//! These are scalar, allocation-conscious implementations with no knowledge of logs,
//! detectors or I/O. The hand-vectorised fast paths for ASCII text live in
//! `trace-sentinel-kernels`.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod decode;
pub mod pyfmt;
pub mod pyjson;
pub mod timestamp;
pub mod unicode;
