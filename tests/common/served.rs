//! Other runtimes as child processes for the tests: a free port on 127.0.0.1, the
//! process group started and ended with the test, and the wait until it answers.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A runtime's process group, killed when dropped: `spin up` runs the HTTP trigger as a
/// child process, which would outlive a kill of `spin up` alone.
pub struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let group = -(self.0.id() as i32);
        // Ctrl-C first: Spin then removes the temporary app directory it made.
        // SAFETY: kill(2) on the process group this test created (see `serve`).
        unsafe { libc::kill(group, libc::SIGINT) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above; whatever is left of the group.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

/// `../shared/tools/NAME` beside the repository, or None (said on stderr) when this
/// machine lacks the shared tools; under CI (`CI` set) they must be there.
pub fn shared_tool(name: &str) -> Option<PathBuf> {
    let path = super::repo_root().join("../shared/tools").join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have {} (the shared tools)",
        path.display()
    );
    eprintln!("{} is not here: skipped", path.display());
    None
}

pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Longest a runtime may live: should the test process die before its drop runs, the
/// runtime still stops by itself.
const MAX_LIFETIME: &str = "600";

/// `cmd` under coreutils' `timeout` (SIGINT after `MAX_LIFETIME` seconds, SIGKILL 5 s
/// later), with the same arguments, directory and environment.
fn bounded(cmd: &Command) -> Command {
    let mut bounded = Command::new("timeout");
    bounded
        .args(["--signal=INT", "--kill-after=5", MAX_LIFETIME])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        bounded.current_dir(dir);
    }
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => bounded.env(key, v),
            None => bounded.env_remove(key),
        };
    }
    bounded
}

/// Starts `cmd` in its own process group (so that drop can end the runtime's children
/// too) and waits (at most 60 s) until `addr` accepts connections. Nothing is requested:
/// the caller's first request is the runtime's first.
pub async fn spawn_listening(cmd: Command, addr: SocketAddr, what: &str) -> Served {
    use std::os::unix::process::CommandExt;
    let child = bounded(&cmd)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let mut served = Served(child);
    let start = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if let Ok(Some(status)) = served.0.try_wait() {
            panic!("{what} exited ({status}) before listening on {addr}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} did not listen on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    served
}

/// Starts `cmd` and waits (at most 60 s) until `/health` answers 200 on `addr`.
pub async fn serve(cmd: Command, addr: SocketAddr, what: &str) -> Served {
    let served = spawn_listening(cmd, addr, what).await;
    let start = Instant::now();
    loop {
        if super::request(addr, "GET", "/health", &[], "").await.status == 200 {
            return served;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} did not answer /health on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The runtimes besides ours that serve a packaged component in the tests.
pub const OTHER_RUNTIMES: [&str; 2] = ["wasmtime serve", "spin up"];

/// `wasm` served by `runtime` (one of `OTHER_RUNTIMES`) on a free port, once `/health`
/// answers; `None` (said on stderr) when this machine lacks the shared tool.
pub async fn serve_component(runtime: &str, wasm: &Path) -> Option<(Served, SocketAddr)> {
    serve_component_with_env(runtime, wasm, &[]).await
}

/// `serve_component`, with `env` in the component's environment.
pub async fn serve_component_with_env(
    runtime: &str,
    wasm: &Path,
    env: &[(&str, &str)],
) -> Option<(Served, SocketAddr)> {
    let addr = free_addr();
    let (mut cmd, env_flag) = match runtime {
        "wasmtime serve" => {
            let mut c = Command::new(shared_tool("wasmtime")?);
            c.args(["serve", "-Scli", "--addr", &addr.to_string()]);
            (c, "--env")
        }
        "spin up" => {
            let mut c = Command::new(shared_tool("spin")?);
            c.args(["up", "--listen", &addr.to_string()])
                // Spin keeps its state (logs, key-value files) beside the app; not in the repo.
                .current_dir(std::env::temp_dir());
            (c, "-e")
        }
        other => panic!("no runtime {other:?}"),
    };
    for (k, v) in env {
        cmd.arg(env_flag).arg(format!("{k}={v}"));
    }
    match runtime {
        "spin up" => cmd.arg("-f").arg(wasm),
        _ => cmd.arg(wasm),
    };
    Some((serve(cmd, addr, runtime).await, addr))
}
