// Shared by the targets (`#[path]`-included, not a target itself): the fixed test CA.
#![allow(dead_code)]

use consul_connect::{fuzzing, Roots};

/// Trust domain of the fixed CA and of the seed leaves.
pub const TRUST_DOMAIN: &str = "11111111-2222-3333-4444-555555555555.consul";

/// DER of a fixed ECDSA P-256 CA (valid until 2125), generated once with openssl; the seed
/// leaves in corpus/ are issued by it.
pub const ROOT_DER: &[u8] = include_bytes!("../data/root.der");

/// The roots the chain targets verify against.
pub fn roots() -> Roots {
    Roots {
        trust_domain: TRUST_DOMAIN.to_string(),
        roots: vec![fuzzing::root("fuzz-root", ROOT_DER, true)],
    }
}

/// Splits `data` into certificates: big-endian u16 length, then that many bytes, repeated;
/// a last, short piece is taken as it is.
pub fn split_chain(mut data: &[u8]) -> Vec<&[u8]> {
    let mut chain = Vec::new();
    while data.len() >= 2 {
        let len = u16::from_be_bytes([data[0], data[1]]) as usize;
        let rest = &data[2..];
        let take = len.min(rest.len());
        chain.push(&rest[..take]);
        data = &rest[take..];
    }
    if !data.is_empty() {
        chain.push(data);
    }
    chain
}
