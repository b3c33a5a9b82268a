//! A least-recently-used cache of decoded objects (chunks, trees) keyed by
//! id and bounded by a cost in bytes. Eviction is O(log n): `order` maps
//! each entry's last use to its id.

use crate::crypto::Id;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

pub struct Lru<V> {
    inner: Mutex<Inner<V>>,
    capacity: usize,
}

/// Demoted entries are kept up to this share of the capacity.
const DEMOTED_SHARE: usize = 8;
/// Keys of demoted entries count up from 0; keys of used ones from here.
const USED: u64 = 1 << 62;

struct Inner<V> {
    map: HashMap<Id, (Arc<V>, usize, u64)>,
    order: BTreeMap<u64, Id>,
    bytes: usize,
    demoted_bytes: usize,
    tick: u64,
    demotions: u64,
}

impl<V> Inner<V> {
    /// Marks `id` as used now.
    fn touch(&mut self, id: &Id) -> Option<Arc<V>> {
        self.tick += 1;
        let tick = self.tick;
        let (value, cost, used) = self.map.get_mut(id)?;
        if *used < USED {
            self.demoted_bytes -= *cost;
        }
        self.order.remove(used);
        *used = tick;
        self.order.insert(tick, *id);
        Some(value.clone())
    }

    /// Drops the entry that goes first: the first demoted, else the least
    /// recently used.
    fn evict(&mut self) {
        let Some((key, victim)) = self.order.pop_first() else { return };
        if let Some((_, cost, _)) = self.map.remove(&victim) {
            self.bytes -= cost;
            if key < USED {
                self.demoted_bytes -= cost;
            }
        }
    }
}

impl<V> Lru<V> {
    pub fn new(capacity: usize) -> Lru<V> {
        let inner =
            Inner { map: HashMap::new(), order: BTreeMap::new(), bytes: 0, demoted_bytes: 0, tick: USED, demotions: 0 };
        Lru { inner: Mutex::new(inner), capacity }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, id: &Id) -> Option<Arc<V>> {
        self.lock().touch(id)
    }

    pub fn contains(&self, id: &Id) -> bool {
        self.lock().map.contains_key(id)
    }

    /// Adds `value`, which costs `bytes`; evicts the least recently used
    /// entries beyond the capacity (never the one just added).
    pub fn insert(&self, id: Id, value: Arc<V>, bytes: usize) {
        let mut c = self.lock();
        if c.touch(&id).is_some() {
            return;
        }
        c.tick += 1;
        let tick = c.tick;
        c.bytes += bytes;
        c.map.insert(id, (value, bytes, tick));
        c.order.insert(tick, id);
        while c.bytes > self.capacity && c.map.len() > 1 {
            c.evict();
        }
    }

    /// Marks `id` as no longer needed soon: demoted entries go first, in the
    /// order they were demoted, and beyond an eighth of the capacity they go
    /// at once, so that memory they held is reused rather than the cache
    /// growing to its bound with them.
    pub fn demote(&self, id: &Id) {
        let mut c = self.lock();
        let key = c.demotions;
        if key >= USED {
            return; // 2^62 demotions: the entry stays where it is
        }
        let Some((_, cost, used)) = c.map.get_mut(id) else { return };
        if *used < USED {
            return;
        }
        let (old, cost) = (std::mem::replace(used, key), *cost);
        c.demotions += 1;
        c.demoted_bytes += cost;
        c.order.remove(&old);
        c.order.insert(key, *id);
        while c.demoted_bytes > self.capacity / DEMOTED_SHARE {
            c.evict();
        }
    }

    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_least_recently_used_goes_first() {
        let c: Lru<Vec<u8>> = Lru::new(250);
        for i in 0..10u8 {
            c.insert(Id([i; 32]), Arc::new(vec![0; 100]), 100);
        }
        assert!(c.contains(&Id([9; 32])));
        assert!(!c.contains(&Id([0; 32])));
        assert!(c.bytes() <= 250);
        // A use keeps an entry: 8 was used last, so 9 goes first.
        c.get(&Id([8; 32]));
        c.insert(Id([20; 32]), Arc::new(vec![0; 100]), 100);
        assert!(c.contains(&Id([8; 32])) && !c.contains(&Id([9; 32])));
        // Inserting a present id changes nothing.
        c.insert(Id([20; 32]), Arc::new(vec![0; 100]), 100);
        assert_eq!(c.bytes(), 200);
    }

    #[test]
    fn demoted_entries_go_first_in_demotion_order_and_are_bounded() {
        // Capacity 16 entries; demoted ones are kept up to 2.
        let c: Lru<Vec<u8>> = Lru::new(1600);
        let id = |i: u8| Id([i; 32]);
        for i in 0..16u8 {
            c.insert(id(i), Arc::new(vec![0; 100]), 100);
        }
        // 15 is the newest; demoted, it goes before 0, the oldest, and
        // before 14, demoted after it.
        c.demote(&id(15));
        c.demote(&id(14));
        c.demote(&id(14)); // again: nothing changes
        c.demote(&id(99)); // absent: nothing happens
        c.insert(id(20), Arc::new(vec![0; 100]), 100);
        assert!(!c.contains(&id(15)) && c.contains(&id(14)) && c.contains(&id(0)));
        c.insert(id(21), Arc::new(vec![0; 100]), 100);
        assert!(!c.contains(&id(14)) && c.contains(&id(0)));
        c.insert(id(22), Arc::new(vec![0; 100]), 100);
        assert!(!c.contains(&id(0)));
        assert_eq!(c.bytes(), 1600);
        // A third demoted entry pushes out the first at once, with no
        // insert: the cache shrinks.
        for i in 1..4u8 {
            c.demote(&id(i));
        }
        assert!(!c.contains(&id(1)) && c.contains(&id(2)) && c.contains(&id(3)));
        assert_eq!(c.bytes(), 1500);
        // A use after a demotion makes the entry recent again, and no
        // longer counted as demoted.
        c.get(&id(2));
        c.demote(&id(4));
        c.demote(&id(5));
        assert!(c.contains(&id(2)) && !c.contains(&id(3)) && c.contains(&id(4)) && c.contains(&id(5)));
        for i in 23..25u8 {
            c.insert(id(i), Arc::new(vec![0; 100]), 100); // room for these
        }
        c.insert(id(25), Arc::new(vec![0; 100]), 100);
        assert!(!c.contains(&id(4)) && c.contains(&id(5)));
        c.insert(id(26), Arc::new(vec![0; 100]), 100);
        c.insert(id(27), Arc::new(vec![0; 100]), 100);
        assert!(!c.contains(&id(5)) && !c.contains(&id(6)) && c.contains(&id(2)) && c.contains(&id(7)));
    }
}
