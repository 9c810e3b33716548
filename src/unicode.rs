//! Python 3.11 Unicode semantics the reference depends on: `re` `\w`, `str.isspace`,
//! `str.isprintable`, `str.lower` and `str.strip`. Tables are generated (see
//! `scripts/gen-unicode-tables.py`).

/// Python `re` `\w` for `str` patterns: `ch.isalnum() or ch == '_'`.
pub fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Python `str.isspace()` for one character.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python `str.isprintable()` for one character.
pub fn is_printable(c: char) -> bool {
    !c.is_control()
}

/// Python `s.strip()` (no arguments).
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Append Python `s.lower()` to `out`.
pub fn lower_into(s: &str, out: &mut String) {
    out.push_str(&s.to_lowercase());
}
