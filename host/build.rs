//! Builds the guest component — once, with no model in it — and the test-only fault
//! component, in the manner of wasmtime's `crates/test-programs/artifacts/build.rs`: a
//! nested cargo into a target dir of its own (shared by every host profile), then hands
//! the paths to the host as `$OUT_DIR/guests.rs`. Models are injected later, in seconds,
//! by `host package`; `cargo serve` (`cargo run -p host -- serve`) and `cargo test` need no pre-step.

#[path = "../xtask/src/wasm_target.rs"]
mod wasm_target;

use std::path::{Path, PathBuf};
use std::process::Command;

use wasm_target::WASM_TARGET;

fn main() {
    let host_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = host_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    // <target>/guest-build, next to the host's own target dir.
    let target_root = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let guest_target = target_root.join("guest-build");
    let guests_dir = target_root.join("guests");
    std::fs::create_dir_all(&guests_dir).unwrap();

    for watched in [
        "guest",
        "pipeline",
        "wasm-kernel",
        "wit",
        "tests/fault-guest",
        // The workspace manifest holds the release profile the guest is built with.
        "Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
        "rust-toolchain.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    ensure_wasm_target();

    let mut consts = String::new();
    let guest = build_package(&root, &guest_target, "guest", &[]);
    let guest_dest = guests_dir.join("guest.wasm");
    copy_if_changed(&guest, &guest_dest);
    consts.push_str(&format!(
        "/// The guest component, without a model (`host package` adds one): every kind.\n\
         pub const GUEST: &str = {:?};\n",
        guest_dest.display().to_string()
    ));
    // The same guest without the network kinds (no tract, tokenizer or image decoders),
    // for tabular bundles. A target dir of its own: the two builds of one cdylib would
    // overwrite each other's output.
    let tabular = build_package(
        &root,
        &target_root.join("guest-build-tabular"),
        "guest",
        &["--no-default-features"],
    );
    let tabular_dest = guests_dir.join("guest-tabular.wasm");
    copy_if_changed(&tabular, &tabular_dest);
    consts.push_str(&format!(
        "/// The guest built for tabular bundles only (what `host package` uses for them).\n\
         pub const TABULAR_GUEST: &str = {:?};\n",
        tabular_dest.display().to_string()
    ));
    // The test-only component (tests/fault-guest): misbehaving routes for the guards.
    let fault = build_package(&root, &guest_target, "fault-guest", &[]);
    let fault_dest = guests_dir.join("fault-guest.wasm");
    copy_if_changed(&fault, &fault_dest);
    consts.push_str(&format!(
        "/// The test-only component with misbehaving routes.\npub const FAULT_GUEST: &str = {:?};\n",
        fault_dest.display().to_string()
    ));
    consts.push_str(&format!(
        "/// The repository's bundle directory (`models/`).\npub const MODELS_DIR: &str = {:?};\n",
        root.join("models").display().to_string()
    ));
    std::fs::write(out_dir.join("guests.rs"), consts).unwrap();
}

/// A missing target would otherwise surface only at the end of a long build (the check
/// is shared with `cargo serve`, which runs it before that build starts).
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").ok();
    if let Err(e) = wasm_target::ensure(&rustc, toolchain.as_deref()) {
        panic!("{e}");
    }
}

fn build_package(root: &Path, target_dir: &Path, package: &str, args: &[&str]) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root);
    if package == "guest" {
        // The shipped guest: the `build-guest` alias of .cargo/config.toml.
        cmd.arg("build-guest");
    } else {
        cmd.args(["build", "--release", "-p", package, "--target", WASM_TARGET]);
    }
    cmd.args(args)
        .arg("--target-dir")
        .arg(target_dir)
        // The outer build's flags are for the host; the guest takes its own from
        // .cargo/config.toml ([target.wasm32-wasip2] rustflags).
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        // Under `cargo clippy` the outer build's lint wrapper would lint (and fail) the
        // nested build; the guest is linted by its own clippy run (see .ci/run).
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CLIPPY_CONF_DIR");
    let out = cmd.output().expect("running cargo for the guest");
    if !out.status.success() {
        panic!(
            "building `{package}` for {WASM_TARGET} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    target_dir.join(format!(
        "{WASM_TARGET}/release/{}.wasm",
        package.replace('-', "_")
    ))
}

fn copy_if_changed(from: &Path, to: &Path) {
    let new = std::fs::read(from).unwrap();
    if std::fs::read(to).ok().as_deref() != Some(&new[..]) {
        std::fs::write(to, new).unwrap();
    }
}
