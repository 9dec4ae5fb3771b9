//! A test-only component for the host's guards and sandbox: each route misbehaves in
//! one way, or reports what the sandbox let it do. Never shipped.

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: Request) -> Response {
    let path = req.path().to_string();
    let query = req.query().to_string();
    match path.as_str() {
        "/ok" => json(200, r#"{"ok":true}"#.into()),
        "/trap" => panic!("this route panics on purpose"),
        // A version of a model that fails every prediction: the canary the deployment's
        // guardrail must roll back (tests/deploy.rs).
        "/predict" => panic!("this canary fails every prediction on purpose"),
        "/loop" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "/alloc" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "/busy" => {
            // Holds its instance for `ms` milliseconds without trapping.
            let ms: u64 = query
                .strip_prefix("ms=")
                .and_then(|v| v.parse().ok())
                .unwrap_or(200);
            let end = std::time::Instant::now() + std::time::Duration::from_millis(ms);
            while std::time::Instant::now() < end {
                std::hint::black_box(0);
            }
            json(200, r#"{"ok":true}"#.into())
        }
        "/sandbox" => {
            let file = std::fs::read("/etc/hostname")
                .map(|b| b.len())
                .map_err(|e| e.to_string());
            let dir = std::fs::read_dir("/")
                .map(|d| d.count())
                .map_err(|e| e.to_string());
            let env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
            let tcp = std::net::TcpStream::connect("127.0.0.1:9")
                .map(|_| ())
                .map_err(|e| e.to_string());
            let outbound = spin_sdk::http::send::<_, Response>(Request::new(
                Method::Get,
                "http://127.0.0.1:9/",
            ))
            .await
            .map(|r| *r.status())
            .map_err(|e| e.to_string());
            let body = format!(
                r#"{{"file":{},"dir":{},"env":{:?},"tcp":{},"outbound":{}}}"#,
                outcome(&file),
                outcome(&dir),
                env,
                outcome(&tcp),
                outcome(&outbound)
            );
            json(200, body)
        }
        _ => json(
            404,
            r#"{"error":{"code":"not_found","message":"","details":[]}}"#.into(),
        ),
    }
}

/// `{"ok": true}` or `{"ok": false, "error": "..."}`.
fn outcome<T>(r: &Result<T, String>) -> String {
    match r {
        Ok(_) => r#"{"ok":true}"#.into(),
        Err(e) => format!(r#"{{"ok":false,"error":{:?}}}"#, e),
    }
}

fn json(status: u16, body: String) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body)
        .build()
        .into_response()
}
