//! A key file: the master key wrapped under one password (Argon2id). Several
//! may exist; adding or removing one never touches data.

use super::{decode, encode, Time, KEY_VERSION, TAG_KEY};
use crate::crypto::KdfParams;
use crate::error::Result;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyFile {
    pub kdf: KdfParams,
    pub salt: [u8; 32],
    /// The sealed master key: id key then encryption key, 64 bytes.
    pub wrapped: Vec<u8>,
    pub created: Time,
    pub host: String,
    pub user: String,
}

impl KeyFile {
    pub fn encode(&self) -> Vec<u8> {
        encode(TAG_KEY, KEY_VERSION, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<KeyFile> {
        decode("key file", TAG_KEY, KEY_VERSION, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::hex;
    use proptest::prelude::*;

    fn sample() -> KeyFile {
        KeyFile {
            kdf: KdfParams { memory_kib: 8, iterations: 1, parallelism: 1 },
            salt: [1; 32],
            wrapped: vec![0xaa, 0xbb],
            created: Time { secs: 2, nanos: 3 },
            host: "h".into(),
            user: "u".into(),
        }
    }

    #[test]
    fn golden_bytes() {
        assert_eq!(
            hex(&sample().encode()),
            "4b01080101010101010101010101010101010101010101010101010101010101010101010102aabb040301680175"
        );
    }

    proptest! {
        #[test]
        fn roundtrip(salt: [u8; 32], wrapped: Vec<u8>, host: String, m: u32) {
            let k = KeyFile { salt, wrapped, host, kdf: KdfParams { memory_kib: m, ..sample().kdf }, ..sample() };
            prop_assert_eq!(KeyFile::decode(&k.encode()).unwrap(), k);
        }
    }
}
