//! Trigram symbol classes of an ASCII message, one byte at a time.

use crate::table::{class_of_byte, SPACE_CLASS};

/// Fill `cls` with the classes of `" " + lower(body) + " "`; returns whether every byte
/// has one (see [`crate::trigram::Classes::of_ascii_body`]).
#[inline]
pub fn ascii_classes(body: &[u8], cls: &mut Vec<u8>) -> bool {
    cls.clear();
    cls.reserve(body.len() + 2);
    cls.push(SPACE_CLASS);
    let mut bad = 0u8;
    for &b in body {
        let (c, invalid) = class_of_byte(b);
        bad |= invalid;
        cls.push(c);
    }
    cls.push(SPACE_CLASS);
    bad == 0
}
