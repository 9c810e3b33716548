//! Build script: precomputes the trigram code table of the trigram kernels.
//!
//! Every trigram of lowercased printable ASCII (69 symbols: space to `@` and `[` to `~`)
//! is hashed once here with the very code the library runs (`src/gram.rs`, included
//! below: `hash_gram` and `encode`) and stored as the 16-bit code the kernels count with
//! (bucket in the low byte, `+1` or `-1` as an `i8` in the high byte). The table (69³ + 1
//! entries, the last one padding for 32-bit vector loads) is written in the target's
//! byte order to
//! `$OUT_DIR/trigram_codes.bin` and included into the binary, so no trigram of plain
//! ASCII text is hashed at run time. A unit test in `trigram.rs` checks the table
//! against `hash_gram`.

use std::io::Write;

#[path = "src/gram.rs"]
mod gram;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/gram.rs");
    let symbols: Vec<u8> = (0x20u8..=0x7e)
        .filter(|b| !b.is_ascii_uppercase())
        .collect();
    assert_eq!(symbols.len(), 69);
    let big_endian = std::env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() == Ok("big");
    let mut out = Vec::with_capacity((symbols.len().pow(3) + 1) * 2);
    for &a in &symbols {
        for &b in &symbols {
            for &c in &symbols {
                let (bucket, positive) = gram::hash_gram(&[a, b, c], 256);
                let code = gram::encode(bucket, positive);
                out.extend_from_slice(&if big_endian {
                    code.to_be_bytes()
                } else {
                    code.to_le_bytes()
                });
            }
        }
    }
    out.extend_from_slice(&[0, 0]);
    let dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let path = std::path::Path::new(&dir).join("trigram_codes.bin");
    let mut file = std::fs::File::create(&path).expect("create trigram_codes.bin");
    file.write_all(&out).expect("write trigram_codes.bin");
}
