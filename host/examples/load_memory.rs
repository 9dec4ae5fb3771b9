//! Live and peak heap of loading a bundle the way the guest does (from the NNEF form the
//! host hands it): what a snapshot must hold, against what it does.
//!
//!     cargo run --release -p host --example load_memory -- BUNDLE_DIR

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn mb(n: usize) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("BUNDLE_DIR"));
    let bundle = pipeline::Bundle::read_dir(&dir).unwrap();
    let guest_files = pipeline::Function::guest_files(&bundle).unwrap();
    let files: Vec<(String, Vec<u8>)> = guest_files
        .names()
        .map(|n| (n.to_string(), guest_files.get(n).unwrap().to_vec()))
        .collect();
    let total: usize = files.iter().map(|f| f.1.len()).sum();
    drop((bundle, guest_files));
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let mut b = pipeline::Bundle::new();
    for (name, bytes) in files {
        b.insert(name, bytes);
    }
    let f = pipeline::Function::load(&b).unwrap();
    drop(b);
    let live = LIVE.load(Relaxed) - before;
    let peak = PEAK.load(Relaxed) - before;
    println!(
        "{}: guest files {}; after load live {} (peak during load {})",
        dir.display(),
        mb(total),
        mb(live),
        mb(peak)
    );
    std::hint::black_box(f);
}
