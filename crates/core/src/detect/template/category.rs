//! Numeric attributes that are categories (HTTP status, exit codes): integers with few
//! distinct values. Such an attribute is scored by the rarity of its value in the source,
//! not by its distance from a mean.
//!
//! An attribute learns for the warmup; then it is a category if every value so far was
//! an integer and there were at most [`MAX_LEARNED`] distinct ones. A category stays one
//! while its values are integers and number at most [`MAX_DISTINCT`]; otherwise the
//! attribute is continuous from then on and scored per template like the other metrics.

use serde::{Deserialize, Serialize};

/// Distinct values a category may show by the end of its warmup.
pub(crate) const MAX_LEARNED: usize = 16;
/// Distinct values a category may collect before it counts as continuous.
pub(crate) const MAX_DISTINCT: usize = 64;
/// Attribute keys a shard tracks this way; later keys are continuous.
pub(crate) const MAX_KEYS: usize = 64;

/// What the categories say about one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Verdict {
    /// Still learning: score nothing, feed the continuous baseline.
    Learning,
    /// A category: the value's tail probability `p`, having been seen `seen` times of
    /// `total` (both before this value).
    Category { p: f64, seen: u64, total: u64 },
    /// Continuous: score it as a number.
    Continuous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum State {
    Learning,
    Category,
    Continuous,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attr {
    key: String,
    state: State,
    total: u64,
    /// `(value, count)`; empty once continuous.
    values: Vec<(i64, u64)>,
    /// Some value so far was not an integer.
    fractional: bool,
}

/// The category state of a shard's attributes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Categories {
    attrs: Vec<Attr>,
}

fn as_integer(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

impl Categories {
    /// Check restored state: bounded keys and values, a continuous attribute holds none.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.attrs.len() > MAX_KEYS {
            return Err("too many categorical attributes".into());
        }
        for a in &self.attrs {
            if a.values.len() > MAX_DISTINCT + 1
                || (a.state == State::Continuous && !a.values.is_empty())
            {
                return Err(format!("categorical attribute {:?} is malformed", a.key));
            }
        }
        Ok(())
    }

    /// Score `value` of attribute `key` (before learning it), then learn it.
    pub(crate) fn observe(&mut self, key: &str, value: f64, warmup: u64) -> Verdict {
        let i = match self.attrs.iter().position(|a| a.key == key) {
            Some(i) => i,
            None if self.attrs.len() < MAX_KEYS => {
                self.attrs.push(Attr {
                    key: key.to_string(),
                    state: State::Learning,
                    total: 0,
                    values: Vec::new(),
                    fractional: false,
                });
                self.attrs.len() - 1
            }
            None => return Verdict::Continuous,
        };
        let a = &mut self.attrs[i];
        let int = as_integer(value);
        let verdict = match a.state {
            State::Continuous => return Verdict::Continuous,
            State::Learning => Verdict::Learning,
            State::Category => match int {
                None => {
                    a.state = State::Continuous;
                    a.values = Vec::new();
                    return Verdict::Continuous;
                }
                Some(v) => {
                    let seen = a.values.iter().find(|e| e.0 == v).map_or(0, |e| e.1);
                    let singles = a.values.iter().filter(|e| e.1 == 1).count() as u64;
                    let mass: u64 = if seen == 0 {
                        0
                    } else {
                        a.values.iter().filter(|e| e.1 <= seen).map(|e| e.1).sum()
                    };
                    let p = (mass + singles + 1) as f64 / (a.total + 2) as f64;
                    Verdict::Category {
                        p,
                        seen,
                        total: a.total,
                    }
                }
            },
        };
        // Learn.
        a.total += 1;
        match int {
            None => a.fractional = true,
            Some(v) => match a.values.iter_mut().find(|e| e.0 == v) {
                Some(e) => e.1 += 1,
                None => a.values.push((v, 1)),
            },
        }
        if a.state == State::Learning && a.total >= warmup.max(1) {
            a.state = if !a.fractional && a.values.len() <= MAX_LEARNED {
                State::Category
            } else {
                State::Continuous
            };
        }
        if a.state == State::Category && a.values.len() > MAX_DISTINCT
            || a.state == State::Continuous
        {
            a.state = State::Continuous;
            a.values = Vec::new();
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_status_is_a_category_and_a_rare_code_is_surprising() {
        let mut c = Categories::default();
        for i in 0..500 {
            let v = [200.0, 200.0, 200.0, 304.0, 404.0][i % 5];
            let verdict = c.observe("status", v, 30);
            if i < 30 {
                assert_eq!(verdict, Verdict::Learning);
            }
        }
        match c.observe("status", 200.0, 30) {
            Verdict::Category { p, .. } => assert!(p > 0.5, "{p}"),
            v => panic!("{v:?}"),
        }
        match c.observe("status", 503.0, 30) {
            Verdict::Category {
                p,
                seen: 0,
                total: 501,
            } => assert!(p < 0.005, "{p}"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn latencies_are_continuous() {
        let mut c = Categories::default();
        for i in 0..40 {
            c.observe("latency_ms", 10.0 + i as f64 * 0.37, 30);
        }
        assert_eq!(c.observe("latency_ms", 12.5, 30), Verdict::Continuous);
        // Many distinct integers are not a category either.
        for i in 0..40 {
            c.observe("bytes", 1000.0 + i as f64, 30);
        }
        assert_eq!(c.observe("bytes", 1000.0, 30), Verdict::Continuous);
    }

    #[test]
    fn a_fraction_ends_a_category() {
        let mut c = Categories::default();
        for _ in 0..30 {
            c.observe("code", 1.0, 30);
        }
        assert!(matches!(
            c.observe("code", 1.0, 30),
            Verdict::Category { .. }
        ));
        assert_eq!(c.observe("code", 1.5, 30), Verdict::Continuous);
        assert_eq!(c.observe("code", 1.0, 30), Verdict::Continuous);
    }
}
