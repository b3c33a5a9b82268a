//! An in-memory store for unit tests: every write is "durable" at once.

use super::{Batch, Cf, Durability, Store, Visit};
use crate::error::Result;
use std::collections::BTreeMap;
use std::sync::RwLock;

type Map = BTreeMap<(Cf, Vec<u8>), Vec<u8>>;

#[derive(Default)]
pub struct MemoryStore {
    map: RwLock<Map>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn map(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.map().get(&(cf, key.to_vec())).cloned())
    }

    fn write(&self, batch: Batch, _: Durability) -> Result<()> {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        for (cf, k, v) in batch.puts {
            map.insert((cf, k), v);
        }
        for (cf, k) in batch.deletes {
            map.remove(&(cf, k));
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn range(&self, cf: Cf, from: &[u8], to: Option<&[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .map()
            .range((cf, from.to_vec())..)
            .take_while(|((c, k), _)| *c == cf && to.is_none_or(|t| k.as_slice() < t))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn scan(&self, cf: Cf, from: &[u8], f: &mut Visit) -> Result<()> {
        // A copy, so `f` may write to this store.
        for (k, v) in self.range(cf, from, None)? {
            if !f(&k, &v)? {
                break;
            }
        }
        Ok(())
    }

    fn last_before(&self, cf: Cf, key: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self.map().range((cf, Vec::new())..(cf, key.to_vec())).next_back().map(|((_, k), v)| (k.clone(), v.clone())))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn contract() {
        super::super::contract::check(&super::MemoryStore::new());
    }
}
