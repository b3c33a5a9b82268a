//! Behavioural tests of the v1 chunker: coverage, feeding independence,
//! resynchronisation after edits, golden boundaries and the size distribution.

use proptest::prelude::*;
use std::collections::HashSet;
use std::io::{self, Read};
use strata_chunker::{Chunker, Params};

/// Deterministic pseudo-random bytes (SplitMix64), independent of any crate.
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn small() -> Chunker {
    Chunker::new(Params::new(2 << 10, 8 << 10, 32 << 10).unwrap())
}

fn slice_bounds(c: &Chunker, data: &[u8]) -> Vec<(usize, usize)> {
    c.chunks(data).map(|(o, d)| (o, d.len())).collect()
}

/// A reader that hands out its data in reads of the given sizes, cycling.
struct Dribble<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = self.sizes[self.turn % self.sizes.len()].max(1);
        self.turn += 1;
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn read_bounds(c: &Chunker, data: &[u8], sizes: Vec<usize>) -> Vec<(usize, usize)> {
    let reader = Dribble { data, sizes, turn: 0 };
    c.read_chunks(reader)
        .map(|r| {
            let ch = r.unwrap();
            (ch.offset as usize, ch.data.len())
        })
        .collect()
}

fn check_cover(c: &Chunker, data: &[u8], bounds: &[(usize, usize)]) {
    let p = c.params();
    let mut next = 0;
    for (i, &(off, len)) in bounds.iter().enumerate() {
        assert_eq!(off, next, "chunks must be contiguous");
        assert!(len > 0, "chunks must be non-empty");
        assert!(len <= p.max(), "chunk {i} of {len} bytes is above max");
        if i + 1 < bounds.len() {
            assert!(len >= p.min(), "chunk {i} of {len} bytes is below min");
        }
        next += len;
    }
    assert_eq!(next, data.len(), "every byte must be emitted exactly once");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_byte_once_and_sizes_in_bounds(seed: u64, len in 0usize..300_000) {
        let data = random_bytes(seed, len);
        let c = small();
        check_cover(&c, &data, &slice_bounds(&c, &data));
    }

    #[test]
    fn boundaries_independent_of_feeding(
        seed: u64,
        len in 0usize..200_000,
        sizes in proptest::collection::vec(1usize..70_000, 1..8),
    ) {
        let data = random_bytes(seed, len);
        let c = small();
        let whole = slice_bounds(&c, &data);
        prop_assert_eq!(&read_bounds(&c, &data, vec![usize::MAX]), &whole);
        prop_assert_eq!(&read_bounds(&c, &data, sizes), &whole);
    }

    #[test]
    fn low_entropy_input_is_covered(byte: u8, run in 0usize..200_000, seed: u64) {
        // Long runs of one byte (zeros in VM images) hit the max-size rule.
        let mut data = vec![byte; run];
        data.extend(random_bytes(seed, 10_000));
        let c = small();
        let bounds = slice_bounds(&c, &data);
        check_cover(&c, &data, &bounds);
        prop_assert_eq!(read_bounds(&c, &data, vec![4096]), bounds);
    }
}

#[test]
fn one_byte_reads_match_whole_slice() {
    let data = random_bytes(7, 400_000);
    let c = small();
    assert_eq!(read_bounds(&c, &data, vec![1]), slice_bounds(&c, &data));
}

#[test]
fn streaming_yields_the_same_bytes() {
    let data = random_bytes(8, 3 << 20);
    let c = small();
    let mut joined = Vec::new();
    for ch in c.read_chunks(&data[..]) {
        joined.extend_from_slice(&ch.unwrap().data);
    }
    assert_eq!(joined, data);
}

#[test]
fn read_errors_are_passed_on() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let mut it = small().read_chunks(Broken);
    let err = it.next().unwrap().unwrap_err();
    assert_eq!(err.to_string(), "disk on fire");
}

/// Fraction of `edited`'s bytes that lie in chunks also present in `original`.
fn shared_fraction(c: &Chunker, original: &[u8], edited: &[u8]) -> f64 {
    let known: HashSet<&[u8]> = c.chunks(original).map(|(_, d)| d).collect();
    let shared: usize = c.chunks(edited).filter(|(_, d)| known.contains(d)).map(|(_, d)| d.len()).sum();
    shared as f64 / edited.len() as f64
}

#[test]
fn boundaries_resynchronise_after_edits() {
    let c = Chunker::default();
    let data = random_bytes(42, 64 << 20);
    let mid = data.len() / 2 + 12_345;
    let noise = random_bytes(99, 100);

    let mut inserted = data.clone();
    inserted.splice(mid..mid, noise.iter().copied());
    let mut overwritten = data.clone();
    overwritten[mid..mid + 100].copy_from_slice(&noise);
    let mut deleted = data.clone();
    deleted.drain(mid..mid + 100);

    for (what, edited) in [("insertion", &inserted), ("overwrite", &overwritten), ("deletion", &deleted)] {
        let f = shared_fraction(&c, &data, edited);
        assert!(f >= 0.95, "{what}: only {:.1}% shared", f * 100.0);
    }
}

#[test]
fn average_size_is_near_target() {
    let c = Chunker::default();
    let data = random_bytes(2026, 256 << 20);
    let n = c.chunks(&data).count();
    let avg = data.len() as f64 / n as f64;
    let target = c.params().avg() as f64;
    let dev = (avg - target).abs() / target;
    assert!(dev <= 0.15, "average {avg:.0} is {:.1}% off {target}", dev * 100.0);
}

/// FROZEN boundaries. If these change, stored repositories no longer
/// deduplicate against new backups: write a new algorithm version instead.
#[test]
fn golden_default_params() {
    let data = random_bytes(1, 8 << 20);
    assert_eq!(slice_bounds(&Chunker::default(), &data), GOLDEN_DEFAULT);
}

#[test]
fn golden_small_params() {
    let data = random_bytes(2, 256 << 10);
    assert_eq!(slice_bounds(&small(), &data), GOLDEN_SMALL);
}

const GOLDEN_DEFAULT: &[(usize, usize)] = &[
    (0, 901570),
    (901570, 801003),
    (1702573, 795713),
    (2498286, 866914),
    (3365200, 978171),
    (4343371, 879613),
    (5222984, 1051302),
    (6274286, 374926),
    (6649212, 886043),
    (7535255, 493637),
    (8028892, 359716),
];
const GOLDEN_SMALL: &[(usize, usize)] = &[
    (0, 7181),
    (7181, 12039),
    (19220, 7727),
    (26947, 9055),
    (36002, 6321),
    (42323, 8023),
    (50346, 7173),
    (57519, 7318),
    (64837, 2090),
    (66927, 6168),
    (73095, 6372),
    (79467, 6744),
    (86211, 7199),
    (93410, 9560),
    (102970, 7830),
    (110800, 8401),
    (119201, 6276),
    (125477, 7059),
    (132536, 7590),
    (140126, 9483),
    (149609, 6744),
    (156353, 8157),
    (164510, 6266),
    (170776, 8860),
    (179636, 8685),
    (188321, 11792),
    (200113, 6568),
    (206681, 9374),
    (216055, 7321),
    (223376, 6577),
    (229953, 9293),
    (239246, 6228),
    (245474, 11684),
    (257158, 4986),
];
