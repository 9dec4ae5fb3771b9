//! Is the `wasm32-wasip2` standard library installed for the toolchain in use, and if
//! not, add it through rustup or say the one command to run.
//!
//! rustup (1.29) does not add the `targets` of rust-toolchain.toml to a toolchain that is
//! already installed, and a missing target would only surface at the end of a long build.
//! Shared, as a file, by `cargo serve` (xtask/src/main.rs), which runs it before anything
//! long is built, and by the host's build script (host/build.rs, via `#[path]`: a build
//! script compiled on its own, as tests/toolchain.rs does, has no dependencies to find).

use std::path::{Path, PathBuf};
use std::process::Command;

pub const WASM_TARGET: &str = "wasm32-wasip2";

/// `rustc` is the compiler cargo builds with (`$RUSTC` in a build script, plain `rustc`
/// through rustup's proxy elsewhere); `toolchain` is rustup's name for it, if known.
pub fn ensure(rustc: &str, toolchain: Option<&str>) -> Result<(), String> {
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if sysroot.as_deref().is_some_and(installed) {
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", WASM_TARGET]);
    if let Some(t) = toolchain {
        add.args(["--toolchain", t]);
    }
    match add.status() {
        Ok(s) if s.success() => Ok(()),
        _ => Err(format!(
            "the {WASM_TARGET} target is not installed for this toolchain and could not be \
             added automatically; run `rustup target add {WASM_TARGET}` (or install the \
             target's standard library for {}) and build again",
            sysroot.map_or("rustc".into(), |s| s.display().to_string())
        )),
    }
}

fn installed(sysroot: &Path) -> bool {
    sysroot
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .join("lib")
        .is_dir()
}
