//! Survive a memory-mapped input that another process truncates while `scan` reads it.
//!
//! Touching a page of a mapping past the end of a file that shrank raises `SIGBUS`, which
//! kills the process. A [`GuardedMap`] registers its address range in a fixed table; a
//! `SIGBUS` handler (installed once, on the first guarded map) that finds the faulting
//! address in the table maps anonymous zero pages over the rest of that range, marks it
//! truncated and returns, so the faulting read goes on and reads zeros. Nothing jumps
//! out of the handler (no `sigsetjmp`/`longjmp`): the scanner checks the mark per chunk
//! ([`GuardedMap::truncated`]) before it trusts a chunk's bytes, and per anomaly while it
//! observes one, and stops reading that input. A fault at an address the table does not
//! hold goes to the handler that was installed before (Rust's stack-overflow handler, or
//! the default action, which kills the process as it always did).
//!
//! The handler uses only atomics and one `mmap` system call. The table holds
//! [`SLOTS`] ranges at once; a map that finds no free slot (or a platform without the
//! handler: only Linux and Android have it) is used unguarded, as before.

use memmap2::Mmap;
use std::ops::Deref;

/// Ranges guarded at once (inputs mapped at the same time).
pub const SLOTS: usize = 64;

/// A read-only map of a file whose truncation is survived (see the module docs).
#[derive(Debug)]
pub(crate) struct GuardedMap {
    // Declared before `map`: unregistered before the range is unmapped.
    guard: Option<imp::Slot>,
    map: Mmap,
}

impl GuardedMap {
    /// Guard `map` (when the handler and a free slot are available).
    pub(crate) fn new(map: Mmap) -> Self {
        let guard = imp::register(map.as_ptr() as usize, map.len());
        GuardedMap { guard, map }
    }

    /// Whether a read touched the map past the end of its (shrunk) file: from there on
    /// its bytes are zeros, not the file's.
    #[inline]
    pub(crate) fn truncated(&self) -> bool {
        self.guard.as_ref().is_some_and(imp::Slot::hit)
    }

    /// Whether a truncation is survived at all (false: it raises `SIGBUS` as before).
    #[cfg(test)]
    pub(crate) fn is_guarded(&self) -> bool {
        self.guard.is_some()
    }

    /// The map itself (for `madvise`).
    pub(crate) fn map(&self) -> &Mmap {
        &self.map
    }
}

impl Deref for GuardedMap {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use super::SLOTS;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Once;

    /// One guarded range: `start == 0` is a free slot.
    struct Range {
        start: AtomicUsize,
        len: AtomicUsize,
        hit: AtomicBool,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const FREE: Range = Range {
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        hit: AtomicBool::new(false),
    };
    static RANGES: [Range; SLOTS] = [FREE; SLOTS];
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    static INSTALL: Once = Once::new();
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    /// The `SIGBUS` action before ours (written once, before ours is installed).
    static mut PREVIOUS: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::uninit();

    /// A registered range; unregisters on drop.
    #[derive(Debug)]
    pub(crate) struct Slot(usize);

    impl Slot {
        pub(crate) fn hit(&self) -> bool {
            RANGES[self.0].hit.load(Ordering::Acquire)
        }
    }

    impl Drop for Slot {
        fn drop(&mut self) {
            let r = &RANGES[self.0];
            r.hit.store(false, Ordering::Relaxed);
            r.len.store(0, Ordering::Relaxed);
            r.start.store(0, Ordering::Release);
        }
    }

    pub(crate) fn register(start: usize, len: usize) -> Option<Slot> {
        INSTALL.call_once(install);
        if !INSTALLED.load(Ordering::Acquire) || start == 0 || len == 0 {
            return None;
        }
        for (i, r) in RANGES.iter().enumerate() {
            // Claim a free slot with a placeholder start no address equals, fill it in,
            // then publish the real start.
            if r.start
                .compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                r.hit.store(false, Ordering::Relaxed);
                r.len.store(len, Ordering::Relaxed);
                r.start.store(start, Ordering::Release);
                return Some(Slot(i));
            }
        }
        None
    }

    fn install() {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if page <= 0 || (page as usize) & (page as usize - 1) != 0 {
            return;
        }
        PAGE.store(page as usize, Ordering::Relaxed);
        // SAFETY: `sigaction` is plain data, valid zeroed; `PREVIOUS` is written here,
        // once, before the handler that reads it can run (it is installed after), and
        // never again; `sigemptyset` gets a valid pointer.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_sigbus as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut act.sa_mask);
            let prev = &raw mut PREVIOUS;
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) != 0 {
                return;
            }
            (*prev).write(old);
            if libc::sigaction(libc::SIGBUS, &act, std::ptr::null_mut()) == 0 {
                INSTALLED.store(true, Ordering::Release);
            }
        }
    }

    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE.load(Ordering::Relaxed);
        for r in &RANGES {
            let start = r.start.load(Ordering::Acquire);
            if start == 0 || start == usize::MAX {
                continue;
            }
            let len = r.len.load(Ordering::Relaxed);
            if addr < start || addr >= start.saturating_add(len) {
                continue;
            }
            let from = addr & !(page - 1);
            let end = (start + len + page - 1) & !(page - 1);
            // SAFETY: [from, end) lies inside a live read-only file mapping of ours (the
            // slot is registered only while its `Mmap` exists and is unregistered before
            // it is unmapped); replacing its pages with anonymous zero pages changes what
            // reads see, never memory anyone else owns. The later `munmap` of the whole
            // range removes these pages too.
            let p = unsafe {
                libc::mmap(
                    from as *mut libc::c_void,
                    end - from,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if p == from as *mut libc::c_void {
                r.hit.store(true, Ordering::Release);
                return;
            }
            break;
        }
        // SAFETY: PREVIOUS was written before this handler was installed.
        unsafe { chain(sig, info, ctx) }
    }

    /// Hand a fault that is not ours to the action installed before ours.
    ///
    /// # Safety
    /// Only from the handler, with its arguments, after `install` succeeded.
    unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: written once before our handler was installed, read-only since.
        let prev: libc::sigaction =
            unsafe { std::ptr::read((&raw const PREVIOUS).cast::<libc::sigaction>()) };
        let h = prev.sa_sigaction;
        if h == libc::SIG_DFL || h == libc::SIG_IGN {
            // Back to the default action: the faulting instruction runs again and the
            // process dies of SIGBUS, as it would have without us.
            // SAFETY: a zeroed sigaction is SIG_DFL with no flags.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
            // SAFETY: an SA_SIGINFO action's handler has this signature.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(h) };
            f(sig, info, ctx);
        } else {
            // SAFETY: a plain action's handler takes the signal number.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(h) };
            f(sig);
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    /// No handler on this platform: nothing is ever registered.
    #[derive(Debug)]
    pub(crate) enum Slot {}

    impl Slot {
        pub(crate) fn hit(&self) -> bool {
            match *self {}
        }
    }

    pub(crate) fn register(_start: usize, _len: usize) -> Option<Slot> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A mapped file cut short while mapped: reading past its new end gives zeros and
    /// marks the map instead of killing the process.
    #[test]
    fn a_truncated_map_reads_zeros_and_is_marked() {
        let mut f = tempfile::tempfile().unwrap();
        let page = 4096;
        let data: Vec<u8> = (0..page * 8).map(|i| b'a' + (i % 26) as u8).collect();
        f.write_all(&data).unwrap();
        // SAFETY: a private temporary file nobody else writes.
        let map = GuardedMap::new(unsafe { Mmap::map(&f) }.unwrap());
        if !map.is_guarded() {
            return; // a platform without the handler
        }
        assert_eq!(map[10], data[10]);
        assert!(!map.truncated());
        f.set_len(page as u64 * 2).unwrap();
        assert_eq!(map[10], data[10], "before the new end: the file's bytes");
        let past: u64 = map[page * 5..].iter().map(|&b| u64::from(b)).sum();
        assert_eq!(past, 0, "past the new end: zeros");
        assert!(map.truncated());
        drop(map);
        // The slot is free again and a new map is not marked.
        let map = GuardedMap::new(unsafe { Mmap::map(&f) }.unwrap());
        assert!(!map.truncated());
        assert_eq!(map.len(), page * 2);
    }
}
