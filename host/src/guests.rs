//! The guest components `build.rs` built, one per model bundle.

use std::path::PathBuf;

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// Path of the component that embeds `bundle`, if the build made one.
pub fn guest_path(bundle: &str) -> Option<PathBuf> {
    GUESTS
        .iter()
        .find(|(b, _)| *b == bundle)
        .map(|(_, p)| PathBuf::from(p))
}

/// The component with the default bundle.
pub fn default_guest() -> PathBuf {
    guest_path(DEFAULT_BUNDLE).expect("build.rs always builds the default bundle")
}
