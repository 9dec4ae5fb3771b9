//! The guest's allocator: the system one, except that while a bundle loads it zeroes
//! every large block it frees. Why: the snapshot `host package` takes keeps every
//! non-zero byte of linear memory, and loading a network frees more than it keeps (the
//! files handed over, the parsed NNEF, tract's intermediate models). Measured natively
//! on EfficientNet-Lite0: 20 MB live after loading, 45 MB at the peak; without zeroing,
//! the snapshot held 51 MB of data. Zeroed, the dead blocks are runs of zeros, which the
//! snapshot leaves out. After `preinitialize`, frees cost what they always did.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

/// Smallest block zeroed on free: below this, what is left behind is scattered and small.
const MIN_ZEROED: usize = 4096;

static LOADING: AtomicBool = AtomicBool::new(false);

/// Zero what is freed from now on (called when a bundle starts loading).
pub fn start_loading() {
    LOADING.store(true, Ordering::Relaxed);
}

/// Stop zeroing (called once the snapshot's state is final).
pub fn done_loading() {
    LOADING.store(false, Ordering::Relaxed);
}

pub struct ZeroLargeFrees;

/// Zeroes `len` bytes at `ptr` with volatile stores: a plain `write_bytes` before a free
/// is a dead store to the optimiser, which removes it (the first version of this did
/// nothing, measurably: the snapshot kept every freed byte).
///
/// SAFETY: `ptr..ptr + len` must be writable.
unsafe fn zero(ptr: *mut u8, len: usize) {
    let head = ptr.align_offset(8).min(len);
    let words = (len - head) / 8;
    unsafe {
        for i in 0..head {
            ptr.add(i).write_volatile(0);
        }
        let aligned = ptr.add(head).cast::<u64>();
        for i in 0..words {
            aligned.add(i).write_volatile(0);
        }
        for i in head + words * 8..len {
            ptr.add(i).write_volatile(0);
        }
    }
}

fn zeroing(layout: &Layout) -> bool {
    layout.size() >= MIN_ZEROED && LOADING.load(Ordering::Relaxed)
}

unsafe impl GlobalAlloc for ZeroLargeFrees {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if zeroing(&layout) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes, ours until freed.
            unsafe { zero(ptr, layout.size()) };
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !zeroing(&layout) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // A move would leave the old block behind unzeroed: move it ourselves.
        // SAFETY: the caller guarantees `new_size` is valid for `layout.align()`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { System.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct; the old one is then freed.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}
