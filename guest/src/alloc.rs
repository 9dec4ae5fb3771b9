//! The guest's allocator: the system one, except that while a bundle loads it overwrites
//! every large block it frees with one constant byte. Why: the snapshot `host package`
//! takes keeps linear memory as it is, and loading a network frees more than it keeps
//! (the files handed over, the parsed NNEF, tract's intermediate models): measured on
//! EfficientNet-Lite0, 19 MB live of 55 MB. Left as they were, those bytes made the
//! component 64.6 MB and 41 MB gzipped; filled, the same 64.6 MB gzip to 20 MB.
//!
//! Why not zeros, which the snapshot would leave out (32.5 MB): wasmtime maps a memory
//! image copy-on-write only when data covers at least half of its span (or the span is
//! under 16 MiB, `memory_guaranteed_dense_image_size`); otherwise every instance copies
//! the data in. Zeroed, instantiating EfficientNet-Lite0 took 15.8 ms instead of 10 µs
//! under every runtime with default settings (Spin's among them). Small bundles, whose
//! memory stays under that 16 MiB, are filled with zeros, which the snapshot leaves out
//! (magika: 16.7 MB instead of 25.9 MB). After `preinitialize`, frees cost what they
//! always did.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Smallest block filled on free: below this, what is left behind is scattered and small.
const MIN_FILLED: usize = 4096;

/// What freed blocks of a large bundle are filled with: any constant compresses alike;
/// not zero (above).
const NONZERO_FILL: u8 = 0x5a;

/// Bundles up to this size are filled with zeros: loading one peaks at about three times
/// its size (EfficientNet-Lite0: 55 MB for 18.7 MB; magika: 14.7 MB for 3.4 MB), so its
/// memory stays under the 16 MiB that wasmtime maps copy-on-write however sparse.
const ZERO_FILL_UP_TO: usize = 4 << 20;

static LOADING: AtomicBool = AtomicBool::new(false);
static FILL: AtomicU8 = AtomicU8::new(0);

/// Fill what is freed from now on (called when a bundle of `bundle_bytes` starts
/// loading).
pub fn start_loading(bundle_bytes: usize) {
    let fill = if bundle_bytes <= ZERO_FILL_UP_TO {
        0
    } else {
        NONZERO_FILL
    };
    FILL.store(fill, Ordering::Relaxed);
    LOADING.store(true, Ordering::Relaxed);
}

/// Stop filling (called once the snapshot's state is final).
pub fn done_loading() {
    LOADING.store(false, Ordering::Relaxed);
}

pub struct FillLargeFrees;

/// Fills `len` bytes at `ptr` with the fill byte, with volatile stores: a plain `write_bytes`
/// before a free is a dead store to the optimiser, which removes it (the first version of
/// this did nothing, measurably: the snapshot kept every freed byte).
///
/// SAFETY: `ptr..ptr + len` must be writable.
unsafe fn fill(ptr: *mut u8, len: usize) {
    let byte = FILL.load(Ordering::Relaxed);
    let word = u64::from_ne_bytes([byte; 8]);
    let head = ptr.align_offset(8).min(len);
    let words = (len - head) / 8;
    unsafe {
        for i in 0..head {
            ptr.add(i).write_volatile(byte);
        }
        let aligned = ptr.add(head).cast::<u64>();
        for i in 0..words {
            aligned.add(i).write_volatile(word);
        }
        for i in head + words * 8..len {
            ptr.add(i).write_volatile(byte);
        }
    }
}

fn filling(layout: &Layout) -> bool {
    layout.size() >= MIN_FILLED && LOADING.load(Ordering::Relaxed)
}

unsafe impl GlobalAlloc for FillLargeFrees {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if filling(&layout) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes, ours until freed.
            unsafe { fill(ptr, layout.size()) };
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !filling(&layout) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // A move would leave the old block behind unfilled: move it ourselves.
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
