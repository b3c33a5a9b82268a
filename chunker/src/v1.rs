//! Chunking algorithm version 1: a FastCDC-style gear hash with normalized
//! chunking. FROZEN: stored repositories depend on these exact cut points.
//! Do not change the gear table, the masks or the cut rule; write `v2` instead.
//!
//! The cut rule, for a chunk starting at the beginning of `data`:
//!
//! * the first `min` bytes are never a cut point and are not hashed;
//! * from `min` on, the rolling hash is `h = (h << 1) + GEAR[byte]` (wrapping),
//!   starting from `h = 0`; its top bits depend on the last 64 bytes only;
//! * a cut is made after the byte at which the top `bits + 2` bits of `h` are
//!   all zero (the strict mask, cut probability `1 / (4 * avg)`) while the
//!   chunk is shorter than the switch point, and where the top `bits - 2` bits
//!   are zero (the loose mask, probability `4 / avg`) after it, `bits` being
//!   `log2(avg)` ("normalization level 2" of the FastCDC paper);
//! * the switch point is `max(min, avg - avg / 4)`: past it the loose mask
//!   cuts after `avg / 4` bytes on average, which centres sizes on `avg`;
//! * a chunk that reaches `max` bytes is cut there; the last chunk of the
//!   input may be shorter than `min`.
//!
//! A cut depends on at most `max` bytes from the chunk start, so a caller that
//! always offers `max` bytes (or all that is left) gets the same boundaries
//! however the input arrives.

use std::fmt;
use std::io::{self, Read};

/// Largest `max` accepted: a chunk is held whole in memory on every path.
pub const MAX_LIMIT: usize = 16 << 20;
/// Smallest `avg` accepted: the loose mask needs `log2(avg) - 2 >= 6` bits.
pub const AVG_LOWER_LIMIT: usize = 256;
/// Smallest `min` accepted.
pub const MIN_LOWER_LIMIT: usize = 64;

/// The gear table: 256 pseudo-random 64-bit words, FROZEN.
///
/// Derived with SplitMix64 (Steele, Lea, Flood 2014) seeded with the ASCII
/// bytes of "stratav1" read as a big-endian u64 (0x7374_7261_7461_7631):
/// entry `i` is the `i+1`-th output. Kept as a `const fn` so the derivation is
/// the code; `tests::gear_table_is_frozen` pins its values.
pub const GEAR: [u64; 256] = gear_table(0x7374_7261_7461_7631);

const fn gear_table(seed: u64) -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut state = seed;
    let mut i = 0;
    while i < 256 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        table[i] = z ^ (z >> 31);
        i += 1;
    }
    table
}

/// Chunk size limits, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    min: usize,
    avg: usize,
    max: usize,
}

/// Why a set of chunk sizes was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamsError {
    AvgNotPowerOfTwo(usize),
    AvgTooSmall(usize),
    MinTooSmall(usize),
    MinNotBelowAvg { min: usize, avg: usize },
    MaxBelowAvg { avg: usize, max: usize },
    MaxTooLarge(usize),
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AvgNotPowerOfTwo(avg) => {
                write!(f, "average chunk size {avg} is not a power of two")
            }
            Self::AvgTooSmall(avg) => {
                write!(f, "average chunk size {avg} is below the smallest allowed, {AVG_LOWER_LIMIT}")
            }
            Self::MinTooSmall(min) => {
                write!(f, "minimum chunk size {min} is below the smallest allowed, {MIN_LOWER_LIMIT}")
            }
            Self::MinNotBelowAvg { min, avg } => {
                write!(f, "minimum chunk size {min} must be below the average chunk size {avg}")
            }
            Self::MaxBelowAvg { avg, max } => {
                write!(f, "maximum chunk size {max} must not be below the average chunk size {avg}")
            }
            Self::MaxTooLarge(max) => write!(f, "maximum chunk size {max} is above the largest allowed, {MAX_LIMIT}"),
        }
    }
}

impl std::error::Error for ParamsError {}

impl Params {
    /// The defaults: min 256 KiB, avg 1 MiB, max 4 MiB.
    pub const DEFAULT: Params = Params { min: 256 << 10, avg: 1 << 20, max: 4 << 20 };

    pub fn new(min: usize, avg: usize, max: usize) -> Result<Params, ParamsError> {
        if !avg.is_power_of_two() {
            return Err(ParamsError::AvgNotPowerOfTwo(avg));
        }
        if avg < AVG_LOWER_LIMIT {
            return Err(ParamsError::AvgTooSmall(avg));
        }
        if min < MIN_LOWER_LIMIT {
            return Err(ParamsError::MinTooSmall(min));
        }
        if min >= avg {
            return Err(ParamsError::MinNotBelowAvg { min, avg });
        }
        if max < avg {
            return Err(ParamsError::MaxBelowAvg { avg, max });
        }
        if max > MAX_LIMIT {
            return Err(ParamsError::MaxTooLarge(max));
        }
        Ok(Params { min, avg, max })
    }

    pub fn min(&self) -> usize {
        self.min
    }
    pub fn avg(&self) -> usize {
        self.avg
    }
    pub fn max(&self) -> usize {
        self.max
    }
}

impl Default for Params {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The sans-IO chunker: finds cut points in slices.
#[derive(Clone, Copy, Debug)]
pub struct Chunker {
    params: Params,
    switch: usize,
    mask_strict: u64,
    mask_loose: u64,
}

/// A mask selecting the top `bits` bits of a u64.
const fn top_bits(bits: u32) -> u64 {
    !0u64 << (64 - bits)
}

impl Chunker {
    pub fn new(params: Params) -> Chunker {
        let bits = params.avg.trailing_zeros();
        Chunker {
            params,
            switch: params.min.max(params.avg - params.avg / 4),
            mask_strict: top_bits(bits + 2),
            mask_loose: top_bits(bits - 2),
        }
    }

    pub fn params(&self) -> Params {
        self.params
    }

    /// The length of the chunk that starts at `data[0]`, or `None` when more
    /// input is needed to decide. `eof` says that `data` holds all that is
    /// left of the input. Never returns `Some(0)` unless `data` is empty at EOF.
    pub fn cut(&self, data: &[u8], eof: bool) -> Option<usize> {
        let Params { min, max, .. } = self.params;
        if data.len() <= min {
            return eof.then_some(data.len());
        }
        let end = data.len().min(max);
        let switch = self.switch.min(end);
        let mut hash = 0u64;
        // Iterating slices, not indexing, keeps bounds checks out of the loop.
        for (i, &b) in data[min..switch].iter().enumerate() {
            hash = (hash << 1).wrapping_add(GEAR[b as usize]);
            if hash & self.mask_strict == 0 {
                return Some(min + i + 1);
            }
        }
        for (i, &b) in data[switch..end].iter().enumerate() {
            hash = (hash << 1).wrapping_add(GEAR[b as usize]);
            if hash & self.mask_loose == 0 {
                return Some(switch + i + 1);
            }
        }
        if end == max || eof {
            Some(end)
        } else {
            None
        }
    }

    /// Chunks of a slice held whole in memory.
    pub fn chunks<'a>(&self, data: &'a [u8]) -> SliceChunks<'a> {
        SliceChunks { chunker: *self, data, offset: 0 }
    }

    /// Chunks of a stream, as owned buffers. Holds at most `2 * max` bytes.
    pub fn read_chunks<R: Read>(&self, reader: R) -> ReadChunks<R> {
        ReadChunks { chunker: *self, reader, buf: Vec::new(), start: 0, end: 0, offset: 0, eof: false }
    }
}

impl Default for Chunker {
    fn default() -> Self {
        Chunker::new(Params::DEFAULT)
    }
}

/// Iterator over `(offset, chunk)` pairs of a slice.
pub struct SliceChunks<'a> {
    chunker: Chunker,
    data: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for SliceChunks<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.data[self.offset..];
        if rest.is_empty() {
            return None;
        }
        // With the whole remainder offered at EOF, `cut` always decides.
        let len = self.chunker.cut(rest, true).unwrap_or(rest.len());
        let offset = self.offset;
        self.offset += len;
        Some((offset, &rest[..len]))
    }
}

/// An owned chunk from a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Position of the chunk's first byte in the stream.
    pub offset: u64,
    pub data: Vec<u8>,
}

/// Iterator over the chunks of a `Read`, with bounded memory.
pub struct ReadChunks<R> {
    chunker: Chunker,
    reader: R,
    /// Pending input is `buf[start..end]`. Allocated zeroed once, at
    /// `2 * max` bytes (the OS hands out zero pages lazily).
    buf: Vec<u8>,
    start: usize,
    end: usize,
    offset: u64,
    eof: bool,
}

impl<R: Read> ReadChunks<R> {
    /// Reads until `max` bytes are pending or the input ends.
    fn fill(&mut self) -> io::Result<()> {
        let max = self.chunker.params.max;
        if self.buf.is_empty() {
            self.buf = vec![0; 2 * max];
        }
        while !self.eof && self.end - self.start < max {
            if self.end == self.buf.len() {
                // Compact: moves under `max` bytes, at most once per `max` consumed.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl<R: Read> Iterator for ReadChunks<R> {
    type Item = io::Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.fill() {
            return Some(Err(e));
        }
        let pending = &self.buf[self.start..self.end];
        if pending.is_empty() {
            return None;
        }
        // `fill` offers `max` bytes or all that is left, so `cut` decides.
        let len = self.chunker.cut(pending, self.eof).unwrap_or(pending.len());
        let chunk = Chunk { offset: self.offset, data: pending[..len].to_vec() };
        self.start += len;
        self.offset += len as u64;
        Some(Ok(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gear_table_is_frozen() {
        // Pinned values: if this fails, every stored repository breaks.
        let sum = GEAR.iter().fold(0u64, |a, &g| a.wrapping_add(g));
        let xor = GEAR.iter().fold(0u64, |a, &g| a ^ g);
        assert_eq!((GEAR[0], GEAR[255], sum, xor), (GEAR_0, GEAR_255, GEAR_SUM, GEAR_XOR));
    }

    const GEAR_0: u64 = 13845847078311019635;
    const GEAR_255: u64 = 15366304543724603646;
    const GEAR_SUM: u64 = 32330392835006570;
    const GEAR_XOR: u64 = 2656087052691459370;

    #[test]
    fn params_are_validated() {
        assert_eq!(Params::new(256, 1000, 4096), Err(ParamsError::AvgNotPowerOfTwo(1000)));
        assert_eq!(Params::new(64, 128, 4096), Err(ParamsError::AvgTooSmall(128)));
        assert_eq!(Params::new(32, 1024, 4096), Err(ParamsError::MinTooSmall(32)));
        assert_eq!(Params::new(1024, 1024, 4096), Err(ParamsError::MinNotBelowAvg { min: 1024, avg: 1024 }));
        assert_eq!(Params::new(256, 1024, 512), Err(ParamsError::MaxBelowAvg { avg: 1024, max: 512 }));
        assert_eq!(Params::new(256 << 10, 1 << 20, 32 << 20), Err(ParamsError::MaxTooLarge(32 << 20)));
        assert_eq!(Params::new(256 << 10, 1 << 20, 4 << 20), Ok(Params::DEFAULT));
        let e = Params::new(256, 1000, 4096).unwrap_err().to_string();
        assert!(e.contains("1000") && e.contains("power of two"), "{e}");
    }

    #[test]
    fn short_input_needs_eof() {
        let c = Chunker::new(Params::new(64, 256, 1024).unwrap());
        assert_eq!(c.cut(&[], true), Some(0));
        assert_eq!(c.cut(&[1; 10], false), None);
        assert_eq!(c.cut(&[1; 10], true), Some(10));
        // Constant input never matches a mask: cut at max.
        assert_eq!(c.cut(&[0; 5000], false), Some(1024));
        assert_eq!(c.cut(&[0; 1000], false), None);
        assert_eq!(c.cut(&[0; 1000], true), Some(1000));
    }
}
