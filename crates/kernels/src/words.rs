//! `\w+` runs in pure-ASCII bytes: word bytes (`[0-9A-Za-z_]`) whose predecessor is not
//! a word byte. For ASCII text this is Python's `len(re.findall(r"\w+", s))`.

pub use crate::generic::words::is_word_byte;

/// Number of `\w+` runs in `bytes` (only ASCII word bytes count as word characters).
#[inline]
pub fn count_ascii_words(bytes: &[u8]) -> usize {
    crate::dispatch::count_ascii_words(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every alignment of a line with each kind of byte, against the generic count.
    #[test]
    fn dispatched_count_matches_the_generic_one() {
        let text = b"Nov 27 00:00:01 web-02 app[2025]: request_done method=GET status=200 x__y `{|}~@[\\\\]^ 09:/AZ az";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let part = &text[start..end];
                let want = crate::generic::words::count_ascii_words(part);
                assert_eq!(count_ascii_words(part), want);
                assert_eq!(
                    want,
                    part.split(|b| !is_word_byte(*b))
                        .filter(|w| !w.is_empty())
                        .count()
                );
            }
        }
        let all: Vec<u8> = (0u8..=255).cycle().take(1000).collect();
        assert_eq!(
            count_ascii_words(&all),
            crate::generic::words::count_ascii_words(&all)
        );
    }

    #[test]
    fn word_bytes_are_ascii_alphanumerics_and_underscore() {
        for b in 0..=255u8 {
            assert_eq!(
                is_word_byte(b),
                b.is_ascii_alphanumeric() || b == b'_',
                "{b}"
            );
        }
    }
}
