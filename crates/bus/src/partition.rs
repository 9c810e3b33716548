//! Which partition a source belongs to: FNV-1a (32-bit) of its subject token, modulo the
//! partition count — the function nats-server's `partition(n, ...)` subject mapping
//! applies to a token, so a server-side mapping `logs.*` →
//! `logs.{{partition(16,1)}}.{{wildcard(1)}}` (nats-server 2.8 and later) routes another
//! producer's `logs.<token>` messages to the partition this module names. Also the 64-bit
//! FNV-1a the message ids use. No I/O.

/// FNV-1a, 32 bits.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// FNV-1a, 64 bits.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The partition of the source whose subject token is `token`, of `partitions` (≥ 1).
pub fn partition_of(token: &str, partitions: u32) -> u32 {
    fnv1a32(token.as_bytes()) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_published_test_vectors() {
        assert_eq!(fnv1a32(b""), 0x811c9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9cf968);
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn partitions_are_in_range_and_spread() {
        let mut seen = [0u32; 16];
        for i in 0..1600 {
            let p = partition_of(&format!("host-{i}"), 16);
            seen[p as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 60), "{seen:?}");
        assert_eq!(partition_of("x", 1), 0);
        assert_eq!(partition_of("x", 0), 0);
    }
}
