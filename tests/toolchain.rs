//! A toolchain without the wasm32-wasip2 target: the host's build script stops within
//! seconds with the one command to run, instead of failing at the end of a long build.
//!
//! Offline and without touching the installed toolchains: the active toolchain's files
//! are hard-linked (symlinked where they cannot be) into target/toolchain-without-wasm,
//! minus lib/rustlib/wasm32-wasip2, and linked with `rustup toolchain link` under a name
//! of this process's own (removed again at the end). rustup cannot add targets to a
//! linked toolchain, which is exactly the case where the build script has to give up
//! and say what to do. The build script itself (host/build.rs) is compiled alone and run
//! with the environment cargo gives it.
//!
//! On a fresh target directory cargo starts that build script only once most of the
//! dependencies are compiled (its few dependents give it a low priority in cargo's
//! queue), minutes into the first build; so the README's first command, `cargo serve`,
//! runs the same check from a crate without dependencies first (xtask/), tested here
//! on a fresh target dir through the alias itself.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TARGET: &str = "wasm32-wasip2";

/// A `rustup toolchain link` removed when dropped (the files stay, for the next run).
struct LinkedToolchain(String);

impl Drop for LinkedToolchain {
    fn drop(&mut self) {
        let _ = Command::new("rustup")
            .args(["toolchain", "uninstall", &self.0])
            .output();
    }
}

fn sysroot() -> Option<PathBuf> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(common::repo_root())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn link_or_copy(from: &Path, to: &Path) {
    if to.exists() {
        return;
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

/// The toolchain at `sysroot` without the wasm target: binaries and libraries as files
/// (rustc finds its sysroot from where its own library is, so they cannot be symlinks),
/// the host target's std as a symlink.
fn toolchain_without_wasm(sysroot: &Path) -> PathBuf {
    let dir = common::repo_root().join("target/toolchain-without-wasm");
    for sub in ["bin", "lib/rustlib"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for sub in ["bin", "lib"] {
        for entry in std::fs::read_dir(sysroot.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                link_or_copy(&path, &dir.join(sub).join(path.file_name().unwrap()));
            }
        }
    }
    for entry in std::fs::read_dir(sysroot.join("lib/rustlib")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let to = dir.join("lib/rustlib").join(name);
        if path.is_dir() && name != TARGET && !to.exists() {
            std::os::unix::fs::symlink(&path, &to).unwrap();
        }
    }
    dir
}

/// The active toolchain without the wasm target, linked under a name of this process's
/// own; None (skipped) where there is no rustup.
fn linked_toolchain_without_wasm(tag: &str) -> Option<(PathBuf, LinkedToolchain)> {
    let has_rustup = Command::new("rustup")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let Some(sysroot) = sysroot().filter(|_| has_rustup) else {
        assert!(std::env::var_os("CI").is_none(), "CI must have rustup");
        eprintln!("no rustup here: skipped");
        return None;
    };
    // Both tests make the same directory: one at a time.
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let dir = {
        let _one = MAKING.lock().unwrap_or_else(|e| e.into_inner());
        toolchain_without_wasm(&sysroot)
    };
    let rustc = dir.join("bin/rustc");
    // cargo runs tests with the active toolchain's lib/ on LD_LIBRARY_PATH, which would
    // load its rustc_driver (and so its sysroot) instead of the stripped copy's.
    let libdir = Command::new(&rustc)
        .env_remove("LD_LIBRARY_PATH")
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .unwrap();
    let libdir = PathBuf::from(String::from_utf8_lossy(&libdir.stdout).trim());
    assert!(
        libdir.starts_with(&dir) && !libdir.exists(),
        "the stripped toolchain still has {TARGET}: {}",
        libdir.display()
    );

    let name = format!("mlfn-no-wasm-{tag}-{}", common::unique());
    let linked = Command::new("rustup")
        .args(["toolchain", "link", &name])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        linked.status.success(),
        "{}",
        String::from_utf8_lossy(&linked.stderr)
    );
    Some((dir, LinkedToolchain(name)))
}

/// The README's first command on a fresh target dir: it must give up with the command to
/// run before the long build starts (the host's build script alone would, minutes in).
#[test]
fn cargo_serve_stops_within_seconds_on_a_fresh_target_dir() {
    let Some((_dir, link)) = linked_toolchain_without_wasm("serve") else {
        return;
    };
    let scratch = std::env::temp_dir().join(format!("mlfn-serve-{}", common::unique()));
    let _ = std::fs::remove_dir_all(&scratch);
    let start = Instant::now();
    let mut child = Command::new("rustup")
        .args(["run", &link.0, "cargo", "serve"])
        .current_dir(common::repo_root())
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env("CARGO_TARGET_DIR", &scratch)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Were the check skipped, this would be the whole ~10-minute build: stop it.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let took = start.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let built: Vec<String> = std::fs::read_dir(scratch.join("release/.fingerprint"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&scratch);
    eprintln!("`cargo serve` gave up after {took:?}:\n{stderr}");
    let status = status.unwrap_or_else(|| panic!("still building after {took:?}: {stderr}"));
    assert!(!status.success());
    assert!(
        stderr.contains("run `rustup target add wasm32-wasip2`"),
        "{stderr}"
    );
    assert!(
        built.iter().all(|b| b.starts_with("xtask-")),
        "more than the xtask was built: {built:?}"
    );
    // Seconds here; the bound leaves room for a loaded machine.
    assert!(took < Duration::from_secs(60), "{took:?}");
}

#[test]
fn build_script_stops_at_once_without_the_wasm_target() {
    let Some((dir, link)) = linked_toolchain_without_wasm("build") else {
        return;
    };
    let name = link.0.clone();
    let rustc = dir.join("bin/rustc");
    let scratch = std::env::temp_dir().join(format!("mlfn-toolchain-{}", common::unique()));
    std::fs::create_dir_all(scratch.join("out")).unwrap();
    let script = scratch.join("build-script");
    let built = Command::new("rustc")
        .args(["--edition", "2024", "--crate-type", "bin", "-o"])
        .arg(&script)
        .arg(common::repo_root().join("host/build.rs"))
        .current_dir(common::repo_root())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );

    // What cargo gives a build script under `cargo +NAME build -p host`.
    let start = Instant::now();
    let out = Command::new(&script)
        .env_remove("LD_LIBRARY_PATH")
        .env("CARGO_MANIFEST_DIR", common::repo_root().join("host"))
        .env("OUT_DIR", scratch.join("out"))
        .env("CARGO_TARGET_DIR", &scratch)
        .env("RUSTC", &rustc)
        .env("CARGO", dir.join("bin/cargo"))
        .env("RUSTUP_TOOLCHAIN", &name)
        .output()
        .unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let guest_build_started = scratch.join("guest-build").exists();
    let _ = std::fs::remove_dir_all(&scratch);
    eprintln!("the build script gave up after {took:?}:\n{stderr}");
    assert!(!out.status.success());
    assert!(
        stderr.contains("run `rustup target add wasm32-wasip2`"),
        "{stderr}"
    );
    assert!(
        took < Duration::from_secs(10),
        "{took:?}: the guest build was attempted"
    );
    assert!(!guest_build_started, "a guest build started");
}
