//! A directory's names in byte order, for backup's walker and for restore
//! into an existing directory. Up to `LIMIT` bytes of them are sorted in
//! memory. A larger directory's names are sorted in runs of that size,
//! written to an unlinked temporary file, and merged as they are read, so
//! memory does not grow with a directory's size.

use crate::sys;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::RawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// Bytes of names (with their index) held in memory: 8 MiB is about
/// 300,000 names of 20 bytes.
const LIMIT: usize = 8 << 20;

/// Read buffer of each run being merged.
const RUN_BUFFER: usize = 64 << 10;

/// Names packed into one buffer, each as its u16 length then its bytes.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    starts: Vec<u32>,
}

impl Batch {
    fn push(&mut self, name: &[u8]) -> io::Result<()> {
        let len = u16::try_from(name.len()).map_err(|_| io::Error::other("a name longer than 64 KiB"))?;
        let start = u32::try_from(self.bytes.len()).map_err(|_| io::Error::other("over 4 GiB of names"))?;
        self.starts.push(start);
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(name);
        Ok(())
    }

    fn size(&self) -> usize {
        self.bytes.len() + 4 * self.starts.len()
    }

    fn sort(&mut self) {
        let bytes = &self.bytes;
        self.starts.sort_unstable_by(|&a, &b| name_at(bytes, a).cmp(name_at(bytes, b)));
    }

    /// The name at `start` with its length prefix, as it is spilled.
    fn record(&self, start: u32) -> &[u8] {
        let at = start as usize;
        &self.bytes[at..at + 2 + name_at(&self.bytes, start).len()]
    }
}

fn name_at(bytes: &[u8], start: u32) -> &[u8] {
    let at = start as usize;
    let len = u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    &bytes[at + 2..at + 2 + len]
}

/// A sorted run in the temporary file, read a buffer at a time.
struct Run {
    at: u64,
    end: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Run {
    fn next(&mut self, file: &File) -> io::Result<Option<Vec<u8>>> {
        let Some(len) = self.take(file, 2)? else { return Ok(None) };
        let len = u16::from_le_bytes([len[0], len[1]]) as usize;
        self.take(file, len)?.map(Some).ok_or_else(|| io::Error::other("temporary file of names cut short"))
    }

    fn take(&mut self, file: &File, n: usize) -> io::Result<Option<Vec<u8>>> {
        if self.buf.len() - self.pos < n {
            let left = self.buf.len() - self.pos;
            if left == 0 && self.at == self.end {
                return Ok(None);
            }
            self.buf.drain(..self.pos);
            self.pos = 0;
            let want = (RUN_BUFFER.max(n) - left).min((self.end - self.at) as usize);
            self.buf.resize(left + want, 0);
            file.read_exact_at(&mut self.buf[left..], self.at)?;
            self.at += want as u64;
            if self.buf.len() < n {
                return Err(io::Error::other("temporary file of names cut short"));
            }
        }
        self.pos += n;
        Ok(Some(self.buf[self.pos - n..self.pos].to_vec()))
    }
}

/// A directory's names, sorted; an iterator that yields each once.
pub struct SortedNames(Source);

enum Source {
    Memory { batch: Batch, next: usize },
    Merge { file: File, runs: Vec<Run>, heap: BinaryHeap<Reverse<(Vec<u8>, usize)>> },
}

impl SortedNames {
    /// Lists the open directory `dir`; runs of more than `LIMIT` bytes of
    /// names go to a temporary file in `$TMPDIR`.
    pub fn read(dir: RawFd) -> io::Result<SortedNames> {
        SortedNames::read_in(dir, LIMIT, &std::env::temp_dir())
    }

    fn read_in(dir: RawFd, limit: usize, tmp: &Path) -> io::Result<SortedNames> {
        let mut batch = Batch::default();
        let mut spill: Option<(File, Vec<Run>)> = None;
        sys::for_each_dir_name(dir, |name| {
            batch.push(name)?;
            if batch.size() >= limit {
                let (file, runs) = match &mut spill {
                    Some(s) => s,
                    None => spill.insert((temp_file(tmp)?, Vec::new())),
                };
                runs.push(write_run(file, &mut batch, runs.last().map_or(0, |r| r.end))?);
            }
            Ok(())
        })?;
        let Some((file, mut runs)) = spill else {
            batch.sort();
            return Ok(SortedNames(Source::Memory { batch, next: 0 }));
        };
        if !batch.starts.is_empty() {
            let end = runs.last().map_or(0, |r| r.end);
            runs.push(write_run(&file, &mut batch, end)?);
        }
        let mut heap = BinaryHeap::new();
        for (i, run) in runs.iter_mut().enumerate() {
            if let Some(name) = run.next(&file)? {
                heap.push(Reverse((name, i)));
            }
        }
        Ok(SortedNames(Source::Merge { file, runs, heap }))
    }
}

impl Iterator for SortedNames {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<io::Result<Vec<u8>>> {
        match &mut self.0 {
            Source::Memory { batch, next } => {
                let start = *batch.starts.get(*next)?;
                *next += 1;
                Some(Ok(name_at(&batch.bytes, start).to_vec()))
            }
            Source::Merge { file, runs, heap } => {
                let Reverse((name, i)) = heap.pop()?;
                match runs[i].next(file) {
                    Ok(Some(next)) => heap.push(Reverse((next, i))),
                    Ok(None) => {}
                    Err(e) => {
                        heap.clear();
                        return Some(Err(e));
                    }
                }
                Some(Ok(name))
            }
        }
    }
}

/// Sorts `batch`, appends it to `file` at `at` and empties it.
fn write_run(mut file: &File, batch: &mut Batch, at: u64) -> io::Result<Run> {
    batch.sort();
    let mut out = io::BufWriter::with_capacity(RUN_BUFFER, &mut file);
    for &start in &batch.starts {
        out.write_all(batch.record(start))?;
    }
    out.flush()?;
    drop(out);
    let end = at + batch.bytes.len() as u64;
    batch.bytes.clear();
    batch.starts.clear();
    Ok(Run { at, end, buf: Vec::new(), pos: 0 })
}

/// An unlinked file, its owner's alone, in `dir`.
fn temp_file(dir: &Path) -> io::Result<File> {
    let open = |flags, path: &Path| {
        std::fs::OpenOptions::new().read(true).write(true).mode(0o600).custom_flags(flags).open(path)
    };
    let err = match open(libc::O_TMPFILE, dir) {
        Ok(f) => return Ok(f),
        Err(e) => e,
    };
    // Filesystems without O_TMPFILE: a new name, unlinked at once.
    if !matches!(err.raw_os_error(), Some(libc::EOPNOTSUPP) | Some(libc::EISDIR)) {
        return Err(io::Error::new(err.kind(), format!("temporary file in {}: {err}", dir.display())));
    }
    let mut rnd = [0u8; 8];
    getrandom::getrandom(&mut rnd).map_err(|e| io::Error::other(e.to_string()))?;
    let path = dir.join(format!(".strata-names-{}", u64::from_le_bytes(rnd)));
    let f = open(libc::O_EXCL | libc::O_CREAT, &path)
        .map_err(|e| io::Error::new(e.kind(), format!("temporary file {}: {e}", path.display())))?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;

    fn names_in(dir: &Path, limit: usize) -> Vec<Vec<u8>> {
        let fd = sys::open_dir(dir).unwrap();
        let tmp = std::env::temp_dir();
        SortedNames::read_in(fd.as_raw_fd(), limit, &tmp).unwrap().map(|n| n.unwrap()).collect()
    }

    #[test]
    fn names_come_sorted_from_memory_and_from_spilled_runs() {
        let dir = std::env::temp_dir().join(format!("strata-names-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut want = Vec::new();
        for i in 0..3000u32 {
            // Lengths from 3 to 246, bytes that are not UTF-8, a shared prefix.
            let mut name = format!("n{}", i.wrapping_mul(2654435761) % 100_000).into_bytes();
            name.extend(std::iter::repeat_n(b'x', (i % 240) as usize));
            name.push(0x80 + (i % 100) as u8);
            std::fs::write(dir.join(std::ffi::OsStr::from_bytes(&name)), b"").unwrap();
            want.push(name);
        }
        want.sort();
        want.dedup();
        let fd = sys::open_dir(&dir).unwrap();
        let tmp = std::env::temp_dir();
        assert!(matches!(SortedNames::read_in(fd.as_raw_fd(), 4096, &tmp).unwrap().0, Source::Merge { .. }));
        assert!(matches!(SortedNames::read_in(fd.as_raw_fd(), LIMIT, &tmp).unwrap().0, Source::Memory { .. }));
        // In memory, in runs of about 30 names, in runs of one name.
        for limit in [LIMIT, 4096, 1] {
            assert_eq!(names_in(&dir, limit), want, "limit {limit}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_temporary_directory_is_named() {
        let dir = std::env::temp_dir().join(format!("strata-names-test2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a"), b"").unwrap();
        std::fs::write(dir.join("b"), b"").unwrap();
        let fd = sys::open_dir(&dir).unwrap();
        let err = SortedNames::read_in(fd.as_raw_fd(), 1, Path::new("/nonexistent/tmp")).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/tmp"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
