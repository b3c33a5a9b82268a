//! A Bloom filter over record ids, for prune's mark phase: memory bounded
//! by the number of records (10 bits each, about 1 % false positives), not
//! by their ids. A false positive only keeps a garbage record until a
//! later prune; each filter takes a fresh random seed, so the same garbage
//! record is not kept by every run.

use crate::crypto::Id;

pub struct Bloom {
    bits: Vec<u64>,
    /// Number of bits, a multiple of 64.
    m: u64,
    seed: [u64; 2],
}

/// Hash functions per id: optimal for 10 bits an element.
const K: u64 = 7;
const BITS_PER_ITEM: u64 = 10;

fn mix(mut z: u64) -> u64 {
    // splitmix64's finaliser: a bijection that spreads every input bit.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Bloom {
    /// A filter for about `items` ids.
    pub fn new(items: u64) -> Bloom {
        let words = (items.max(1024) * BITS_PER_ITEM).div_ceil(64);
        let seed: [u8; 16] = crate::crypto::random_bytes();
        Bloom {
            bits: vec![0; words as usize],
            m: words * 64,
            seed: [
                u64::from_le_bytes(seed[..8].try_into().expect("8 bytes")),
                u64::from_le_bytes(seed[8..].try_into().expect("8 bytes")),
            ],
        }
    }

    fn positions(&self, id: &Id) -> impl Iterator<Item = u64> + '_ {
        let word = |i: usize| u64::from_le_bytes(id.0[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let h1 = mix(word(0) ^ word(2) ^ self.seed[0]);
        let h2 = mix(word(1) ^ word(3) ^ self.seed[1]) | 1;
        (0..K).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % self.m)
    }

    pub fn insert(&mut self, id: &Id) {
        let pos: Vec<u64> = self.positions(id).collect();
        for p in pos {
            self.bits[(p / 64) as usize] |= 1 << (p % 64);
        }
    }

    /// `false` means certainly not inserted; `true`, probably inserted.
    pub fn contains(&self, id: &Id) -> bool {
        self.positions(id).all(|p| self.bits[(p / 64) as usize] & (1 << (p % 64)) != 0)
    }

    /// Bytes of memory the filter holds.
    pub fn bytes(&self) -> usize {
        self.bits.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u64) -> Id {
        Id(*blake3::hash(&i.to_le_bytes()).as_bytes())
    }

    #[test]
    fn no_false_negatives_and_about_one_percent_false_positives() {
        let mut b = Bloom::new(100_000);
        for i in 0..100_000 {
            b.insert(&id(i));
        }
        assert!((0..100_000).all(|i| b.contains(&id(i))));
        let fp = (100_000..200_000).filter(|&i| b.contains(&id(i))).count();
        assert!(fp < 2_000, "{fp} false positives in 100000");
        assert_eq!(b.bytes(), 125_000);
    }

    #[test]
    fn each_filter_has_its_own_false_positives() {
        // With fresh seeds, an id that is a false positive in one filter is
        // almost never one in the next.
        let fill = || {
            let mut b = Bloom::new(1_000);
            (0..1_000).for_each(|i| b.insert(&id(i)));
            b
        };
        let (a, b) = (fill(), fill());
        let both = (10_000..60_000).filter(|&i| a.contains(&id(i)) && b.contains(&id(i))).count();
        let only_a = (10_000..60_000).filter(|&i| a.contains(&id(i))).count();
        assert!(only_a > 100 && both * 20 < only_a, "{both} of {only_a}");
    }
}
