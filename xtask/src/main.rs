//! `cargo serve [ARGS]` (an alias in .cargo/config.toml): the README's first command.
//! Makes sure the wasm32-wasip2 target is there — this crate has no dependencies, so that
//! takes seconds even on a fresh target dir — then becomes
//! `cargo run --release -p host -- serve [ARGS]`.
//!
//! Without it, `cargo run -p host` on a toolchain that lacks the target reaches the
//! host's build script (which checks too) only after most of wasmtime is compiled:
//! cargo schedules a build script with few dependents late.

mod wasm_target;

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(task) = args.next() else {
        eprintln!("usage: cargo serve [HOST SERVE ARGS]   (xtask serve ...)");
        return ExitCode::from(2);
    };
    if task != "serve" {
        eprintln!("unknown task `{task}`; the one task is `serve`");
        return ExitCode::from(2);
    }
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").ok();
    if let Err(e) = wasm_target::ensure("rustc", toolchain.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let err = Command::new(cargo)
        .args(["run", "--release", "-p", "host", "--", "serve"])
        .args(args)
        .exec();
    eprintln!("error: could not run cargo: {err}");
    ExitCode::FAILURE
}
