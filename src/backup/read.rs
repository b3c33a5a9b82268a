//! The file readers: a few threads that read opened files (data extents
//! only: holes are recorded, not read), chunk them and feed the pipeline.
//! Several files are read at once, so a cold disk's latency overlaps the
//! sealing of what was already read.

use super::pipeline::{FileSlot, Outbox, Pipeline, Progress};
use super::walk::{ctime, mtime, path_bytes};
use crate::error::Error;
use crate::format::tree::{Piece, HASH_HOLES_MAX};
use crate::sys;
use crossbeam_channel::Receiver;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// Threads reading files at once: enough to keep a cold disk busy with
/// small files (A/B on the bench corpus, cold, 5 runs: 3 readers 7.47 s,
/// 6 readers 7.06 s mean; 12 were no faster and used more memory).
pub const READERS: usize = 6;

/// Times a file that changed while read is read again before it is stored
/// as read and reported (a log appended to, a file rewritten now and then,
/// is most often still on the next read); only files of at most
/// `REREAD_MAX` bytes, whose reads are short.
const REREADS: u32 = 2;
const REREAD_MAX: u64 = 64 << 20;

pub struct ReadJob {
    pub fd: OwnedFd,
    /// The file's stat when opened, to notice changes during the read.
    pub before: libc::stat,
    pub path: PathBuf,
    pub slot: Arc<FileSlot>,
}

pub struct Readers<'a> {
    pub pipeline: &'a Pipeline,
    pub progress: &'a Progress,
    pub chunker: strata_chunker::Chunker,
    pub warn: &'a (dyn Fn(&str) + Sync),
    /// Files stored but changed while read: kept, and listed in the snapshot.
    pub changed: &'a Mutex<Vec<(Vec<u8>, String)>>,
}

impl Readers<'_> {
    pub fn run(&self, jobs: Receiver<ReadJob>) {
        let mut outbox = self.pipeline.outbox();
        while let Some(job) = super::pipeline::next(&jobs, &mut outbox) {
            self.read(job, &mut outbox);
        }
    }

    fn read(&self, job: ReadJob, outbox: &mut Outbox) {
        let ReadJob { fd, mut before, path, slot } = job;
        let mut reread = 0;
        loop {
            let mut hash = ContentHash::default();
            if let Err(e) = self.read_once(&fd, &before, &slot, &mut hash, outbox) {
                slot.fail(format!("reading: {e}"));
                return slot.seal(hash.finish());
            }
            let after = sys::fstat(fd.as_raw_fd());
            let changed = after.as_ref().map_or(true, |a| {
                a.st_size != before.st_size || mtime(a) != mtime(&before) || ctime(a) != ctime(&before)
            });
            if let (true, Ok(a)) = (changed, &after) {
                // Read again what is read fast: once it holds still, it
                // is stored as it then is, with the times it then has.
                let small = (before.st_size.max(a.st_size) as u64) <= REREAD_MAX;
                if reread < REREADS && small && slot.restart() {
                    reread += 1;
                    before = *a;
                    slot.set_times(mtime(a), ctime(a));
                    continue;
                }
            }
            if changed {
                let why = "changed while being read; the stored copy may be inconsistent";
                (self.warn)(&format!("{}: {why}", path.display()));
                self.progress.errors.fetch_add(1, Ordering::Relaxed);
                self.changed.lock().unwrap_or_else(|e| e.into_inner()).push((path_bytes(&path), why.into()));
            }
            return slot.seal(hash.finish());
        }
    }

    /// Reads the file's bytes (as of its stat `before`) into the slot,
    /// holes as holes; stops early, without error, should it end sooner.
    fn read_once(
        &self,
        fd: &OwnedFd,
        before: &libc::stat,
        slot: &Arc<FileSlot>,
        hash: &mut ContentHash,
        outbox: &mut Outbox,
    ) -> io::Result<()> {
        let size = before.st_size as u64;
        // A file with all its blocks allocated has no hole to look for
        // (most files: two lseeks saved). Blocks preallocated past the
        // end could hide a hole: it is then read, and stored, as zeros.
        let extents = if size > 0 && (before.st_blocks as u64).saturating_mul(512) >= size {
            vec![(0, size)]
        } else {
            sys::data_extents(fd.as_raw_fd(), size)?
        };
        let mut pos = 0u64;
        for (off, len) in extents {
            if off > pos {
                slot.push_ready(Piece::Hole { len: off - pos });
                hash.hole(off - pos);
            }
            let got = self.read_extent(fd, off, len, slot, hash, outbox)?;
            pos = off + got;
            if got < len {
                return Ok(()); // the file shrank while being read
            }
        }
        if size > pos {
            slot.push_ready(Piece::Hole { len: size - pos }); // a trailing hole
            hash.hole(size - pos);
        }
        Ok(())
    }

    /// Chunks `[off, off+len)` into the pipeline; returns the bytes read.
    fn read_extent(
        &self,
        fd: &OwnedFd,
        off: u64,
        len: u64,
        slot: &Arc<FileSlot>,
        hash: &mut ContentHash,
        outbox: &mut Outbox,
    ) -> io::Result<u64> {
        let max = self.chunker.params().max() as u64;
        let sub = |e: Error| io::Error::other(e.to_string());
        if len <= max {
            // Small extents (most files): one read, no stream buffer.
            let mut buf = vec![0u8; len as usize];
            let n = sys::pread_exact(fd.as_raw_fd(), &mut buf, off)?;
            buf.truncate(n);
            hash.data(&buf);
            self.progress.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
            // Sealed here, not by the pool: with several readers the cores
            // are kept busy anyway, and most files are small. Backup of
            // 200,000 files of 3 KB on 2 cores: 7.5 s -> 6.1 s.
            let first = self.chunker.chunks(&buf).next().map_or(0, |(_, c)| c.len());
            if buf.is_empty() {
                // The file shrank: nothing to store.
            } else if first == buf.len() {
                self.pipeline.store_here(outbox, slot, buf).map_err(sub)?;
            } else {
                let cuts: Vec<usize> = self.chunker.chunks(&buf).map(|(_, c)| c.len()).collect();
                let mut at = 0;
                for c in cuts {
                    self.pipeline.store_here(outbox, slot, buf[at..at + c].to_vec()).map_err(sub)?;
                    at += c;
                }
            }
            return Ok(n as u64);
        }
        let mut got = 0u64;
        let reader = ExtentReader { fd: fd.as_raw_fd(), pos: off, end: off + len };
        for chunk in self.chunker.read_chunks(reader) {
            let chunk = chunk?;
            got += chunk.data.len() as u64;
            hash.data(&chunk.data);
            self.progress.bytes_read.fetch_add(chunk.data.len() as u64, Ordering::Relaxed);
            self.pipeline.submit(slot, chunk.data).map_err(sub)?;
        }
        Ok(got)
    }
}

impl Readers<'_> {
    /// Stores a stream (standard input, a command's output) as one file's
    /// content. `Err` when it cannot be read or the command fails: the
    /// backup must then not commit.
    pub fn stream(&self, source: &super::StreamSource, slot: &Arc<FileSlot>) -> std::result::Result<(), String> {
        let result = match source {
            super::StreamSource::Stdin => {
                self.read_stream(std::io::stdin().lock(), slot).map_err(|e| format!("reading standard input: {e}"))
            }
            super::StreamSource::Command(cmd) => self.command(cmd, slot),
        };
        match result {
            Ok(hash) => {
                slot.seal(hash);
                Ok(())
            }
            Err(why) => {
                // Not failed in the slot: the backup stops with `why`, and
                // a warning about the file as well would say it twice.
                slot.seal(None);
                Err(why)
            }
        }
    }

    fn command(&self, cmd: &str, slot: &Arc<FileSlot>) -> std::result::Result<Option<[u8; 32]>, String> {
        use std::process::{Command, Stdio};
        let mut child = Command::new("/bin/sh")
            .args(["-c", cmd])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("command {cmd:?}: {e}"))?;
        let (stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
        // Drained beside the output, so a chatty command never blocks.
        let errors = std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(e) = stderr.as_mut() {
                let _ = e.read_to_end(&mut text);
            }
            text
        });
        let read = stdout.map_or(Ok(None), |out| self.read_stream(out, slot));
        let status = child.wait().map_err(|e| format!("command {cmd:?}: {e}"));
        let text = String::from_utf8_lossy(&errors.join().unwrap_or_default()).trim().to_string();
        let status = status?;
        if !status.success() {
            let why = if text.is_empty() { String::new() } else { format!(": {text}") };
            return Err(format!("command {cmd:?} failed ({status}){why}"));
        }
        let hash = read.map_err(|e| format!("reading the output of {cmd:?}: {e}"))?;
        if !text.is_empty() {
            (self.warn)(&format!("command {cmd:?} said: {text}"));
        }
        Ok(hash)
    }

    /// Chunks a stream into the pipeline; returns its content hash.
    fn read_stream(&self, reader: impl Read, slot: &Arc<FileSlot>) -> io::Result<Option<[u8; 32]>> {
        let mut hash = ContentHash::default();
        for chunk in self.chunker.read_chunks(reader) {
            let chunk = chunk?;
            hash.data(&chunk.data);
            self.progress.bytes_read.fetch_add(chunk.data.len() as u64, Ordering::Relaxed);
            self.pipeline.submit(slot, chunk.data).map_err(|e| io::Error::other(e.to_string()))?;
        }
        Ok(hash.finish())
    }
}

/// A file's plain BLAKE3, fed in file order; holes count as the zeros they
/// read as, up to `HASH_HOLES_MAX` of them.
#[derive(Default)]
struct ContentHash {
    hasher: blake3::Hasher,
    holes: u64,
}

impl ContentHash {
    fn data(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    fn hole(&mut self, mut len: u64) {
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        self.holes += len;
        if self.holes > HASH_HOLES_MAX {
            return;
        }
        while len > 0 {
            let n = len.min(ZEROS.len() as u64);
            self.hasher.update(&ZEROS[..n as usize]);
            len -= n;
        }
    }

    fn finish(&self) -> Option<[u8; 32]> {
        (self.holes <= HASH_HOLES_MAX).then(|| *self.hasher.finalize().as_bytes())
    }
}

/// Reads `[pos, end)` of a file with pread.
struct ExtentReader {
    fd: RawFd,
    pos: u64,
    end: u64,
}

impl Read for ExtentReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = sys::pread_exact(self.fd, &mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}
