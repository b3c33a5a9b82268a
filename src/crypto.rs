//! Keys, sealing and ids.
//!
//! AEAD: XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`), chosen over
//! AES-GCM because its 192-bit nonces can be drawn at random for every record
//! with no risk of reuse, and it is fast without AES-NI. The associated data
//! binds each sealed record to the id it is stored under, so records cannot be
//! swapped. Ids are BLAKE3 keyed with a key separate from the encryption key.
//! Passwords wrap the master key with Argon2id.

use crate::error::{Error, Result};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

pub const NONCE_LEN: usize = 24;
pub const TAG_LEN: usize = 16;

/// A 32-byte object id: keyed BLAKE3 of the object's plaintext.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Id(pub [u8; 32]);

impl Id {
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// The short form shown to users (8 bytes, 16 hex digits).
    pub fn short(&self) -> String {
        hex(&self.0[..8])
    }

    pub fn from_slice(b: &[u8]) -> Option<Id> {
        b.try_into().ok().map(Id)
    }
}

impl std::fmt::Debug for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.short())
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Bytes from lowercase or uppercase hex; `None` for anything else (an
/// empty string included).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the OS random source failed");
    b
}

/// A fresh random nonce. Drawn from a per-thread buffer of the OS's random
/// bytes, each byte used once: one getrandom call per 170 records, not one
/// per record (200,000 small files: 200,000 calls).
fn nonce() -> [u8; NONCE_LEN] {
    use std::cell::RefCell;
    const POOL: usize = NONCE_LEN * 170;
    thread_local! {
        static RANDOM: RefCell<([u8; POOL], usize)> = const { RefCell::new(([0; POOL], POOL)) };
    }
    RANDOM.with(|r| {
        let (pool, used) = &mut *r.borrow_mut();
        if *used == POOL {
            getrandom::getrandom(pool).expect("the OS random source failed");
            *used = 0;
        }
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(&pool[*used..*used + NONCE_LEN]);
        pool[*used..*used + NONCE_LEN].fill(0);
        *used += NONCE_LEN;
        n
    })
}

/// The repository's secrets: one key for ids, one for sealing (absent in an
/// unencrypted repository).
#[derive(Clone)]
pub struct Keys {
    id_key: [u8; 32],
    enc_key: Option<[u8; 32]>,
    cipher: Option<XChaCha20Poly1305>,
    /// Opened without the password (`check --no-key`): nothing can be
    /// opened or sealed, and ids are not the repository's.
    locked: bool,
}

impl Keys {
    pub fn new(id_key: [u8; 32], enc_key: Option<[u8; 32]>) -> Keys {
        Keys { id_key, enc_key, cipher: enc_key.map(|k| XChaCha20Poly1305::new(&k.into())), locked: false }
    }

    /// Stand-in keys for a repository opened without its password: every
    /// attempt to open a record fails, saying so.
    pub fn locked() -> Keys {
        Keys { locked: true, ..Keys::new([0; 32], Some(random_bytes())) }
    }

    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// The master key (id key, then encryption key), for wrapping under a
    /// new password.
    pub(crate) fn master(&self) -> [u8; 64] {
        let mut m = [0u8; 64];
        m[..32].copy_from_slice(&self.id_key);
        m[32..].copy_from_slice(&self.enc_key.unwrap_or_default());
        m
    }

    pub fn encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    pub fn id(&self, plaintext: &[u8]) -> Id {
        Id(*blake3::keyed_hash(&self.id_key, plaintext).as_bytes())
    }

    /// Appends the sealed form of `plaintext` to `out`.
    pub fn seal_into(&self, id: &Id, plaintext: &[u8], out: &mut Vec<u8>) {
        match &self.cipher {
            None => out.extend_from_slice(plaintext),
            Some(c) => {
                let nonce = nonce();
                out.reserve(NONCE_LEN + plaintext.len() + TAG_LEN);
                out.extend_from_slice(&nonce);
                let start = out.len();
                out.extend_from_slice(plaintext);
                let tag = c
                    .encrypt_in_place_detached(XNonce::from_slice(&nonce), &id.0, &mut out[start..])
                    .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
                out.extend_from_slice(&tag);
            }
        }
    }

    /// Opens what `seal` made, decrypting in place: the plaintext is the
    /// returned part of `sealed`.
    pub fn open<'a>(&self, id: &Id, sealed: &'a mut [u8], what: &str) -> Result<&'a [u8]> {
        match &self.cipher {
            None => Ok(sealed),
            Some(_) if self.locked => Err(Error::Invalid(format!("{what}: cannot be opened without the password"))),
            Some(c) => {
                if sealed.len() < NONCE_LEN + TAG_LEN {
                    return Err(Error::corrupt(what, "sealed record too short"));
                }
                let (nonce, rest) = sealed.split_at_mut(NONCE_LEN);
                let (ct, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
                c.decrypt_in_place_detached(XNonce::from_slice(nonce), &id.0, ct, (&*tag).into())
                    .map_err(|_| Error::corrupt(what, "authentication failed (tampered or damaged)"))?;
                Ok(ct)
            }
        }
    }
}

/// Argon2id parameters, stored in each key file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// OWASP's first recommended Argon2id setting: 64 MiB, 3 passes.
    fn default() -> Self {
        KdfParams { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 }
    }
}

pub fn derive_key(password: &[u8], salt: &[u8], p: KdfParams) -> Result<[u8; 32]> {
    let params = argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, Some(32)).map_err(|e| {
        Error::Invalid(format!(
            "key derivation parameters (Argon2id, {} KiB, {} passes, {} lanes): {e}",
            p.memory_kib, p.iterations, p.parallelism
        ))
    })?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon.hash_password_into(password, salt, &mut out).map_err(|e| Error::Invalid(format!("key derivation: {e}")))?;
    Ok(out)
}

/// Seals `secret` under a key-encryption key; used for key files.
pub fn wrap(kek: &[u8; 32], secret: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Keys::new([0; 32], Some(*kek)).seal_into(&Id([0; 32]), secret, &mut out);
    out
}

/// Opens what `wrap` sealed; `None` when the key does not fit.
pub fn unwrap(kek: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    let mut buf = sealed.to_vec();
    Keys::new([0; 32], Some(*kek)).open(&Id([0; 32]), &mut buf, "key").ok().map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_binds_id() {
        let k = Keys::new([1; 32], Some([2; 32]));
        let id = k.id(b"hello");
        let mut sealed = Vec::new();
        k.seal_into(&id, b"hello", &mut sealed);
        assert_eq!(k.open(&id, &mut sealed.clone(), "x").unwrap(), b"hello");
        assert!(k.open(&Id([9; 32]), &mut sealed.clone(), "x").is_err());
        sealed[30] ^= 1;
        assert!(k.open(&id, &mut sealed, "x").is_err());
    }

    #[test]
    fn every_seal_draws_a_new_nonce_and_appends() {
        let k = Keys::new([1; 32], Some([2; 32]));
        let id = k.id(b"same");
        // Past several refills of the per-thread pool.
        let mut nonces = std::collections::HashSet::new();
        for _ in 0..1000 {
            let mut sealed = b"before".to_vec();
            k.seal_into(&id, b"same", &mut sealed);
            assert_eq!(&sealed[..6], b"before");
            assert_eq!(sealed.len(), 6 + NONCE_LEN + 4 + TAG_LEN);
            assert!(nonces.insert(sealed[6..6 + NONCE_LEN].to_vec()), "a nonce drawn twice");
            assert_eq!(k.open(&id, &mut sealed[6..], "x").unwrap(), b"same");
        }
    }

    #[test]
    fn ids_are_keyed() {
        assert_ne!(Keys::new([1; 32], None).id(b"a"), Keys::new([2; 32], None).id(b"a"));
    }

    #[test]
    fn wrap_roundtrip_and_wrong_key() {
        let sealed = wrap(&[5; 32], b"master");
        assert_eq!(unwrap(&[5; 32], &sealed).unwrap(), b"master");
        assert!(unwrap(&[6; 32], &sealed).is_none());
    }

    #[test]
    fn hex_digits() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00abFF"), Some(vec![0, 0xab, 0xff]));
        for bad in ["", "0", "0g", "+1"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
    }
}
