//! The RocksDB files under a store, for `strata check`: each live table file
//! verified block by block (RocksDB's own checksums), and each blob file read
//! through from its header to its footer, every record's CRCs checked, so a
//! flipped byte anywhere in either kind is found. Also keys without their
//! blob values, and reads with every checksum on.
//!
//! RocksDB's C API has none of this; `check.cc` (built by build.rs) calls the
//! C++ API on a separate read-only instance of the database.

use crate::error::{Error, Result};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::Read;
use std::path::{Path, PathBuf};

#[repr(C)]
struct CheckDb {
    _private: [u8; 0],
}
#[repr(C)]
struct CheckIter {
    _private: [u8; 0],
}

type FileVisit = extern "C" fn(*mut c_void, c_int, *const c_char, u64);
type Take = extern "C" fn(*mut c_void, *const c_char, usize);

extern "C" {
    fn strata_check_free(p: *mut c_char);
    fn strata_check_open(path: *const c_char, err: *mut *mut c_char) -> *mut CheckDb;
    fn strata_check_close(d: *mut CheckDb);
    fn strata_check_files(d: *mut CheckDb, cf: *const c_char, f: FileVisit, ctx: *mut c_void) -> *mut c_char;
    fn strata_check_table_file(path: *const c_char) -> *mut c_char;
    fn strata_check_keys(d: *mut CheckDb, cf: *const c_char) -> *mut CheckIter;
    fn strata_check_iter_seek(i: *mut CheckIter, key: *const c_char, len: usize);
    fn strata_check_iter_valid(i: *mut CheckIter) -> c_int;
    fn strata_check_iter_next(i: *mut CheckIter);
    fn strata_check_iter_key(i: *mut CheckIter, len: *mut usize) -> *const c_char;
    fn strata_check_iter_status(i: *mut CheckIter) -> *mut c_char;
    fn strata_check_iter_destroy(i: *mut CheckIter);
    fn strata_check_get(
        d: *mut CheckDb,
        cf: *const c_char,
        key: *const c_char,
        len: usize,
        found: *mut c_int,
        take: Take,
        ctx: *mut c_void,
    ) -> *mut c_char;
}

/// Takes an error string from the shim (None for success).
fn error(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    unsafe { strata_check_free(p) };
    Some(s)
}

/// CRC32C, masked as RocksDB stores it. (The crc32c crate uses the CPU's
/// instruction; RocksDB's own, as librocksdb-sys builds it, runs in
/// software at a tenth of the speed, a tenth of `check --read-data`.)
fn masked_crc(parts: &[&[u8]]) -> u32 {
    let crc = parts.iter().fold(0, |c, p| crc32c::crc32c_append(c, p));
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Table,
    Blob,
}

/// A live file of a column family.
#[derive(Clone, Debug)]
pub struct StoreFile {
    pub cf: super::Cf,
    pub kind: FileKind,
    pub path: PathBuf,
    pub size: u64,
}

/// A read-only instance of the database for checking it.
pub struct Checker {
    db: *mut CheckDb,
    path: PathBuf,
}

// The C++ DB is thread-safe; the handle is only read.
unsafe impl Send for Checker {}
unsafe impl Sync for Checker {}

impl Drop for Checker {
    fn drop(&mut self) {
        unsafe { strata_check_close(self.db) }
    }
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("column family names have no NUL")
}

impl Checker {
    pub fn open(path: &Path) -> Result<Checker> {
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::Invalid(format!("{}: a path with a NUL byte", path.display())))?;
        let mut err = std::ptr::null_mut();
        let db = unsafe { strata_check_open(c.as_ptr(), &mut err) };
        match error(err) {
            Some(detail) => Err(Error::Store { path: path.to_path_buf(), detail }),
            None if db.is_null() => Err(Error::Store { path: path.to_path_buf(), detail: "cannot open".into() }),
            None => Ok(Checker { db, path: path.to_path_buf() }),
        }
    }

    fn err(&self, detail: String) -> Error {
        Error::Store { path: self.path.clone(), detail }
    }

    /// The live table and blob files of the column families.
    pub fn files(&self, cfs: &[super::Cf]) -> Result<Vec<StoreFile>> {
        struct Ctx {
            cf: super::Cf,
            out: Vec<StoreFile>,
        }
        extern "C" fn visit(ctx: *mut c_void, blob: c_int, path: *const c_char, size: u64) {
            let ctx = unsafe { &mut *(ctx as *mut Ctx) };
            let path = unsafe { CStr::from_ptr(path) }.to_bytes();
            let path = PathBuf::from(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path));
            let kind = if blob != 0 { FileKind::Blob } else { FileKind::Table };
            ctx.out.push(StoreFile { cf: ctx.cf, kind, path, size });
        }
        let mut out = Vec::new();
        for &cf in cfs {
            let mut ctx = Ctx { cf, out: Vec::new() };
            let name = cstr(cf.name());
            let e = unsafe { strata_check_files(self.db, name.as_ptr(), visit, (&mut ctx as *mut Ctx).cast()) };
            if let Some(e) = error(e) {
                return Err(self.err(e));
            }
            out.append(&mut ctx.out);
        }
        Ok(out)
    }

    /// Every key of a column family at or after `from`, without reading
    /// blob values; `f` returns false to stop.
    pub fn scan_keys(&self, cf: super::Cf, from: &[u8], f: &mut dyn FnMut(&[u8]) -> Result<bool>) -> Result<()> {
        let name = cstr(cf.name());
        let it = unsafe { strata_check_keys(self.db, name.as_ptr()) };
        if it.is_null() {
            return Err(self.err(format!("no column family {}", cf.name())));
        }
        struct Guard(*mut CheckIter);
        impl Drop for Guard {
            fn drop(&mut self) {
                unsafe { strata_check_iter_destroy(self.0) }
            }
        }
        let it = Guard(it);
        unsafe { strata_check_iter_seek(it.0, from.as_ptr().cast(), from.len()) };
        while unsafe { strata_check_iter_valid(it.0) } != 0 {
            let mut len = 0;
            let k = unsafe { strata_check_iter_key(it.0, &mut len) };
            let key = unsafe { std::slice::from_raw_parts(k.cast::<u8>(), len) };
            if !f(key)? {
                return Ok(());
            }
            unsafe { strata_check_iter_next(it.0) };
        }
        match error(unsafe { strata_check_iter_status(it.0) }) {
            Some(e) => Err(self.err(e)),
            None => Ok(()),
        }
    }

    /// Whether `key` is stored, without reading its blob value.
    pub fn contains_key(&self, cf: super::Cf, key: &[u8]) -> Result<bool> {
        let mut found = false;
        self.scan_keys(cf, key, &mut |k| {
            found = k == key;
            Ok(false)
        })?;
        Ok(found)
    }

    /// A value read with every checksum verified. A damaged value is an
    /// `Err` naming the store's complaint.
    pub fn get(&self, cf: super::Cf, key: &[u8]) -> Result<Option<Vec<u8>>> {
        extern "C" fn take(ctx: *mut c_void, data: *const c_char, len: usize) {
            let out = unsafe { &mut *(ctx as *mut Vec<u8>) };
            out.extend_from_slice(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) });
        }
        let name = cstr(cf.name());
        let mut value = Vec::new();
        let mut found = 0;
        let e = unsafe {
            strata_check_get(
                self.db,
                name.as_ptr(),
                key.as_ptr().cast(),
                key.len(),
                &mut found,
                take,
                (&mut value as *mut Vec<u8>).cast(),
            )
        };
        match error(e) {
            Some(e) => Err(self.err(e)),
            None => Ok((found != 0).then_some(value)),
        }
    }
}

/// Verifies every block of a table file; `Some(problem)` when one fails.
pub fn verify_table(path: &Path) -> Option<String> {
    let Ok(c) = CString::new(path.as_os_str().as_encoded_bytes()) else {
        return Some("a path with a NUL byte".into());
    };
    error(unsafe { strata_check_table_file(c.as_ptr()) })
}

/// Sees an intact blob record: its key and value.
pub type RecordVisit<'a> = dyn FnMut(&[u8], Vec<u8>) -> Result<()> + 'a;

/// Bytes asked of the kernel ahead of the reading.
const READ_AHEAD: u64 = 32 << 20;
const BLOB_MAGIC: u32 = 2_395_959;
const BLOB_HEADER: usize = 30;
const BLOB_FOOTER: usize = 32;
const RECORD_HEADER: usize = 32;

/// What reading a blob file through found wrong: where, and what. The
/// reading stops at a damaged record header (what follows cannot be
/// framed); a damaged record body is reported and passed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub offset: u64,
    pub detail: String,
    /// The key of the damaged record, when its header was intact.
    pub key: Option<Vec<u8>>,
    /// The records after it could not be framed, so were not read.
    pub rest_unread: bool,
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}
fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}

/// Reads a blob file from header to footer, checking every CRC, and hands
/// each intact record (key, value) to `record`. Returns the damage found
/// (empty when the file is sound). Layout (RocksDB's blob_log_format.h):
/// a 30-byte header (magic, version 1, column family, flags, compression,
/// expiration range), records of a 32-byte header (key size, value size,
/// expiration, header CRC, CRC of key and value) then key and value, and a
/// 32-byte footer (magic, record count, expiration range, CRC).
pub fn read_blob_file(path: &Path, record: &mut RecordVisit, bytes_read: &mut dyn FnMut(u64)) -> Result<Vec<Damage>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    // Read ahead well beyond the kernel's default window, so the disk
    // stays busy while the records read so far are verified.
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let mut advised = 0u64;
    let mut ahead = |pos: u64| {
        if pos + READ_AHEAD / 2 >= advised && advised < size {
            unsafe { libc::posix_fadvise(fd, advised as i64, READ_AHEAD as i64, libc::POSIX_FADV_WILLNEED) };
            advised += READ_AHEAD;
        }
    };
    unsafe { libc::posix_fadvise(fd, 0, 0, libc::POSIX_FADV_SEQUENTIAL) };
    ahead(0);
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    let mut damage = Vec::new();
    let bad = |offset: u64, detail: &str| Damage { offset, detail: detail.to_string(), key: None, rest_unread: false };
    let lost = |offset: u64, detail: &str| Damage { rest_unread: true, ..bad(offset, detail) };
    if size < (BLOB_HEADER + BLOB_FOOTER) as u64 {
        return Ok(vec![lost(0, "shorter than a blob file's header and footer")]);
    }
    let read = |r: &mut std::io::BufReader<std::fs::File>, n: usize| -> Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        r.read_exact(&mut buf).map_err(|e| Error::io(path, e))?;
        Ok(buf)
    };
    let header = read(&mut r, BLOB_HEADER)?;
    // Strata's blob files have no TTL and no blob compression: every header
    // byte but the column family id has one right value.
    if le32(&header) != BLOB_MAGIC || le32(&header[4..]) != 1 {
        damage.push(lost(0, "header: bad magic number or version"));
        return Ok(damage);
    }
    if header[12] != 0 || header[13] != 0 || header[14..].iter().any(|&b| b != 0) {
        damage.push(bad(12, "header: unexpected flags, compression or expiration range"));
    }
    bytes_read(BLOB_HEADER as u64);
    let end = size - BLOB_FOOTER as u64;
    let mut pos = BLOB_HEADER as u64;
    let mut count = 0u64;
    while pos < end {
        if end - pos < RECORD_HEADER as u64 {
            damage.push(lost(pos, "a record header runs into the footer"));
            return Ok(damage);
        }
        let h = read(&mut r, RECORD_HEADER)?;
        if masked_crc(&[&h[..24]]) != le32(&h[24..]) {
            damage.push(lost(pos, "record header CRC mismatch; the rest of the file cannot be framed"));
            return Ok(damage);
        }
        let (klen, vlen) = (le64(&h), le64(&h[8..]));
        let body = klen.checked_add(vlen).filter(|&n| n <= end - pos - RECORD_HEADER as u64);
        let Some(body) = body else {
            damage.push(lost(pos, "a record runs past the footer"));
            return Ok(damage);
        };
        let key = read(&mut r, klen as usize)?;
        let value = read(&mut r, vlen as usize)?;
        if le64(&h[16..]) != 0 {
            damage.push(bad(pos + 16, "record: unexpected expiration"));
        }
        if masked_crc(&[&key, &value]) != le32(&h[28..]) {
            damage.push(Damage { key: Some(key), ..bad(pos, "record CRC mismatch (key or value damaged)") });
        } else {
            record(&key, value)?;
        }
        pos += RECORD_HEADER as u64 + body;
        ahead(pos);
        count += 1;
        bytes_read(RECORD_HEADER as u64 + body);
    }
    let f = read(&mut r, BLOB_FOOTER)?;
    bytes_read(BLOB_FOOTER as u64);
    if masked_crc(&[&f[..28]]) != le32(&f[28..]) || le32(&f) != BLOB_MAGIC {
        damage.push(bad(end, "footer: CRC or magic number mismatch"));
    } else if le64(&f[4..]) != count {
        damage.push(bad(end, &format!("footer: says {} records, the file holds {count}", le64(&f[4..]))));
    } else if f[12..28].iter().any(|&b| b != 0) {
        damage.push(bad(end + 12, "footer: unexpected expiration range"));
    }
    Ok(damage)
}
