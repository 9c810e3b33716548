//! The reference's semantic layer as native classes: `HashingVectorizer` (signed
//! character n-grams hashed with BLAKE2b into `dim` buckets, L2-normalised) and
//! `SemanticNoveltyDetector` (novelty `1 - cosine(message, centroid)` scored against its
//! running stats, then the decayed centroid follows the message). The default settings
//! (256 dimensions, trigrams, 4096 characters) embed with the engine's table-driven
//! vectorizer; any other `dim`/`ngram`/`max_chars` hashes each n-gram here. An
//! `embed_fn` is a Python callable, called once per message. Sums run in index order,
//! as CPython's `sum()` does before 3.12, so results equal the reference's bit for bit.

use crate::exclusive::Exclusive;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use trace_sentinel_core::detect::RunningStats as Welford;
use trace_sentinel_core::{Embedder, HashingEmbedder};
use trace_sentinel_pycompat::unicode::{lower_into, strip};

/// The engine vectorizer's fixed settings.
const FAST: (usize, usize, usize) = (256, 3, 4096);

/// Reusable state of one vectorizer.
#[derive(Default)]
pub(crate) struct Embedding {
    fast: Exclusive<Option<HashingEmbedder>>,
    low: String,
    chars: Vec<char>,
    gram: String,
}

impl Embedding {
    /// Embed `text` with the given settings into `out` (cleared first).
    pub(crate) fn embed(
        &mut self,
        text: &str,
        (dim, ngram, max_chars): (usize, usize, usize),
        out: &mut Vec<f64>,
    ) {
        out.clear();
        if (dim, ngram, max_chars) == FAST {
            self.fast
                .get_mut()
                .get_or_insert_with(HashingEmbedder::default)
                .embed(text, out);
            return;
        }
        let text = match text.char_indices().nth(max_chars) {
            Some((cut, _)) => &text[..cut],
            None => text,
        };
        self.low.clear();
        self.low.push(' ');
        lower_into(strip(text), &mut self.low);
        self.low.push(' ');
        self.chars.clear();
        self.chars.extend(self.low.chars());
        out.resize(dim, 0.0);
        let mut add = |gram: &str| {
            let digest = blake2b_simd::Params::new()
                .hash_length(8)
                .hash(gram.as_bytes());
            let d = digest.as_bytes();
            let idx = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize % dim;
            out[idx] += if d[4] & 1 == 1 { 1.0 } else { -1.0 };
        };
        if self.chars.len() <= ngram {
            add(&self.low);
        } else {
            for window in self.chars.windows(ngram) {
                self.gram.clear();
                self.gram.extend(window);
                add(&self.gram);
            }
        }
        let norm = out.iter().fold(0.0, |s, v| s + v * v).sqrt();
        if norm != 0.0 {
            for v in out.iter_mut() {
                *v /= norm;
            }
        }
    }
}

/// Text to a fixed-dimension vector via the hashing trick over character n-grams.
#[pyclass(
    module = "trace_sentinel.semantic",
    name = "HashingVectorizer",
    subclass
)]
pub struct HashingVectorizer {
    /// Output dimensionality.
    #[pyo3(get, set)]
    dim: usize,
    /// Character n-gram size.
    #[pyo3(get, set)]
    ngram: usize,
    /// Characters of a message that are embedded (the rest is ignored).
    #[pyo3(get, set)]
    max_chars: usize,
    work: Embedding,
    out: Vec<f64>,
}

#[pymethods]
impl HashingVectorizer {
    #[new]
    #[pyo3(signature = (dim=256, ngram=3, max_chars=4096))]
    fn new(dim: i64, ngram: i64, max_chars: i64) -> PyResult<Self> {
        if dim < 8 {
            return Err(PyValueError::new_err("dim must be >= 8"));
        }
        if max_chars < 1 {
            return Err(PyValueError::new_err("max_chars must be >= 1"));
        }
        if ngram < 1 {
            return Err(PyValueError::new_err("ngram must be >= 1"));
        }
        let size = |x: i64| usize::try_from(x).map_err(|_| PyValueError::new_err("too large"));
        Ok(HashingVectorizer {
            dim: size(dim)?,
            ngram: size(ngram)?,
            max_chars: size(max_chars)?,
            work: Embedding::default(),
            out: Vec::new(),
        })
    }

    /// The L2-normalised embedding of `text`, as a list of `dim` floats.
    fn embed(&mut self, text: &Bound<'_, PyString>) -> PyResult<Vec<f64>> {
        let text = text.to_str()?;
        let settings = (self.dim, self.ngram, self.max_chars);
        self.work.embed(text, settings, &mut self.out);
        Ok(self.out.clone())
    }
}

/// Decayed-centroid novelty of messages, standardised against its own history.
#[pyclass(
    module = "trace_sentinel.semantic",
    name = "SemanticNoveltyDetector",
    subclass
)]
pub struct SemanticNoveltyDetector {
    embed_fn: Option<Py<PyAny>>,
    dim: usize,
    decay: f64,
    warmup: u64,
    centroid: Option<Vec<f64>>,
    novelty: Welford,
    n: u64,
    work: Embedding,
    vec: Vec<f64>,
}

impl SemanticNoveltyDetector {
    /// A detector with the default vectorizer (for `Sentinel(enable_semantic=True)`).
    pub(crate) fn with_warmup(warmup: u64) -> Self {
        SemanticNoveltyDetector {
            embed_fn: None,
            dim: 256,
            decay: 0.01,
            warmup,
            centroid: None,
            novelty: Welford::default(),
            n: 0,
            work: Embedding::default(),
            vec: Vec::new(),
        }
    }

    /// Whether enough messages were seen.
    pub(crate) fn is_ready(&self) -> bool {
        self.n >= self.warmup
    }

    /// Score a message against the centroid as it stood, then fold it in.
    pub(crate) fn score(&mut self, message: &Bound<'_, PyAny>) -> PyResult<f64> {
        let mut vec = std::mem::take(&mut self.vec);
        match &self.embed_fn {
            Some(f) => {
                vec.clear();
                let out = f.bind(message.py()).call1((message,))?;
                for x in out.try_iter()? {
                    vec.push(x?.extract::<f64>()?);
                }
            }
            None => {
                let text = message.cast::<PyString>()?.to_str()?;
                self.work.embed(text, (self.dim, 3, 4096), &mut vec);
            }
        }
        let score = self.score_vector(&vec);
        self.vec = vec;
        Ok(score)
    }

    fn score_vector(&mut self, vec: &[f64]) -> f64 {
        let Some(centroid) = self.centroid.as_mut() else {
            self.centroid = Some(vec.to_vec());
            self.n = 1;
            return 0.0;
        };
        let norm = centroid.iter().fold(0.0, |s, c| s + c * c).sqrt();
        let mut dot = 0.0;
        for (x, c) in vec.iter().zip(centroid.iter()) {
            dot += x * if norm == 0.0 { *c } else { c / norm };
        }
        let novelty = 1.0 - dot;
        let ready = self.n >= self.warmup;
        let (mean, std) = (self.novelty.mean, self.novelty.std());
        self.novelty.update(novelty);
        // Like the reference's `zip`, the centroid keeps the shorter of the two lengths.
        centroid.truncate(vec.len());
        let keep = 1.0 - self.decay;
        for (c, x) in centroid.iter_mut().zip(vec) {
            *c = keep * *c + self.decay * x;
        }
        self.n += 1;
        if !ready || std == 0.0 {
            0.0
        } else {
            (novelty - mean) / std
        }
    }
}

#[pymethods]
impl SemanticNoveltyDetector {
    #[new]
    #[pyo3(signature = (*, embed_fn=None, dim=256, warmup=None, decay=0.01))]
    fn new(
        embed_fn: Option<Py<PyAny>>,
        dim: i64,
        warmup: Option<Bound<'_, PyAny>>,
        decay: f64,
    ) -> PyResult<Self> {
        if !(decay > 0.0 && decay <= 1.0) {
            return Err(PyValueError::new_err("decay must be in (0, 1]"));
        }
        if embed_fn.is_none() && dim < 8 {
            return Err(PyValueError::new_err("dim must be >= 8"));
        }
        let warmup = warmup.map_or(Ok(30), |w| crate::baseline::warmup_arg(&w))?;
        let mut det = SemanticNoveltyDetector::with_warmup(warmup);
        det.embed_fn = embed_fn;
        det.dim = usize::try_from(dim.max(8)).unwrap_or(256);
        det.decay = decay;
        Ok(det)
    }

    /// Score how novel `message` is (sigma), then learn it.
    fn update_and_score(&mut self, message: &Bound<'_, PyAny>) -> PyResult<f64> {
        self.score(message)
    }

    /// Whether the warmup is over.
    #[getter]
    fn ready(&self) -> bool {
        self.is_ready()
    }

    /// `(embed_fn, dim, warmup, decay, seen)`: the settings the engine's semantic layer
    /// is built from (`Sentinel` with templates or per-source shards, the pipelines),
    /// and the number of messages this detector has learned.
    fn _settings(&self, py: Python<'_>) -> (Option<Py<PyAny>>, usize, u64, f64, u64) {
        (
            self.embed_fn.as_ref().map(|f| f.clone_ref(py)),
            self.dim,
            self.warmup,
            self.decay,
            self.n,
        )
    }

    /// A copy of the running stats over the novelty values seen.
    #[getter]
    fn novelty_baseline(&self) -> crate::baseline::RunningStats {
        crate::baseline::RunningStats {
            inner: self.novelty.clone(),
        }
    }
}
