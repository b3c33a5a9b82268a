//! The repository config: format version, chunker parameters, compression
//! level, and whether data is encrypted. Stored unsealed (it holds no secret
//! when encrypted; an unencrypted repository keeps its id key here).

use super::{decode, encode, CONFIG_VERSION, TAG_CONFIG};
use crate::error::Result;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Config {
    pub repo_id: [u8; 16],
    pub chunk_min: u32,
    pub chunk_avg: u32,
    pub chunk_max: u32,
    pub compression: i32,
    pub encrypted: bool,
    /// The id key of an unencrypted repository; `None` when encrypted (the
    /// key then lives in the sealed master key).
    pub id_key: Option<[u8; 32]>,
    pub created: super::Time,
    /// The format version, from the stored header: it decides how chunks
    /// are keyed (`ordered_chunks`). New repositories get `CONFIG_VERSION`.
    #[serde(skip)]
    pub version: u8,
}

impl Config {
    pub fn encode(&self) -> Vec<u8> {
        encode(TAG_CONFIG, self.version, self)
    }

    /// Decodes any version up to `CONFIG_VERSION` (all share one body).
    pub fn decode(bytes: &[u8]) -> Result<Config> {
        let mut c: Config = decode("repository config", TAG_CONFIG, CONFIG_VERSION, bytes)?;
        c.version = bytes[1];
        Ok(c)
    }

    /// Whether chunks are keyed by write order (version 2 on), so that
    /// chunks written together lie together in RocksDB's blob files.
    pub fn ordered_chunks(&self) -> bool {
        self.version >= 2
    }

    pub fn chunker(&self) -> Result<strata_chunker::Chunker> {
        let p = strata_chunker::Params::new(self.chunk_min as usize, self.chunk_avg as usize, self.chunk_max as usize)
            .map_err(|e| crate::error::Error::corrupt("repository config", e.to_string()))?;
        Ok(strata_chunker::Chunker::new(p))
    }
}

#[cfg(test)]
impl Config {
    /// A small-chunk config of format `version`, for unit tests.
    pub fn sample(version: u8) -> Config {
        Config {
            repo_id: [0; 16],
            chunk_min: 64,
            chunk_avg: 256,
            chunk_max: 1024,
            compression: 3,
            encrypted: true,
            id_key: None,
            created: Default::default(),
            version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::format::testing::hex;
    use crate::format::Time;
    use proptest::prelude::*;

    fn sample() -> Config {
        Config {
            repo_id: [7; 16],
            chunk_min: 256 << 10,
            chunk_avg: 1 << 20,
            chunk_max: 4 << 20,
            compression: 3,
            encrypted: true,
            id_key: None,
            created: Time { secs: 1_700_000_000, nanos: 5 },
            version: CONFIG_VERSION,
        }
    }

    #[test]
    fn golden_bytes() {
        assert_eq!(
            hex(&sample().encode()),
            "4302070707070707070707070707070707078080108080408080800206010080c49fd50c05"
        );
    }

    #[test]
    fn version_1_decodes_and_keys_chunks_by_id() {
        let v1 = Config { version: 1, ..sample() };
        let b = v1.encode();
        assert_eq!(b[1], 1);
        let c = Config::decode(&b).unwrap();
        assert_eq!(c, v1);
        assert!(!c.ordered_chunks());
        assert!(sample().ordered_chunks());
    }

    #[test]
    fn newer_version_is_refused() {
        let mut b = sample().encode();
        b[1] = CONFIG_VERSION + 1;
        let e = Config::decode(&b).unwrap_err();
        assert!(matches!(e, Error::NewerFormat { .. }), "{e}");
        assert!(e.to_string().contains("upgrade strata"));
    }

    proptest! {
        #[test]
        fn roundtrip(min: u32, level: i32, enc: bool, key: Option<[u8; 32]>, secs: i64) {
            let c = Config { chunk_min: min, compression: level, encrypted: enc, id_key: key,
                             created: Time { secs, nanos: 0 }, ..sample() };
            prop_assert_eq!(Config::decode(&c.encode()).unwrap(), c);
        }
    }
}
