//! The template layer of a shard (`--templates`): which kind of line this is, how
//! surprising that kind is in this source now (`template.novelty`, in sigma), and the
//! reference metrics measured against lines of the same kind. See `docs/detection.md`
//! for the model.
//!
//! * `store`: templates, the exact-key cache, the similarity step, eviction, counts;
//! * `baselines`: per-template baselines with a noise floor;
//! * `category`: numeric attributes scored by the rarity of their value;
//! * `tail`: probabilities into sigma.
//!
//! Everything here runs in the ordered detect stage, one shard at a time; the line's
//! [`Shape`] comes from the parallel extract stage.

pub(crate) mod baselines;
pub(crate) mod category;
pub(crate) mod store;
pub(crate) mod tail;

use crate::config::Config;
use ahash::AHashMap;
use baselines::TemplateBaselines;
use category::Categories;
use serde::{Deserialize, Serialize};
use store::{Store, StoreExtras, Template};
use trace_sentinel_kernels::shape::{template_text, Level, Shape, Shaper};

/// Templates younger than this (in lines of their own) teach the source's vocabulary
/// every word of their lines.
const YOUNG: u64 = 64;
/// Memory of the recent rate of new templates, in lines.
const RECENT_LINES: f64 = 32.0;
/// Decay of the new-word calibration per new template.
const WORDS_DECAY: f64 = 0.95;
/// Sigma weight of lines at FATAL/CRITICAL.
pub(crate) const FATAL_WEIGHT: f64 = 1.5;
/// Words a shard's vocabulary holds before it starts over.
const VOCABULARY_CAP: usize = 1 << 16;
/// Vocabulary words all shards together may learn, per template of the shared budget.
const WORDS_PER_TEMPLATE: usize = 8;

/// What the template layer holds, and the templates that carried the most anomalies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateSummary {
    /// Templates held now, over all sources.
    pub templates: u64,
    /// Templates created so far.
    pub created: u64,
    /// Templates evicted to keep the caps.
    pub evicted: u64,
    /// The templates with the most anomalies, most first (ties: most lines first).
    pub top: Vec<TemplateCount>,
    /// The templates created last, newest first.
    pub newest: Vec<TemplateCount>,
}

/// One template of a [`TemplateSummary`].
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateCount {
    /// The source (shard) it belongs to.
    pub source: String,
    /// Its id within that source.
    pub id: u64,
    /// The template as text.
    pub template: String,
    /// Anomalies reported on its lines.
    pub anomalies: u64,
    /// Its lines so far.
    pub lines: u64,
    /// The level its first line named.
    pub level: Option<Level>,
    /// Its place in the order of creation across sources (higher is newer).
    pub born: u64,
}

impl TemplateLayer {
    /// Add this layer's counts and candidates for the top `n` to `out`.
    pub(crate) fn summarize(&self, source: &str, n: usize, out: &mut TemplateSummary) {
        out.templates += self.store.len() as u64;
        out.created += self.store.created;
        out.evicted += self.store.evicted;
        let count = |t: &Template| TemplateCount {
            source: source.to_string(),
            id: t.id,
            template: t.text.clone(),
            anomalies: t.anomalies,
            lines: t.count,
            level: Level::from_code(t.level),
            born: t.born,
        };
        // Candidates only: the n best of this layer, cloned once each.
        let mut best: Vec<&Template> = self.store.templates().filter(|t| t.anomalies > 0).collect();
        best.sort_by_key(|t| std::cmp::Reverse((t.anomalies, t.count)));
        out.top.extend(best.into_iter().take(n).map(count));
        out.top
            .sort_by_key(|c| std::cmp::Reverse((c.anomalies, c.lines)));
        let mut newest: Vec<&Template> = self.store.templates().collect();
        newest.sort_by_key(|t| std::cmp::Reverse(t.born));
        out.newest.extend(newest.into_iter().take(n).map(count));
        out.newest.sort_by_key(|c| std::cmp::Reverse(c.born));
        out.newest.truncate(n);
        out.top.truncate(n);
    }
}

/// Templates and vocabulary words every shard together may hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Budget {
    /// Templates left to create across shards.
    pub(crate) templates: usize,
    /// Vocabulary words left to learn across shards.
    pub(crate) words: usize,
    /// Per-template attribute baselines left to create across shards.
    pub(crate) attrs: usize,
    /// Templates created across shards, the last one's [`Template::born`].
    pub(crate) born: u64,
}

impl Budget {
    /// The budget of `cfg`.
    pub(crate) fn of(cfg: &Config) -> Self {
        Budget {
            templates: cfg.max_templates_total,
            words: cfg.max_templates_total.saturating_mul(WORDS_PER_TEMPLATE),
            attrs: cfg
                .max_templates_total
                .saturating_mul(baselines::ATTRS_PER_TEMPLATE),
            born: 0,
        }
    }
}

/// Scratch of the detect stage's template step (one per shard set).
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    shaper: Shaper,
    tokens: Vec<u32>,
}

/// Scratch holds nothing between lines: a clone is a fresh one.
impl Clone for Scratch {
    fn clone(&self) -> Self {
        Scratch::default()
    }
}

/// The words a source has written, with how often (for the new-word evidence). Not
/// saved: after a restore it starts empty, and its Good–Turing rates start calm.
#[derive(Debug, Clone, Default)]
struct Vocabulary {
    counts: AHashMap<u32, u32>,
    /// Words seen exactly once.
    singles: u64,
}

/// The evidence a line's words give (see `docs/detection.md`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct WordCalibration {
    /// Unseen words observed on recent new templates (decayed).
    observed: f64,
    /// Unseen words the Good–Turing rate expected on them (decayed).
    expected: f64,
}

impl Default for WordCalibration {
    fn default() -> Self {
        WordCalibration {
            observed: 2.0,
            expected: 1.0,
        }
    }
}

/// The template layer of one shard.
#[derive(Debug, Clone)]
pub(crate) struct TemplateLayer {
    pub(crate) store: Store,
    vocabulary: Vocabulary,
    /// Word occurrences seen (all lines).
    words_seen: u64,
    calibration: WordCalibration,
    /// The recent rate of new templates as of line `recent_at` (an average over about
    /// `RECENT_LINES` lines, decayed lazily: lines that start no template only shrink it).
    recent_new: f64,
    recent_at: u64,
    levels: [u64; 5],
    levelled: u64,
    pub(crate) categories: Categories,
    /// The last line's tail probability (a numerator and a denominator) and level
    /// weight, for dashboards (a common template's is a lower bound: it could not alert).
    last: (f64, f64, f64),
    /// The tail probability at which a line alerts, by threshold and weight.
    cuts: [(f64, f64, f64); 2],
}

/// What the template step found for one line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    /// The template's slot in the store.
    pub(crate) slot: u32,
    /// Its lines before this one, and the source's lines before this one.
    pub(crate) count_before: u64,
    pub(crate) lines_before: u64,
    /// `template.novelty` in sigma (0 during warmup), when at or past the threshold.
    pub(crate) alert: Option<f64>,
}

impl TemplateLayer {
    /// An empty layer for `cfg`.
    pub(crate) fn new(cfg: &Config) -> Self {
        TemplateLayer {
            store: Store::new(cfg.max_templates),
            vocabulary: Vocabulary::default(),
            words_seen: 0,
            calibration: WordCalibration::default(),
            recent_new: 0.0,
            recent_at: 0,
            levels: [0; 5],
            levelled: 0,
            categories: Categories::default(),
            last: (1.0, 1.0, 1.0),
            cuts: [(f64::NAN, 0.0, 0.0); 2],
        }
    }

    /// The last line's `template.novelty` in sigma.
    pub(crate) fn last_sigma(&self) -> f64 {
        tail::sigma_of_tail(self.last.0 / self.last.1) * self.last.2
    }

    /// The tail probability at or below which a line of level weight `weight` alerts at
    /// `threshold` (a little above the exact one; the alert then checks the sigma).
    fn cut(&mut self, threshold: f64, weight: f64) -> f64 {
        let i = usize::from(weight != 1.0);
        let (t, w, p) = self.cuts[i];
        if t == threshold && w == weight {
            return p;
        }
        let p = tail::tail_of_sigma(threshold / weight) * (1.0 + 1e-6);
        self.cuts[i] = (threshold, weight, p);
        p
    }

    /// The template in `slot`.
    pub(crate) fn template(&self, slot: u32) -> &Template {
        &self.store.slots[slot as usize]
    }

    /// The template in `slot`, mutably.
    pub(crate) fn template_mut(&mut self, slot: u32) -> &mut Template {
        &mut self.store.slots[slot as usize]
    }

    /// The recent rate of new templates before line `n` of the source.
    fn recent_new_at(&self, n: u64) -> f64 {
        // (1 - 1/32)^4096 is below 1e-56: older news is no news.
        match n.saturating_sub(self.recent_at) {
            0 => self.recent_new,
            gap if gap > 4096 => 0.0,
            gap => self.recent_new * (1.0 - 1.0 / RECENT_LINES).powi(gap as i32),
        }
    }

    fn unseen_rate(&self, singles: u64) -> f64 {
        (singles as f64 + 1.0) / (self.words_seen as f64 + 2.0)
    }

    /// Find the line's template (creating or joining one), score its novelty against
    /// the source's history, then learn the line. `message` is the text the shape was
    /// taken from.
    pub(crate) fn observe(
        &mut self,
        cfg: &Config,
        shape: &Shape,
        message: &[u8],
        scratch: &mut Scratch,
        budget: &mut Budget,
    ) -> Seen {
        let n = self.store.lines;
        let singles = self.store.mass.singletons;
        let cached = self.store.cached(shape.key);
        let young = cached.is_none_or(|s| self.store.slots[s as usize].count < YOUNG);
        let toks = &mut scratch.tokens;
        if young {
            scratch.shaper.shape(message, toks);
        } else {
            toks.clear();
        }
        let level = shape.level;
        let kind = cfg.detector;
        let warmup = cfg.warmup;
        let a = self.store.assign(
            &mut budget.templates,
            shape.key,
            cached,
            toks,
            level,
            || template_text(message),
            || TemplateBaselines::new(kind, warmup),
        );
        // An evicted template's attribute baselines go back to the shared budget.
        budget.attrs += std::mem::take(&mut self.store.freed_attrs);
        if a.new {
            budget.born += 1;
            self.store.slots[a.slot as usize].born = budget.born;
        }
        let words = shape.words;
        let word_count = words.count_ones();
        let calibration = self.calibration;
        let ratio = || calibration.observed / calibration.expected;
        let is_word = |i: usize| words >> i & 1 == 1;
        let lvl = Level::from_code(level);
        // The level's share, lines at this level or above (Laplace-smoothed), as a
        // fraction `share_num / share_den`.
        let (share_num, share_den) = lvl.map_or((1.0, 1.0), |l| {
            let at_or_above: u64 = self.levels[l.index()..].iter().sum();
            (at_or_above as f64 + 1.0, self.levelled as f64 + 1.0)
        });
        let weight = if lvl == Some(Level::Fatal) {
            FATAL_WEIGHT
        } else {
            1.0
        };
        let cut = self.cut(cfg.threshold, weight);
        let mut unseen = 0u32;
        // The tail probability as a fraction: the common case (a template too common to
        // alert) needs no division.
        let (p_num, p_den) = if a.new {
            // Good–Turing: the chance the next line starts a new template is the share
            // of lines whose template was seen once, or the recent rate, if higher.
            unseen = toks
                .iter()
                .enumerate()
                .filter(|&(i, h)| is_word(i) && !self.vocabulary.counts.contains_key(h))
                .count() as u32;
            let u = self.unseen_rate(self.vocabulary.singles);
            let p_new = ((singles as f64 + 1.0) / (n as f64 + 2.0)).max(self.recent_new_at(n));
            let words = tail::binomial_tail(unseen, word_count, (ratio() * u).min(1.0));
            (p_new * words * share_num, share_den)
        } else {
            // The share of past lines whose template was at most this rare. Its own
            // count has moved on to c + 1; before the line it held c of those lines.
            let c = a.count_before;
            // At least `c + singles + 1` of the `n + 2`: compared without dividing.
            let lower = (c + singles + 1) as f64 * share_num;
            let scale = (n as f64 + 2.0) * share_den;
            if c > 1 && lower > cut * scale {
                // Common enough that it cannot alert: the exact tail is not needed.
                (lower, scale)
            } else {
                let mass = self.store.mass.at_most(c) + c;
                let mut p = (mass + singles + 1) as f64 / (n as f64 + 2.0) * share_num / share_den;
                if c == 1 && !toks.is_empty() {
                    let rare = toks
                        .iter()
                        .enumerate()
                        .filter(|&(i, h)| {
                            is_word(i) && self.vocabulary.counts.get(h).copied().unwrap_or(0) <= 1
                        })
                        .count() as u32;
                    let u = self.unseen_rate(2 * self.vocabulary.singles);
                    p *= tail::binomial_tail(rare, word_count, (ratio() * u).min(1.0));
                }
                (p, 1.0)
            }
        };
        let scored = n >= cfg.warmup;
        self.last = if scored {
            (p_num, p_den, weight)
        } else {
            (1.0, 1.0, weight)
        };
        let alert = (scored && p_num <= cut * p_den)
            .then(|| tail::sigma_of_tail(p_num / p_den) * weight)
            .filter(|s| *s >= cfg.threshold);
        // Learn.
        if a.new {
            let u = self.unseen_rate(self.vocabulary.singles);
            let c = &mut self.calibration;
            c.observed = c.observed * WORDS_DECAY + f64::from(unseen);
            c.expected = c.expected * WORDS_DECAY + f64::from(word_count) * u;
        }
        if a.new {
            let r = self.recent_new_at(n);
            self.recent_new = r + (1.0 - r) / RECENT_LINES;
            self.recent_at = n + 1;
        }
        if let Some(l) = lvl {
            self.levels[l.index()] += 1;
            self.levelled += 1;
        }
        self.words_seen += u64::from(word_count);
        if young {
            for (i, &h) in toks.iter().enumerate() {
                if !is_word(i) {
                    continue;
                }
                self.learn_word(h, budget);
            }
        }
        Seen {
            slot: a.slot,
            count_before: a.count_before,
            lines_before: n,
            alert,
        }
    }

    fn learn_word(&mut self, h: u32, budget: &mut Budget) {
        let v = &mut self.vocabulary;
        if !v.counts.contains_key(&h) {
            if v.counts.len() >= VOCABULARY_CAP || budget.words == 0 {
                // Full: start over (the Good–Turing rates recover on their own), giving
                // the words back to the shared budget.
                budget.words += v.counts.len();
                v.counts.clear();
                v.singles = 0;
                if budget.words == 0 {
                    return;
                }
            }
            budget.words -= 1;
        }
        let e = v.counts.entry(h).or_insert(0);
        match *e {
            0 => v.singles += 1,
            1 => v.singles -= 1,
            _ => {}
        }
        *e = e.saturating_add(1);
    }
}

/// The saved form of a [`TemplateLayer`]: the templates and the rates; the caches and
/// the vocabulary are rebuilt or relearned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SavedLayer {
    templates: Vec<Template>,
    next_id: u64,
    lines: u64,
    created: u64,
    evicted: u64,
    words_seen: u64,
    calibration: WordCalibration,
    recent_new: f64,
    levels: [u64; 5],
    levelled: u64,
    categories: Categories,
}

impl TemplateLayer {
    /// The layer as saved in snapshots.
    pub(crate) fn saved(&self) -> SavedLayer {
        SavedLayer {
            templates: self.store.templates().cloned().collect(),
            next_id: self.store.next_id,
            lines: self.store.lines,
            created: self.store.created,
            evicted: self.store.evicted,
            // The vocabulary is not saved; its word count starts over with it.
            words_seen: 0,
            calibration: self.calibration,
            recent_new: self.recent_new_at(self.store.lines),
            levels: self.levels,
            levelled: self.levelled,
            categories: self.categories.clone(),
        }
    }

    /// A layer from its saved form, within `cfg`'s caps and the shared `budget`.
    pub(crate) fn restore(saved: SavedLayer, cfg: &Config, budget: &mut Budget) -> Self {
        let mut templates = saved.templates;
        for t in &mut templates {
            t.baselines.rebuild();
        }
        let mut store = Store::restore(
            cfg.max_templates,
            &mut budget.templates,
            templates,
            saved.next_id,
            saved.lines,
        );
        store.created = saved.created;
        store.evicted = saved.evicted;
        budget.attrs = budget.attrs.saturating_sub(store.attr_baselines());
        budget.born = store
            .templates()
            .map(|t| t.born)
            .fold(budget.born, u64::max);
        TemplateLayer {
            store,
            vocabulary: Vocabulary::default(),
            words_seen: saved.words_seen,
            calibration: saved.calibration,
            recent_new: saved.recent_new,
            recent_at: saved.lines,
            levels: saved.levels,
            levelled: saved.levelled,
            categories: saved.categories,
            last: (1.0, 1.0, 1.0),
            cuts: [(f64::NAN, 0.0, 0.0); 2],
        }
    }
}

impl TemplateLayer {
    /// Check restored state against the flags (a crafted snapshot must not make the
    /// engine panic): token counts within the shape's positions, baselines of the
    /// configured kind and warmup.
    pub(crate) fn validate(&mut self, cfg: &Config) -> Result<(), String> {
        for t in self.store.templates() {
            if t.tokens.len() > trace_sentinel_kernels::shape::MAX_TOKENS {
                return Err(format!(
                    "template {} has {} positions",
                    t.id,
                    t.tokens.len()
                ));
            }
            if t.count == 0 {
                return Err(format!("template {} has no lines", t.id));
            }
            let b = &t.baselines;
            let detectors = b
                .length
                .iter()
                .chain(&b.tokens)
                .chain(b.attrs.iter().map(|(_, d)| d));
            for d in detectors {
                if !d.matches(cfg.detector, cfg.warmup) {
                    return Err(format!(
                        "template {} has a baseline that does not match the flags",
                        t.id
                    ));
                }
            }
            if b.attrs.len() > baselines::MAX_TEMPLATE_ATTRS {
                return Err(format!(
                    "template {} has too many attribute baselines",
                    t.id
                ));
            }
        }
        self.categories.validate()
    }

    /// Hold this layer to `cfg`'s cap and charge its templates to the shared budget
    /// (a restored or cloned layer joining a shard set).
    pub(crate) fn fit(&mut self, cfg: &Config, budget: &mut Budget) {
        self.store.set_cap(cfg.max_templates);
        budget.templates = budget.templates.saturating_sub(self.store.len());
        budget.attrs = budget.attrs.saturating_sub(self.store.attr_baselines());
    }
}

/// What a [`TemplateLayer`] holds besides its saved form ([`SavedLayer`]): the store's
/// caches and clock ([`StoreExtras`]), the vocabulary and its word count. A saved layer
/// with its extras continues exactly; without them it relearns (see
/// `snapshot::parse_continuation`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LayerExtras {
    store: StoreExtras,
    /// `(word hash, count)`, sorted by hash.
    vocabulary: Vec<(u32, u32)>,
    words_seen: u64,
    /// The recent rate of new templates and the line it is as of, undecayed (the saved
    /// form holds it decayed to the last line, which later decay would not repeat bit
    /// for bit).
    recent: (f64, u64),
}

/// The template layer of a whole shard set beyond its saved form: each shard's
/// [`LayerExtras`] in shard order, the priming template's, and the shared [`Budget`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TemplateContinuation {
    pub(crate) shards: Vec<Option<LayerExtras>>,
    pub(crate) template: Option<LayerExtras>,
    pub(crate) budget: Budget,
}

impl TemplateLayer {
    /// The state its saved form leaves out.
    pub(crate) fn extras(&self) -> LayerExtras {
        let mut vocabulary: Vec<(u32, u32)> = self
            .vocabulary
            .counts
            .iter()
            .map(|(&h, &c)| (h, c))
            .collect();
        vocabulary.sort_unstable();
        LayerExtras {
            store: self.store.extras(),
            vocabulary,
            words_seen: self.words_seen,
            recent: (self.recent_new, self.recent_at),
        }
    }

    /// Put back what [`Self::extras`] took from the layer this one was restored from;
    /// refuses extras that do not fit it, changing nothing.
    pub(crate) fn apply_extras(&mut self, x: LayerExtras) -> Result<(), String> {
        if x.vocabulary.len() > VOCABULARY_CAP || x.vocabulary.iter().any(|&(_, c)| c == 0) {
            return Err("template vocabulary out of range".into());
        }
        if !(0.0..=1.0).contains(&x.recent.0) {
            return Err("template rate of new templates out of range".into());
        }
        self.store.apply_extras(x.store)?;
        let counts: AHashMap<u32, u32> = x.vocabulary.into_iter().collect();
        self.vocabulary = Vocabulary {
            singles: counts.values().filter(|&&c| c == 1).count() as u64,
            counts,
        };
        self.words_seen = x.words_seen;
        (self.recent_new, self.recent_at) = x.recent;
        Ok(())
    }
}

impl Serialize for TemplateLayer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.saved().serialize(s)
    }
}

/// A deserialised layer holds every saved template; [`TemplateLayer::fit`] applies the
/// caps of the shard set it joins.
impl<'de> Deserialize<'de> for TemplateLayer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let saved = SavedLayer::deserialize(d)?;
        let cfg = Config {
            templates: true,
            max_templates: saved.templates.len().max(1),
            max_templates_total: usize::MAX,
            ..Config::default()
        };
        let mut budget = Budget::of(&cfg);
        Ok(TemplateLayer::restore(saved, &cfg, &mut budget))
    }
}
