//! The packaged component runs unchanged under other hosts: `spin up` (Spin 4.1) and
//! `wasmtime serve` (wasmtime-cli 48.0.8), from `../shared/tools` beside the repository.
//! Every bundle under `models/`, every reference row over HTTP against the user's
//! pipeline, plus the error contract. Without the tools (a machine that lacks
//! `../shared/tools`) the test says so and passes; under CI (`CI` set) they must be there.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{bundles, post_json, reference, request};
use serde_json::json;

/// A runtime's process group, killed when dropped: `spin up` runs the HTTP trigger as a
/// child process, which would outlive a kill of `spin up` alone.
struct Served(Child);

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

fn tool(name: &str) -> Option<PathBuf> {
    let path = common::repo_root().join("../shared/tools").join(name);
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

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Starts `cmd` and waits (at most 60 s) until `/health` answers on `addr`.
async fn serve(mut cmd: Command, addr: SocketAddr, what: &str) -> Served {
    use std::os::unix::process::CommandExt;
    let child = cmd
        // Its own process group, so that drop can end the runtime's children too.
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let served = Served(child);
    let start = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            let r = request(addr, "GET", "/health", &[], "").await;
            if r.status == 200 {
                return served;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} did not come up on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn check_every_row(addr: SocketAddr, bundle: &str, what: &str) {
    common::check_rows_over_http(addr, &reference(bundle), &format!("{what} {bundle}")).await;
    let json_ct = [("content-type", "application/json")];
    let r = request(addr, "POST", "/predict", &json_ct, "{\"features\": ").await;
    assert_eq!(
        (r.status, r.error_code()),
        (400, "malformed_json".into()),
        "{what}"
    );
    let r = request(
        addr,
        "POST",
        "/predict",
        &[("content-type", "text/csv")],
        "1,2",
    )
    .await;
    assert_eq!(r.status, 415, "{what}");
    let r = post_json(
        addr,
        "/predict",
        &json!({"features": {"no_such_feature": 1}}),
    )
    .await;
    assert_eq!(r.status, 422, "{what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn packaged_components_answer_alike_under_spin_and_wasmtime_serve() {
    let (Some(spin), Some(wasmtime)) = (tool("spin"), tool("wasmtime")) else {
        return;
    };
    for bundle in bundles() {
        let wasm = common::packaged_wasm(&bundle).await;

        let addr = free_addr();
        let mut cmd = Command::new(&wasmtime);
        cmd.args(["serve", "-Scli", "--addr", &addr.to_string()])
            .arg(&wasm);
        let served = serve(cmd, addr, "wasmtime serve").await;
        check_every_row(addr, &bundle, "wasmtime serve").await;
        drop(served);

        let addr = free_addr();
        let mut cmd = Command::new(&spin);
        cmd.args(["up", "--listen", &addr.to_string(), "-f"])
            .arg(&wasm)
            // Spin keeps its state (logs, key-value files) beside the app; not in the repo.
            .current_dir(std::env::temp_dir());
        let served = serve(cmd, addr, "spin up").await;
        check_every_row(addr, &bundle, "spin up").await;
        drop(served);

        let _ = std::fs::remove_file(wasm);
        eprintln!("{bundle}: every reference row alike under wasmtime serve and spin up");
    }
}
