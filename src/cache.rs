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

struct Inner<V> {
    map: HashMap<Id, (Arc<V>, usize, u64)>,
    order: BTreeMap<u64, Id>,
    bytes: usize,
    tick: u64,
}

impl<V> Inner<V> {
    /// Marks `id` as used now.
    fn touch(&mut self, id: &Id) -> Option<Arc<V>> {
        self.tick += 1;
        let tick = self.tick;
        let (value, _, used) = self.map.get_mut(id)?;
        self.order.remove(used);
        *used = tick;
        self.order.insert(tick, *id);
        Some(value.clone())
    }
}

impl<V> Lru<V> {
    pub fn new(capacity: usize) -> Lru<V> {
        // Uses count up from the middle of the range; demotions count down.
        let tick = 1 << 62;
        Lru { inner: Mutex::new(Inner { map: HashMap::new(), order: BTreeMap::new(), bytes: 0, tick }), capacity }
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
            let Some((_, victim)) = c.order.pop_first() else { break };
            if let Some((_, cost, _)) = c.map.remove(&victim) {
                c.bytes -= cost;
            }
        }
    }

    /// Makes `id` the first to go when room is needed.
    pub fn demote(&self, id: &Id) {
        let mut c = self.lock();
        let first = c.order.first_key_value().map_or(0, |(&k, _)| k);
        if first == 0 {
            return; // 2^62 demotions: keep keys unique rather than order exact
        }
        let Some((_, _, used)) = c.map.get_mut(id) else { return };
        let old = std::mem::replace(used, first - 1);
        let new = *used;
        c.order.remove(&old);
        c.order.insert(new, *id);
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
    fn demoted_entries_go_first_in_demotion_order() {
        let c: Lru<Vec<u8>> = Lru::new(400);
        for i in 0..4u8 {
            c.insert(Id([i; 32]), Arc::new(vec![0; 100]), 100);
        }
        // 3 is the newest; demoted, it goes before 0, the oldest. The last
        // demoted goes first.
        c.demote(&Id([3; 32]));
        c.demote(&Id([2; 32]));
        c.demote(&Id([9; 32])); // absent: nothing happens
        c.insert(Id([10; 32]), Arc::new(vec![0; 100]), 100);
        assert!(!c.contains(&Id([2; 32])) && c.contains(&Id([3; 32])));
        c.insert(Id([11; 32]), Arc::new(vec![0; 100]), 100);
        assert!(!c.contains(&Id([3; 32])) && c.contains(&Id([0; 32])));
        c.insert(Id([12; 32]), Arc::new(vec![0; 100]), 100);
        assert!(!c.contains(&Id([0; 32])));
        // A use after a demotion makes the entry recent again.
        c.demote(&Id([1; 32]));
        c.get(&Id([1; 32]));
        c.insert(Id([13; 32]), Arc::new(vec![0; 100]), 100);
        assert!(c.contains(&Id([1; 32])) && !c.contains(&Id([10; 32])));
        assert_eq!(c.bytes(), 400);
    }
}
