//! The templates of one shard: an exact-key cache in front of a Drain-style similarity
//! step, bounded by a clock (second-chance) eviction, with the count statistics the
//! novelty score reads.

use super::baselines::TemplateBaselines;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use trace_sentinel_kernels::shape::{MAX_TOKENS, VAR};

/// Share of positions that must agree, among those not variable in both, for a line to
/// join a template.
pub(crate) const SIMILARITY: f64 = 0.6;
/// Templates a similarity search compares per token count, most recently matched first.
pub(crate) const CANDIDATES: usize = 128;
/// Counts below this are tracked exactly by the count statistics.
pub(crate) const EXACT_COUNTS: usize = 256;

/// One template.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Template {
    /// Display id, unique within the shard, never reused.
    pub(crate) id: u64,
    /// Token hashes by position ([`VAR`] where variable).
    pub(crate) tokens: Vec<u32>,
    /// The template as text: its tokens joined by single spaces, `<*>` where variable.
    pub(crate) text: String,
    /// Lines assigned so far.
    pub(crate) count: u64,
    /// When it was created, in the order of creation across every source (see
    /// [`super::Budget::born`]).
    #[serde(default)]
    pub(crate) born: u64,
    /// The level its first line named (a `Level` code, 0 none).
    pub(crate) level: u8,
    /// Anomalies reported on its lines.
    pub(crate) anomalies: u64,
    /// The reference metrics measured against lines of this template.
    pub(crate) baselines: TemplateBaselines,
    /// Bumped whenever the slot is reused, so stale cache entries miss.
    #[serde(skip)]
    generation: u32,
    /// The clock's second-chance bit.
    #[serde(skip)]
    referenced: bool,
}

impl Template {
    /// Show the positions whose bits `vars` holds as `<*>` in the text.
    fn mask_text(&mut self, vars: u32) {
        let text = self
            .text
            .split(' ')
            .enumerate()
            .map(|(i, w)| {
                if i < 32 && vars >> i & 1 == 1 && w != "…" {
                    "<*>"
                } else {
                    w
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        self.text = text;
    }
}

/// How many lines belong to templates of count at most `c`: exact below
/// [`EXACT_COUNTS`] (a Fenwick tree of `count × templates`), by power-of-two bucket above.
#[derive(Debug, Clone)]
pub(crate) struct CountMass {
    /// Sums of `count × templates` over counts up to [`EXACT_COUNTS`]: at most
    /// `EXACT_COUNTS` times the templates of a shard, so 32 bits hold them (the arithmetic
    /// wraps, and the sums it reads are exact while they fit).
    fenwick: Vec<u32>,
    buckets: [u64; 64],
    /// Templates with count exactly 1.
    pub(crate) singletons: u64,
}

impl Default for CountMass {
    fn default() -> Self {
        CountMass {
            fenwick: vec![0; EXACT_COUNTS + 1],
            buckets: [0; 64],
            singletons: 0,
        }
    }
}

impl CountMass {
    fn bucket(c: u64) -> usize {
        63 - c.leading_zeros() as usize
    }

    fn add(&mut self, c: u64, sign: i64) {
        if c == 0 {
            return;
        }
        if c == 1 {
            self.singletons = self.singletons.wrapping_add(sign as u64);
        }
        let delta = (sign as u64).wrapping_mul(c);
        if c as usize <= EXACT_COUNTS {
            let delta = delta as u32;
            let mut i = c as usize;
            while i <= EXACT_COUNTS {
                self.fenwick[i] = self.fenwick[i].wrapping_add(delta);
                i += i & i.wrapping_neg();
            }
        } else {
            let b = Self::bucket(c);
            self.buckets[b] = self.buckets[b].wrapping_add(delta);
        }
    }

    /// A template's count moved from `from` to `to` (0 = absent).
    pub(crate) fn moved(&mut self, from: u64, to: u64) {
        self.add(from, -1);
        self.add(to, 1);
    }

    /// Lines in templates with count <= `c`; above the exact range whole buckets count
    /// (an over-estimate: rarity is never overstated).
    pub(crate) fn at_most(&self, c: u64) -> u64 {
        let mut i = (c as usize).min(EXACT_COUNTS);
        let mut exact = 0u32;
        while i > 0 {
            exact = exact.wrapping_add(self.fenwick[i]);
            i &= i - 1;
        }
        let mut m = u64::from(exact);
        if c as usize > EXACT_COUNTS {
            for b in Self::bucket(EXACT_COUNTS as u64 + 1)..=Self::bucket(c) {
                m = m.wrapping_add(self.buckets[b]);
            }
        }
        m
    }
}

/// Where a line went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Assigned {
    /// The template's slot.
    pub(crate) slot: u32,
    /// The line created the template.
    pub(crate) new: bool,
    /// The template's count before the line.
    pub(crate) count_before: u64,
}

/// What a [`Store`] holds besides its templates' saved form: the clock's hand, each
/// slot's generation and second-chance bit, the similarity candidates in their order and
/// the exact-key cache. A partition checkpoint carries it so that a worker taking the
/// partition over assigns every later line to the template an uninterrupted run would
/// (see `snapshot::parse_continuation`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct StoreExtras {
    hand: usize,
    /// `(generation, referenced)` of each slot, in slot order.
    slots: Vec<(u32, bool)>,
    /// The non-empty candidate lists: `(token count, slots)`, most recently matched first.
    by_len: Vec<(usize, Vec<u32>)>,
    /// The exact-key cache: `(key, slot, generation)`, sorted by key.
    exact: Vec<(u64, u32, u32)>,
}

/// The templates of one shard.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    exact: AHashMap<u64, (u32, u32)>,
    pub(crate) slots: Vec<Template>,
    live: Vec<bool>,
    by_len: Vec<Vec<u32>>,
    hand: usize,
    pub(crate) next_id: u64,
    pub(crate) mass: CountMass,
    /// Lines assigned.
    pub(crate) lines: u64,
    /// Templates created and evicted.
    pub(crate) created: u64,
    pub(crate) evicted: u64,
    /// Attribute baselines of templates evicted since the layer last collected them.
    pub(crate) freed_attrs: usize,
    cap: usize,
}

impl Store {
    /// An empty store of at most `cap` templates.
    pub(crate) fn new(cap: usize) -> Self {
        Store {
            exact: AHashMap::new(),
            slots: Vec::new(),
            live: Vec::new(),
            by_len: vec![Vec::new(); MAX_TOKENS + 1],
            hand: 0,
            next_id: 1,
            mass: CountMass::default(),
            lines: 0,
            created: 0,
            evicted: 0,
            freed_attrs: 0,
            cap: cap.max(1),
        }
    }

    /// Change the cap (templates past it leave as new ones come).
    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
    }

    /// Live templates.
    pub(crate) fn templates(&self) -> impl Iterator<Item = &Template> {
        self.slots
            .iter()
            .zip(&self.live)
            .filter(|(_, l)| **l)
            .map(|(t, _)| t)
    }

    /// Attribute baselines the live templates hold.
    pub(crate) fn attr_baselines(&self) -> usize {
        self.templates().map(|t| t.baselines.attrs.len()).sum()
    }

    /// Live templates held.
    pub(crate) fn len(&self) -> usize {
        self.live.iter().filter(|l| **l).count()
    }

    /// A store holding `templates` (restoring a snapshot), with at most `cap`.
    pub(crate) fn restore(
        cap: usize,
        budget: &mut usize,
        templates: Vec<Template>,
        next_id: u64,
        lines: u64,
    ) -> Self {
        let mut s = Store::new(cap);
        s.next_id = next_id;
        s.lines = lines;
        let keep = s.cap.min((*budget).max(1));
        *budget = budget.saturating_sub(templates.len().min(keep));
        for t in templates.into_iter().take(keep) {
            let slot = s.slots.len() as u32;
            s.mass.moved(0, t.count);
            let n = t.tokens.len().min(MAX_TOKENS);
            s.by_len[n].push(slot);
            s.slots.push(t);
            s.live.push(true);
        }
        for list in &mut s.by_len {
            list.truncate(CANDIDATES);
        }
        s.created = s.slots.len() as u64;
        s
    }

    /// The state [`Self::restore`] does not rebuild (see [`StoreExtras`]).
    pub(crate) fn extras(&self) -> StoreExtras {
        let mut exact: Vec<(u64, u32, u32)> = self
            .exact
            .iter()
            .map(|(&k, &(slot, generation))| (k, slot, generation))
            .collect();
        exact.sort_unstable();
        StoreExtras {
            hand: self.hand,
            slots: self
                .slots
                .iter()
                .map(|t| (t.generation, t.referenced))
                .collect(),
            by_len: self
                .by_len
                .iter()
                .enumerate()
                .filter(|(_, l)| !l.is_empty())
                .map(|(n, l)| (n, l.clone()))
                .collect(),
            exact,
        }
    }

    /// Put back what [`Self::extras`] took from the store that was saved; this store
    /// must hold that store's templates, restored in slot order. Refuses extras that do
    /// not fit them (a crafted or mismatched checkpoint) without changing anything.
    pub(crate) fn apply_extras(&mut self, x: StoreExtras) -> Result<(), String> {
        let n = self.slots.len();
        if x.slots.len() != n {
            return Err(format!(
                "template cache describes {} templates, not {n}",
                x.slots.len()
            ));
        }
        if x.hand >= n.max(1) {
            return Err(format!("template clock hand {} out of range", x.hand));
        }
        let slot_ok = |s: u32| (s as usize) < n;
        let mut by_len = vec![Vec::new(); MAX_TOKENS + 1];
        for (len, list) in x.by_len {
            if len > MAX_TOKENS || list.len() > CANDIDATES || !list.iter().all(|&s| slot_ok(s)) {
                return Err(format!("template candidates for {len} tokens out of range"));
            }
            by_len[len] = list;
        }
        if x.exact.len() > self.cap.saturating_mul(16) || !x.exact.iter().all(|e| slot_ok(e.1)) {
            return Err("template cache out of range".into());
        }
        for (t, (generation, referenced)) in self.slots.iter_mut().zip(x.slots) {
            t.generation = generation;
            t.referenced = referenced;
        }
        self.hand = x.hand;
        self.by_len = by_len;
        self.exact = x
            .exact
            .into_iter()
            .map(|(k, slot, generation)| (k, (slot, generation)))
            .collect();
        Ok(())
    }

    fn similar(&self, toks: &[u32]) -> Option<u32> {
        let mut best = None;
        let mut best_sim = -1.0f64;
        for &slot in &self.by_len[toks.len()] {
            let t = &self.slots[slot as usize];
            let (mut same, mut informative) = (0u32, 0u32);
            for (&a, &b) in t.tokens.iter().zip(toks) {
                if a == VAR && b == VAR {
                    continue;
                }
                informative += 1;
                same += u32::from(a == b);
            }
            let sim = if informative > 0 {
                f64::from(same) / f64::from(informative)
            } else {
                1.0
            };
            if sim > best_sim {
                best_sim = sim;
                best = Some(slot);
            }
        }
        best.filter(|_| best_sim >= SIMILARITY)
    }

    /// Put `fresh` in a slot: a new one below the cap while the shared budget lasts,
    /// else the clock's victim (whose generation moves on, so cache entries for it miss).
    fn place(&mut self, fresh: Template, budget: &mut usize) -> u32 {
        if self.slots.is_empty() || (self.slots.len() < self.cap && *budget > 0) {
            *budget = budget.saturating_sub(1);
            if self.slots.len() == self.slots.capacity() {
                // Grow by a quarter, not double: thousands of shards hold templates.
                let more = (self.slots.len() / 4).max(4);
                self.slots.reserve_exact(more);
                self.live.reserve_exact(more);
            }
            self.slots.push(fresh);
            self.live.push(true);
            return (self.slots.len() - 1) as u32;
        }
        loop {
            let i = self.hand;
            self.hand = (self.hand + 1) % self.slots.len();
            let t = &mut self.slots[i];
            if self.live[i] {
                if t.referenced {
                    t.referenced = false;
                    continue;
                }
                let (count, len) = (t.count, t.tokens.len());
                self.mass.moved(count, 0);
                self.by_len[len].retain(|&s| s != i as u32);
                self.evicted += 1;
            }
            self.freed_attrs += t.baselines.attrs.len();
            let generation = t.generation.wrapping_add(1);
            *t = Template {
                generation,
                ..fresh
            };
            self.live[i] = true;
            return i as u32;
        }
    }

    /// The template of a line whose key is cached, if it is.
    pub(crate) fn cached(&self, key: u64) -> Option<u32> {
        let &(slot, generation) = self.exact.get(&key)?;
        let i = slot as usize;
        (self.live[i] && self.slots[i].generation == generation).then_some(slot)
    }

    /// Assign a line to a template: `slot` from [`Self::cached`], or `None` to search by
    /// its token hashes `toks` (and create a template from `text` when none is similar).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assign(
        &mut self,
        budget: &mut usize,
        key: u64,
        slot: Option<u32>,
        toks: &[u32],
        level: u8,
        text: impl FnOnce() -> String,
        baselines: impl FnOnce() -> TemplateBaselines,
    ) -> Assigned {
        let (slot, new) = match slot {
            Some(s) => (s, false),
            None => {
                let (slot, new) = match self.similar(toks) {
                    Some(s) => {
                        let t = &mut self.slots[s as usize];
                        let mut vars = 0u32;
                        for (i, (a, &b)) in t.tokens.iter_mut().zip(toks).enumerate() {
                            if *a != b {
                                *a = VAR;
                                vars |= 1 << i;
                            }
                        }
                        if vars != 0 {
                            t.mask_text(vars);
                        }
                        let list = &mut self.by_len[toks.len()];
                        if let Some(p) = list.iter().position(|&x| x == s) {
                            list[..=p].rotate_right(1);
                        }
                        (s, false)
                    }
                    None => {
                        let id = self.next_id;
                        self.next_id += 1;
                        self.created += 1;
                        let s = self.place(
                            Template {
                                id,
                                tokens: toks.to_vec(),
                                text: text(),
                                count: 0,
                                born: 0,
                                level,
                                anomalies: 0,
                                baselines: baselines(),
                                generation: 0,
                                referenced: false,
                            },
                            budget,
                        );
                        let list = &mut self.by_len[toks.len()];
                        list.insert(0, s);
                        list.truncate(CANDIDATES);
                        (s, true)
                    }
                };
                if self.exact.len() >= self.cap.saturating_mul(16) {
                    self.exact.clear();
                }
                let generation = self.slots[slot as usize].generation;
                self.exact.insert(key, (slot, generation));
                (slot, new)
            }
        };
        let t = &mut self.slots[slot as usize];
        let before = t.count;
        t.count += 1;
        // A new template earns its second chance by being used again.
        t.referenced = !new;
        self.mass.moved(before, before + 1);
        self.lines += 1;
        Assigned {
            slot,
            new,
            count_before: before,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(s: &mut Store, key: u64, toks: &[u32]) -> Assigned {
        let slot = s.cached(key);
        let mut budget = usize::MAX;
        s.assign(
            &mut budget,
            key,
            slot,
            toks,
            0,
            || vec!["x"; toks.len()].join(" "),
            TemplateBaselines::default,
        )
    }

    #[test]
    fn mass_matches_a_naive_count() {
        let mut m = CountMass::default();
        let mut counts = vec![0u64; 50];
        let mut x = 7u64;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let t = ((x >> 33) as usize % 50).pow(2) % 50;
            m.moved(counts[t], counts[t] + 1);
            counts[t] += 1;
            for c in [1u64, 2, 5, 100, 256, 257, 300, 1000, 5000] {
                let exact: u64 = counts.iter().filter(|&&n| n > 0 && n <= c).sum();
                let got = m.at_most(c);
                assert!(got >= exact, "c={c}: {got} < {exact}");
                if c as usize <= EXACT_COUNTS {
                    assert_eq!(got, exact);
                }
            }
            assert_eq!(
                m.singletons,
                counts.iter().filter(|&&n| n == 1).count() as u64
            );
        }
    }

    #[test]
    fn eviction_keeps_the_cap_and_stale_keys_miss() {
        let mut s = Store::new(4);
        for k in 0..100u64 {
            assert!(add(&mut s, k, &[k as u32 + 1, 7]).new);
        }
        assert_eq!(s.slots.len(), 4);
        assert_eq!(s.len(), 4);
        assert_eq!(s.evicted, 96);
        assert_eq!(
            s.mass.at_most(u64::MAX >> 1),
            4,
            "evicted templates leave the counts"
        );
        assert!(
            add(&mut s, 0, &[1, 7]).new,
            "key 0's template was evicted long ago"
        );
    }

    #[test]
    fn the_shared_budget_caps_growth() {
        let mut s = Store::new(100);
        let mut budget = 3usize;
        for k in 0..10u64 {
            let slot = s.cached(k);
            s.assign(
                &mut budget,
                k,
                slot,
                &[k as u32 + 1],
                0,
                String::new,
                TemplateBaselines::default,
            );
        }
        assert_eq!((s.slots.len(), budget, s.evicted), (3, 0, 7));
    }

    #[test]
    fn attribute_baselines_share_one_budget_and_come_back_on_eviction() {
        use crate::detect::detector::{Detector, DetectorKind};
        let fresh = || Detector::new(DetectorKind::Zscore, 30);
        let mut s = Store::new(2);
        let mut attrs = 3usize;
        for k in 0..2u64 {
            let slot = add(&mut s, k, &[k as u32 + 1]).slot;
            let b = &mut s.slots[slot as usize].baselines;
            for key in ["a", "b"] {
                let _ = b.attr(key, fresh, &mut attrs);
            }
        }
        assert_eq!((s.attr_baselines(), attrs), (3, 0), "the budget ran out");
        let b = &mut s.slots[1].baselines;
        assert!(
            b.attr("a", fresh, &mut attrs).is_some(),
            "an existing one is found"
        );
        assert!(b.attr("c", fresh, &mut attrs).is_none());
        // A new template evicts one of the two; its baselines are freed.
        add(&mut s, 9, &[99]);
        assert_eq!(s.evicted, 1);
        assert_eq!(s.freed_attrs + s.attr_baselines(), 3);
        assert!(s.freed_attrs > 0);
    }

    #[test]
    fn a_busy_template_survives_the_clock() {
        let mut s = Store::new(3);
        let busy = add(&mut s, 1, &[1, 1]).slot;
        for k in 10..200u64 {
            add(&mut s, k, &[k as u32, 2]);
            assert_eq!(add(&mut s, 1, &[1, 1]).slot, busy);
        }
    }

    #[test]
    fn similar_lines_join_and_variables_grow() {
        let mut s = Store::new(10);
        let a = add(&mut s, 1, &[10, 20, 30, 40]);
        let b = add(&mut s, 2, &[10, 20, 31, 40]);
        assert!(a.new && !b.new);
        assert_eq!(a.slot, b.slot);
        assert_eq!(s.slots[a.slot as usize].tokens, [10, 20, VAR, 40]);
        assert_eq!(s.slots[a.slot as usize].text, "x x <*> x");
        assert!(add(&mut s, 3, &[11, 21, 32, 41]).new);
        assert_eq!(
            add(&mut s, 2, &[10, 20, 31, 40]).count_before,
            2,
            "cached key"
        );
    }
}
