//! Random-access reads of a stored file's content, shared by restore, dump
//! and the mount: the pieces' cumulative end offsets are binary-searched, so
//! a read at any offset costs O(log n), and decoded chunks are kept in a
//! bounded cache so neighbouring reads do not decode a chunk twice.

use crate::cache::Lru;
use crate::crypto::Id;
use crate::error::Result;
use crate::format::tree::{Content, Entry, Piece};
use crate::repo::Repo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A file's pieces with their end offsets.
#[derive(Clone, Debug, Default)]
pub struct FileMap {
    pieces: Vec<Piece>,
    ends: Vec<u64>,
}

impl FileMap {
    pub fn new(pieces: Vec<Piece>) -> FileMap {
        let mut end = 0;
        let ends = pieces
            .iter()
            .map(|p| {
                end += p.len();
                end
            })
            .collect();
        FileMap { pieces, ends }
    }

    pub fn load(repo: &Repo, entry: &Entry) -> Result<FileMap> {
        Ok(FileMap::new(match &entry.content {
            Content::Inline(p) => p.clone(),
            Content::List { id, .. } => repo.chunk_list(id)?,
        }))
    }

    pub fn size(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Index and start offset of the piece holding `offset`.
    pub fn find(&self, offset: u64) -> Option<(usize, u64)> {
        let i = self.ends.partition_point(|&e| e <= offset);
        (i < self.pieces.len()).then(|| (i, if i == 0 { 0 } else { self.ends[i - 1] }))
    }

    /// Bytes actually stored (holes excluded), for `st_blocks`.
    pub fn data_bytes(&self) -> u64 {
        self.pieces.iter().filter(|p| matches!(p, Piece::Data { .. })).map(|p| p.len()).sum()
    }

    /// The next offset at or after `offset` that is data (`want_data`) or a
    /// hole; the end of the file counts as a hole, as for lseek.
    pub fn seek(&self, offset: u64, want_data: bool) -> Option<u64> {
        if offset >= self.size() {
            return None;
        }
        let (mut i, mut start) = self.find(offset)?;
        let mut at = offset;
        loop {
            if i == self.pieces.len() {
                return (!want_data).then_some(self.size());
            }
            if matches!(self.pieces[i], Piece::Data { .. }) == want_data {
                return Some(at.max(start));
            }
            start = self.ends[i];
            at = start;
            i += 1;
        }
    }
}

/// File data read: a slice of one decoded chunk, shared with the chunk
/// cache (no copy), or bytes put together from several pieces.
#[derive(Debug)]
pub enum Data {
    Shared(Arc<Vec<u8>>, std::ops::Range<usize>),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Data::Shared(chunk, range) => &chunk[range.clone()],
            Data::Owned(v) => v,
        }
    }
}

/// Decoded chunks, bounded in bytes.
pub type ChunkCache = Lru<Vec<u8>>;

/// What holding a chunk costs beyond its bytes: its slots in the cache's
/// map and order, its `Arc` and the smallest allocation. Counted, so that a
/// cache of tiny chunks is bounded too: restoring 600,000 files of 2 bytes
/// grew by about 400 bytes a file (259 MiB) when only the data counted.
pub const CHUNK_OVERHEAD: usize = 256;

type Loading = Arc<OnceLock<std::result::Result<Arc<Vec<u8>>, String>>>;

/// Reads file content through a chunk cache. Concurrent readers of one
/// chunk (the kernel sends several reads into the same chunk at once) wait
/// for a single decode instead of each decoding it.
pub struct Reader {
    pub cache: ChunkCache,
    loading: Mutex<HashMap<Id, Loading>>,
}

impl Reader {
    pub fn new(cache_bytes: usize) -> Reader {
        Reader { cache: Lru::new(cache_bytes), loading: Mutex::new(HashMap::new()) }
    }

    /// Whether the chunk is decoded or being decoded: no need to ask again.
    pub fn has_or_loading(&self, id: &Id) -> bool {
        self.cache.contains(id) || self.loading.lock().unwrap_or_else(|e| e.into_inner()).contains_key(id)
    }

    pub fn chunk(&self, repo: &Repo, id: &Id) -> Result<Arc<Vec<u8>>> {
        if let Some(d) = self.cache.get(id) {
            return Ok(d);
        }
        let cell = self.loading.lock().unwrap_or_else(|e| e.into_inner()).entry(*id).or_default().clone();
        let result = cell
            .get_or_init(|| {
                let r = repo.chunk(id).map(Arc::new);
                if let Ok(d) = &r {
                    self.cache.insert(*id, d.clone(), d.capacity() + CHUNK_OVERHEAD);
                }
                r.map_err(|e| e.to_string())
            })
            .clone();
        self.loading.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
        // (The message names the chunk already.)
        result.map_err(crate::error::Error::Invalid)
    }

    /// As `read`, but a read within one chunk is not copied.
    pub fn read_data(&self, repo: &Repo, map: &FileMap, offset: u64, size: usize) -> Result<Data> {
        let end = map.size().min(offset.saturating_add(size as u64));
        if let Some((i, start)) = map.find(offset) {
            if let Piece::Data { id, len } = map.pieces[i] {
                if end <= start + u64::from(len) {
                    let data = self.chunk(repo, &id)?;
                    let range = (offset - start) as usize..(end - start) as usize;
                    if range.end > data.len() {
                        return Err(short_chunk(&id));
                    }
                    return Ok(Data::Shared(data, range));
                }
            }
        }
        self.read(repo, map, offset, size).map(Data::Owned)
    }

    /// Up to `size` bytes at `offset`; short only at the end of the file.
    /// On a failed chunk, the error names the chunk.
    pub fn read(&self, repo: &Repo, map: &FileMap, offset: u64, size: usize) -> Result<Vec<u8>> {
        let end = map.size().min(offset.saturating_add(size as u64));
        let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
        let mut at = offset;
        while at < end {
            let Some((i, start)) = map.find(at) else {
                break;
            };
            let piece = map.pieces[i];
            let within = (at - start) as usize;
            let take = ((start + piece.len()).min(end) - at) as usize;
            match piece {
                Piece::Hole { .. } => out.resize(out.len() + take, 0),
                Piece::Data { id, .. } => {
                    let data = self.chunk(repo, &id)?;
                    let slice = data.get(within..within + take).ok_or_else(|| short_chunk(&id))?;
                    out.extend_from_slice(slice);
                }
            }
            at += take as u64;
        }
        Ok(out)
    }
}

fn short_chunk(id: &Id) -> crate::error::Error {
    crate::error::Error::corrupt(format!("chunk {id}"), "shorter than its recorded length")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> FileMap {
        FileMap::new(vec![
            Piece::Data { id: Id([1; 32]), len: 10 },
            Piece::Hole { len: 100 },
            Piece::Data { id: Id([2; 32]), len: 5 },
            Piece::Hole { len: 7 },
        ])
    }

    #[test]
    fn find_by_binary_search() {
        let m = map();
        assert_eq!(m.size(), 122);
        assert_eq!(m.find(0), Some((0, 0)));
        assert_eq!(m.find(9), Some((0, 0)));
        assert_eq!(m.find(10), Some((1, 10)));
        assert_eq!(m.find(110), Some((2, 110)));
        assert_eq!(m.find(121), Some((3, 115)));
        assert_eq!(m.find(122), None);
        assert_eq!(m.data_bytes(), 15);
    }

    #[test]
    fn seek_data_and_hole() {
        let m = map();
        assert_eq!(m.seek(0, true), Some(0));
        assert_eq!(m.seek(0, false), Some(10));
        assert_eq!(m.seek(10, true), Some(110));
        assert_eq!(m.seek(112, true), Some(112));
        assert_eq!(m.seek(112, false), Some(115));
        assert_eq!(m.seek(116, true), None);
        assert_eq!(m.seek(116, false), Some(116));
        assert_eq!(m.seek(122, false), None);
    }
}
