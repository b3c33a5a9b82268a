//! The stored form of every chunk, tree, chunk list and snapshot:
//!
//! ```text
//! [RECORD_VERSION][flags][sealed payload][checksum: 16 bytes]
//! ```
//!
//! The payload is `zstd(plaintext)` when that saves at least 3 %, else the
//! plaintext (flag bit 0 says which), sealed with the record's id as
//! associated data. The checksum is BLAKE3 over all bytes before it, truncated
//! to 128 bits, so a copy can be verified without the key.

use crate::crypto::{Id, Keys};
use crate::error::{Error, Result};
use std::cell::RefCell;

/// FROZEN: record layout version.
pub const RECORD_VERSION: u8 = 1;
const FLAG_ZSTD: u8 = 1;
pub const CHECKSUM_LEN: usize = 16;
const HEADER_LEN: usize = 2;
/// The largest plaintext a compressed record may claim: `open` refuses
/// more (a frame's stated size is not trusted to allocate). `seal` stores a
/// larger plaintext raw, so whatever it seals opens; strata's own records
/// stay far below it (chunks are at most 16 MiB, trees and chunk lists are
/// cut into parts of at most 8 MiB, `format::parts`).
pub const PLAIN_MAX: usize = 64 << 20;

thread_local! {
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Decompresses with a per-thread context (creating one costs more than
/// decompressing a small chunk).
fn decompress(body: &[u8], size: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        slot.as_mut().expect("set above").decompress(body, size)
    })
}

fn compress(plaintext: &[u8], level: i32) -> Option<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().map(|(l, _)| *l) != Some(level) {
            *slot = Some((level, zstd::bulk::Compressor::new(level).ok()?));
        }
        let (_, c) = slot.as_mut()?;
        c.compress(plaintext).ok()
    })
}

/// Builds the stored record for `plaintext` under `id`.
/// `level` 0 means no compression.
pub fn seal(keys: &Keys, id: &Id, plaintext: &[u8], level: i32) -> Vec<u8> {
    let packed = (level != 0 && plaintext.len() <= PLAIN_MAX)
        .then(|| compress(plaintext, level))
        .flatten()
        .filter(|c| c.len() < plaintext.len() - plaintext.len() * 3 / 100);
    let (flags, body) = match &packed {
        Some(c) => (FLAG_ZSTD, &c[..]),
        None => (0, plaintext),
    };
    let mut out = Vec::with_capacity(body.len() + 64);
    out.push(RECORD_VERSION);
    out.push(flags);
    keys.seal_into(id, body, &mut out);
    let sum = checksum(&out);
    out.extend_from_slice(&sum);
    out
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    let h = blake3::hash(bytes);
    h.as_bytes()[..CHECKSUM_LEN].try_into().unwrap()
}

/// Checks the stored bytes without the key.
pub fn verify(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN + CHECKSUM_LEN && {
        let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        checksum(body) == sum
    }
}

/// Verifies, opens and decompresses a record, and checks that its plaintext
/// hashes to `id`. `what` names the object in errors.
pub fn open(keys: &Keys, id: &Id, mut bytes: Vec<u8>, what: &str) -> Result<Vec<u8>> {
    // With encryption the AEAD tag authenticates the same bytes (and the id
    // check below covers the header): the keyless checksum, kept for
    // checking a repository without its key, would only repeat the work.
    let known_header = |b: &[u8]| b[0] <= RECORD_VERSION && b[1] & !FLAG_ZSTD == 0;
    let authenticated = keys.encrypted() && bytes.len() >= HEADER_LEN + CHECKSUM_LEN && known_header(&bytes);
    if !authenticated && !verify(&bytes) {
        return Err(Error::corrupt(what, "checksum mismatch"));
    }
    if !known_header(&bytes) {
        return Err(Error::NewerFormat { what: "record", found: bytes[0], supported: RECORD_VERSION });
    }
    let flags = bytes[1];
    let (base, end) = (bytes.as_ptr() as usize, bytes.len() - CHECKSUM_LEN);
    let body = keys.open(id, &mut bytes[HEADER_LEN..end], what)?;
    let plain = if flags & FLAG_ZSTD != 0 {
        let size = zstd::zstd_safe::get_frame_content_size(body)
            .ok()
            .flatten()
            .filter(|&n| n <= PLAIN_MAX as u64)
            .ok_or_else(|| Error::corrupt(what, "bad compressed frame"))?;
        decompress(body, size as usize).map_err(|e| Error::corrupt(what, format!("decompression: {e}")))?
    } else {
        // Stored raw: the plaintext is already in place, at an offset.
        let (start, len) = (body.as_ptr() as usize - base, body.len());
        bytes.copy_within(start..start + len, 0);
        bytes.truncate(len);
        bytes
    };
    if keys.id(&plain) != *id {
        return Err(Error::corrupt(what, "content does not match its id"));
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(data: Vec<u8>, level in 0i32..4, enc: bool) {
            let keys = Keys::new([3; 32], enc.then_some([4; 32]));
            let id = keys.id(&data);
            let rec = seal(&keys, &id, &data, level);
            prop_assert!(verify(&rec));
            prop_assert_eq!(open(&keys, &id, rec, "t").unwrap(), data);
        }
    }

    #[test]
    fn whatever_seal_accepts_opens() {
        let keys = Keys::new([3; 32], Some([4; 32]));
        let big = vec![0u8; PLAIN_MAX + 1];
        let id = keys.id(&big);
        let rec = seal(&keys, &id, &big, 3);
        assert_eq!(rec[1] & FLAG_ZSTD, 0, "stored raw, past what a compressed record may claim");
        assert_eq!(open(&keys, &id, rec, "t").unwrap().len(), PLAIN_MAX + 1);
    }

    #[test]
    fn compressible_data_is_compressed_and_random_is_not() {
        let keys = Keys::new([3; 32], None);
        let zeros = vec![0u8; 100_000];
        let rec = seal(&keys, &keys.id(&zeros), &zeros, 3);
        assert_eq!(rec[1], FLAG_ZSTD);
        assert!(rec.len() < 1000);
        let noise: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let rec = seal(&keys, &keys.id(&noise), &noise, 3);
        assert_eq!(rec[1] & FLAG_ZSTD, if rec.len() < noise.len() { FLAG_ZSTD } else { 0 });
    }

    #[test]
    fn flipped_byte_is_detected() {
        // Unencrypted, the checksum finds it; encrypted, the AEAD tag (for
        // the payload) or the id check (for the header) does.
        for (enc, at, expect) in [(None, 5, "checksum"), (Some([4; 32]), 5, "authentication"), (Some([4; 32]), 1, "")] {
            let keys = Keys::new([3; 32], enc);
            let data = vec![7u8; 1000];
            let id = keys.id(&data);
            let mut rec = seal(&keys, &id, &data, 3);
            rec[at] ^= 0x10;
            assert!(!verify(&rec));
            let e = open(&keys, &id, rec.clone(), "chunk abc").unwrap_err().to_string();
            assert!(e.contains("chunk abc") && e.contains(expect), "{e}");
        }
    }

    #[test]
    fn golden_bytes_unencrypted() {
        // FROZEN layout: version, flags, payload, truncated BLAKE3 checksum.
        let keys = Keys::new([0; 32], None);
        let id = keys.id(b"abc");
        let rec = seal(&keys, &id, b"abc", 0);
        assert_eq!(
            crate::format::testing::hex(&rec),
            format!("0100616263{}", &crate::crypto::hex(blake3::hash(&[1, 0, b'a', b'b', b'c']).as_bytes())[..32])
        );
    }
}
