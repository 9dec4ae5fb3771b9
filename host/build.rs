//! Builds the guest component once per model bundle, in the manner of wasmtime's
//! `crates/test-programs/artifacts/build.rs`: a nested `cargo build --release -p guest
//! --target wasm32-wasip2` into a target dir of its own (shared by every host profile, so
//! debug and release hosts reuse one guest build), then hands the paths to the host as
//! `$OUT_DIR/guests.rs`. `cargo run -p host -- serve` and `cargo test` need no pre-step.

use std::path::{Path, PathBuf};
use std::process::Command;

const DEFAULT_BUNDLE: &str = "breast-cancer";

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
        "wit",
        "models",
        "Cargo.lock",
        ".cargo/config.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let mut bundles: Vec<String> = std::fs::read_dir(root.join("models"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("manifest.json").is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    bundles.sort();
    assert!(
        bundles.iter().any(|b| b == DEFAULT_BUNDLE),
        "models/{DEFAULT_BUNDLE} is missing"
    );

    let mut consts = String::new();
    consts.push_str("/// `(bundle, path to its guest.wasm)` for every bundle under `models/`.\n");
    consts.push_str("pub const GUESTS: &[(&str, &str)] = &[\n");
    for bundle in &bundles {
        let wasm = build_guest(&root, &guest_target, bundle);
        let dest = guests_dir.join(format!("{bundle}.wasm"));
        copy_if_changed(&wasm, &dest);
        consts.push_str(&format!(
            "    ({bundle:?}, {:?}),\n",
            dest.display().to_string()
        ));
    }
    consts.push_str("];\n");
    // The test-only component (tests/fault-guest): misbehaving routes for the guards.
    let fault = build_package(&root, &guest_target, "fault-guest", None);
    let fault_dest = guests_dir.join("fault-guest.wasm");
    copy_if_changed(&fault, &fault_dest);
    consts.push_str(&format!(
        "/// The test-only component with misbehaving routes.\npub const FAULT_GUEST: &str = {:?};\n",
        fault_dest.display().to_string()
    ));
    consts.push_str(&format!("/// The bundle `serve` and `run` use by default.\npub const DEFAULT_BUNDLE: &str = {DEFAULT_BUNDLE:?};\n"));
    std::fs::write(out_dir.join("guests.rs"), consts).unwrap();
}

fn build_guest(root: &Path, target_dir: &Path, bundle: &str) -> PathBuf {
    build_package(root, target_dir, "guest", Some(bundle))
}

fn build_package(root: &Path, target_dir: &Path, package: &str, bundle: Option<&str>) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root);
    if package == "guest" {
        // The shipped guest: the `build-guest` alias of .cargo/config.toml.
        cmd.arg("build-guest");
    } else {
        cmd.args([
            "build",
            "--release",
            "-p",
            package,
            "--target",
            "wasm32-wasip2",
        ]);
    }
    cmd.arg("--target-dir")
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
    if let Some(bundle) = bundle {
        cmd.env("MODEL_BUNDLE", bundle);
    }
    let out = cmd.output().expect("running cargo for the guest");
    if !out.status.success() {
        panic!(
            "building `{package}` (bundle {bundle:?}) failed (is the wasm32-wasip2 target installed? \
             `rustup target add wasm32-wasip2`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    target_dir.join(format!(
        "wasm32-wasip2/release/{}.wasm",
        package.replace('-', "_")
    ))
}

fn copy_if_changed(from: &Path, to: &Path) {
    let new = std::fs::read(from).unwrap();
    if std::fs::read(to).ok().as_deref() != Some(&new[..]) {
        std::fs::write(to, new).unwrap();
    }
}
