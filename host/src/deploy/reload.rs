//! Changing the running set without a restart: the deployment file is read again, every
//! version loaded (unchanged ones reused), and only then the new set swapped in at once.
//! A file or component that does not load is refused and the running set stays. Requests
//! that started before the swap hold the old set and finish on it.

use std::path::PathBuf;

use arc_swap::ArcSwap;
use wasmtime::Result;

use super::Deployment;
use super::load::Loader;
use super::metrics::DeployMetrics;

/// What a reload needs: the file and how to load it. One reload at a time.
pub struct Reloader {
    pub path: PathBuf,
    pub loader: Loader,
    running: tokio::sync::Mutex<()>,
}

impl Reloader {
    pub fn new(path: PathBuf, loader: Loader) -> Self {
        Reloader {
            path,
            loader,
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// The file as it is now, loaded.
    pub async fn load(&self, running: Option<&Deployment>) -> Result<Deployment> {
        let plans = super::config::read(&self.path)?;
        self.loader.load(&plans, running).await
    }

    /// Reads the file again and swaps the new set in; on any error the running set stays
    /// and the error says why.
    pub async fn reload(
        &self,
        current: &ArcSwap<Deployment>,
        metrics: &DeployMetrics,
    ) -> Result<serde_json::Value> {
        let _one_at_a_time = self.running.lock().await;
        let t = std::time::Instant::now();
        let running = current.load_full();
        match self.load(Some(&running)).await {
            Ok(next) => {
                let summary = next.summary();
                current.store(std::sync::Arc::new(next));
                metrics.reloads.with_label_values(&["applied"]).inc();
                tracing::info!(file = %self.path.display(), ms = t.elapsed().as_millis() as u64, deployment = %summary, "deployment reloaded");
                Ok(summary)
            }
            Err(e) => {
                metrics.reloads.with_label_values(&["refused"]).inc();
                tracing::error!(file = %self.path.display(), error = format!("{e:#}"), "reload refused; the running deployment stays");
                Err(e)
            }
        }
    }
}

/// `POST /admin/reload` to a server's admin address: its status and body (what runs now,
/// or why the file was refused). For `host rollback --admin`.
pub async fn post_reload(admin: std::net::SocketAddr) -> Result<(u16, String)> {
    use http_body_util::{BodyExt, Empty};
    use wasmtime::error::Context;
    let stream = tokio::net::TcpStream::connect(admin)
        .await
        .with_context(|| format!("connecting to the admin address {admin}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::post("/admin/reload")
        .header("host", admin.to_string())
        .body(Empty::<bytes::Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
