//! Thin, safe wrappers over the libc calls strata needs that std lacks:
//! directory-fd walking, xattrs, device nodes, names of users and groups.
//! Every path-taking call here works relative to a directory fd, so paths
//! longer than PATH_MAX are fine.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

pub fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn check_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

pub fn openat(dir: RawFd, name: &[u8], flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    let fd = check(unsafe { libc::openat(dir, c.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn fstatat(dir: RawFd, name: &[u8]) -> io::Result<libc::stat> {
    let c = cstr(name)?;
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    check(unsafe { libc::fstatat(dir, c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(st)
}

pub fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    check(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

pub fn readlinkat(dir: RawFd, name: &[u8]) -> io::Result<Vec<u8>> {
    let c = cstr(name)?;
    let mut buf = vec![0u8; 256];
    loop {
        let n = check_size(unsafe { libc::readlinkat(dir, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) })?;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// Names in a directory (without "." and ".."), read through a dup of `dir`.
pub fn read_dir_names(dir: RawFd) -> io::Result<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    for_each_dir_name(dir, |name| {
        names.push(name.to_vec());
        Ok(())
    })?;
    Ok(names)
}

/// Calls `f` with each name in the open directory `dir` (not `.` or `..`),
/// in the directory's order, until it fails.
pub fn for_each_dir_name(dir: RawFd, mut f: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let fd = check(unsafe { libc::fcntl(dir, libc::F_DUPFD_CLOEXEC, 0) })?;
    let d = unsafe { libc::fdopendir(fd) };
    if d.is_null() {
        let e = io::Error::last_os_error();
        unsafe { libc::close(fd) };
        return Err(e);
    }
    unsafe { libc::rewinddir(d) };
    let result = loop {
        unsafe { *libc::__errno_location() = 0 };
        let ent = unsafe { libc::readdir64(d) };
        if ent.is_null() {
            let errno = io::Error::last_os_error();
            break if errno.raw_os_error() == Some(0) { Ok(()) } else { Err(errno) };
        }
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            if let Err(e) = f(name) {
                break Err(e);
            }
        }
    };
    unsafe { libc::closedir(d) };
    result
}

/// `/proc/self/fd/DIR/NAME`: a short path to any entry, for the l*xattr calls.
fn proc_path(dir: RawFd, name: &[u8]) -> io::Result<CString> {
    let mut p = format!("/proc/self/fd/{dir}/").into_bytes();
    p.extend_from_slice(name);
    cstr(&p)
}

/// All extended attributes of an entry (not following symlinks), sorted.
pub fn xattrs_at(dir: RawFd, name: &[u8]) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let path = proc_path(dir, name)?;
    read_xattrs(
        |list| unsafe { libc::llistxattr(path.as_ptr(), list.as_mut_ptr().cast(), list.len()) },
        |attr, val| unsafe { libc::lgetxattr(path.as_ptr(), attr.as_ptr(), val.as_mut_ptr().cast(), val.len()) },
    )
}

/// All extended attributes of an open file or directory, sorted: no path
/// to look up, as `xattrs_at` must (through /proc).
pub fn fxattrs(fd: RawFd) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    read_xattrs(
        |list| unsafe { libc::flistxattr(fd, list.as_mut_ptr().cast(), list.len()) },
        |attr, val| unsafe { libc::fgetxattr(fd, attr.as_ptr(), val.as_mut_ptr().cast(), val.len()) },
    )
}

/// Lists with `list` and reads each with `get`, both called like
/// listxattr/getxattr and retried with a larger buffer on ERANGE.
fn read_xattrs(
    list: impl Fn(&mut [u8]) -> isize,
    get: impl Fn(&CString, &mut [u8]) -> isize,
) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    // Most entries have no attribute, or a few: no allocation for those.
    let (mut stack, mut heap) = ([0u8; 1024], Vec::new());
    let mut size = stack.len();
    let n = loop {
        let names: &mut [u8] = if size == stack.len() {
            &mut stack
        } else {
            heap.resize(size, 0);
            &mut heap
        };
        match check_size(list(names)) {
            Ok(n) => break n,
            Err(e) if e.raw_os_error() == Some(libc::ERANGE) => size *= 4,
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    };
    let names = if size == stack.len() { &stack[..] } else { &heap[..] };
    let mut out = Vec::new();
    for attr in names[..n].split(|&b| b == 0).filter(|a| !a.is_empty()) {
        let cname = cstr(attr)?;
        let mut val = vec![0u8; 256];
        loop {
            match check_size(get(&cname, &mut val)) {
                Ok(n) => {
                    val.truncate(n);
                    out.push((attr.to_vec(), val));
                    break;
                }
                Err(e) if e.raw_os_error() == Some(libc::ERANGE) => val.resize(val.len() * 4, 0),
                // Removed between list and get: skip it.
                Err(e) if e.raw_os_error() == Some(libc::ENODATA) => break,
                Err(e) => return Err(e),
            }
        }
    }
    out.sort();
    Ok(out)
}

pub fn set_xattr_at(dir: RawFd, name: &[u8], attr: &[u8], value: &[u8]) -> io::Result<()> {
    let path = proc_path(dir, name)?;
    let cname = cstr(attr)?;
    check(unsafe { libc::lsetxattr(path.as_ptr(), cname.as_ptr(), value.as_ptr().cast(), value.len(), 0) })?;
    Ok(())
}

/// Whether the open file or directory `fd` has the xattr `attr`.
pub fn fhas_xattr(fd: RawFd, attr: &[u8]) -> bool {
    let Ok(a) = cstr(attr) else { return false };
    unsafe { libc::fgetxattr(fd, a.as_ptr(), std::ptr::null_mut(), 0) >= 0 }
}

pub fn fset_xattr(fd: RawFd, attr: &[u8], value: &[u8]) -> io::Result<()> {
    let cname = cstr(attr)?;
    check(unsafe { libc::fsetxattr(fd, cname.as_ptr(), value.as_ptr().cast(), value.len(), 0) })?;
    Ok(())
}

pub fn mkdirat(dir: RawFd, name: &[u8], mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    check(unsafe { libc::mkdirat(dir, c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

pub fn symlinkat(target: &[u8], dir: RawFd, name: &[u8]) -> io::Result<()> {
    let (t, c) = (cstr(target)?, cstr(name)?);
    check(unsafe { libc::symlinkat(t.as_ptr(), dir, c.as_ptr()) }).map(drop)
}

pub fn mknodat(dir: RawFd, name: &[u8], mode: libc::mode_t, dev: u64) -> io::Result<()> {
    let c = cstr(name)?;
    check(unsafe { libc::mknodat(dir, c.as_ptr(), mode, dev as libc::dev_t) }).map(drop)
}

pub fn linkat(olddir: RawFd, old: &[u8], newdir: RawFd, new: &[u8]) -> io::Result<()> {
    let (o, n) = (cstr(old)?, cstr(new)?);
    check(unsafe { libc::linkat(olddir, o.as_ptr(), newdir, n.as_ptr(), 0) }).map(drop)
}

pub fn unlinkat(dir: RawFd, name: &[u8], is_dir: bool) -> io::Result<()> {
    let c = cstr(name)?;
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    check(unsafe { libc::unlinkat(dir, c.as_ptr(), flags) }).map(drop)
}

pub fn fchownat(dir: RawFd, name: &[u8], uid: u32, gid: u32) -> io::Result<()> {
    let c = cstr(name)?;
    check(unsafe { libc::fchownat(dir, c.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
}

pub fn fchmodat(dir: RawFd, name: &[u8], mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    check(unsafe { libc::fchmodat(dir, c.as_ptr(), mode as libc::mode_t, 0) }).map(drop)
}

pub fn utimensat(dir: RawFd, name: &[u8], secs: i64, nanos: u32) -> io::Result<()> {
    let c = cstr(name)?;
    let t = libc::timespec { tv_sec: secs as libc::time_t, tv_nsec: nanos as libc::c_long };
    let times = [t, t];
    check(unsafe { libc::utimensat(dir, c.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
}

/// Data extents of a file as `(offset, len)`, found with SEEK_DATA/SEEK_HOLE.
/// A filesystem without hole support reports one extent.
pub fn data_extents(fd: RawFd, size: u64) -> io::Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    let mut pos: i64 = 0;
    while (pos as u64) < size {
        let data = unsafe { libc::lseek(fd, pos, libc::SEEK_DATA) };
        if data < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENXIO) => break, // only a hole remains
                Some(libc::EINVAL) if pos == 0 => return Ok(vec![(0, size)]),
                _ => return Err(e),
            }
        }
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(io::Error::last_os_error());
        }
        let end = (hole as u64).min(size);
        if end > data as u64 {
            out.push((data as u64, end - data as u64));
        }
        pos = hole;
    }
    Ok(out)
}

pub fn pread_exact(fd: RawFd, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let n = unsafe {
            libc::pread(fd, buf[done..].as_mut_ptr().cast(), buf.len() - done, (offset + done as u64) as libc::off_t)
        };
        match n {
            0 => break,
            n if n < 0 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            n => done += n as usize,
        }
    }
    Ok(done)
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

pub fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out = std::ptr::null_mut();
    let r = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) };
    (r == 0 && !out.is_null()).then(|| unsafe { CStr::from_ptr(pw.pw_name) }.to_string_lossy().into_owned())
}

pub fn group_name(gid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut out = std::ptr::null_mut();
    let r = unsafe { libc::getgrgid_r(gid, &mut gr, buf.as_mut_ptr(), buf.len(), &mut out) };
    (r == 0 && !out.is_null()).then(|| unsafe { CStr::from_ptr(gr.gr_name) }.to_string_lossy().into_owned())
}

pub fn current_user() -> String {
    user_name(unsafe { libc::geteuid() }).unwrap_or_else(|| std::env::var("USER").unwrap_or_default())
}

/// Bytes an unprivileged user may still write on the filesystem of `path`.
pub fn free_bytes(path: &std::path::Path) -> io::Result<u64> {
    let c = cstr(path.as_os_str().as_bytes())?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    check(unsafe { libc::statvfs(c.as_ptr(), &mut st) })?;
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Opens a path (following symlinks only in the path's own components) as a
/// directory fd, or `O_PATH` for a non-directory.
pub fn open_dir(path: &std::path::Path) -> io::Result<OwnedFd> {
    let c = cstr(path.as_os_str().as_bytes())?;
    let fd = check(unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn os(b: &[u8]) -> &OsStr {
    OsStr::from_bytes(b)
}

/// Takes an exclusive, non-blocking `flock`; `Ok(false)` when another holds it.
pub fn try_lock(fd: RawFd) -> io::Result<bool> {
    if unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// The process's umask (read by setting it, then setting it back).
pub fn umask() -> u32 {
    let mask = unsafe { libc::umask(0o022) };
    unsafe { libc::umask(mask) };
    mask as u32
}

/// `path` made absolute through its nearest existing ancestor, symlinks
/// there resolved (a new target does not exist yet). The part below it is
/// made of directories a mirror or restore would create, so its `..` are taken
/// as written.
pub fn resolve_new(path: &std::path::Path) -> Option<std::path::PathBuf> {
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    let mut at = std::path::absolute(path).ok()?;
    loop {
        if let Ok(mut real) = std::fs::canonicalize(&at) {
            for c in rest.iter().rev() {
                match c.to_str() {
                    Some("..") => _ = real.pop(),
                    Some(".") => {}
                    _ => real.push(c),
                }
            }
            return Some(real);
        }
        let below = at.parent()?.to_path_buf();
        rest.push(at.components().next_back()?.as_os_str().to_os_string());
        at = below;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn xattrs_past_the_first_buffers_by_path_and_by_fd() {
        let d = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(d.path().join("f")).unwrap();
        // 30 names of 40 bytes: 1,230 bytes of list, past the 1 KiB tried
        // first; one value past the 256 bytes tried first. (ext4 holds 4 KiB
        // of attributes in all.)
        let mut want: Vec<(Vec<u8>, Vec<u8>)> = (0..30)
            .map(|i| {
                (format!("user.{i:02}-{}", "n".repeat(32)).into_bytes(), vec![i as u8; if i == 7 { 600 } else { 5 }])
            })
            .collect();
        for (k, v) in &want {
            let k = cstr(k).unwrap();
            check(unsafe { libc::fsetxattr(file.as_raw_fd(), k.as_ptr(), v.as_ptr().cast(), v.len(), 0) }).unwrap();
        }
        want.sort();
        let dir = std::fs::File::open(d.path()).unwrap();
        assert_eq!(xattrs_at(dir.as_raw_fd(), b"f").unwrap(), want);
        assert_eq!(fxattrs(file.as_raw_fd()).unwrap(), want);
        let empty = std::fs::File::create(d.path().join("e")).unwrap();
        assert_eq!(fxattrs(empty.as_raw_fd()).unwrap(), vec![]);
    }
}
