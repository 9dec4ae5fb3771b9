//! Image bundles (kind `image`, discovered under `models/`): the packaged component over
//! HTTP — on our host, under `wasmtime serve` and under `spin up` — against the bundle's
//! reference (Pillow's preprocessing and onnxruntime, models/<name>/make.py), every
//! sample image: the top-1 class equal, its probability within `MAX_TOP1_DIFF`. Plus both
//! carriers (raw body, base64 in JSON), `?top_k=`, and hostile input: decompression bombs,
//! truncated and corrupt files, other formats, the largest image accepted. The tract
//! network and the preprocessing are checked natively in pipeline/tests/image.rs.

use crate::common;

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::served::{OTHER_RUNTIMES, serve_component};
use common::{image_bundles, post_json, request, server};
use host::verify_image::{ImageReference, MAX_TOP1_DIFF, top1_of};
use pipeline::image::request::MAX_IMAGES;
use serde_json::json;

fn reference(bundle: &str) -> ImageReference {
    let dir = common::bundle_dir(bundle);
    ImageReference::read(&dir, &std::fs::read(dir.join("reference.json")).unwrap()).unwrap()
}

/// One at a time with the other network tests: each image runs a network for tens of
/// milliseconds of both cores.
use common::NETWORKS_ONE_AT_A_TIME as ONE_AT_A_TIME;

async fn post_image(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    bytes: &[u8],
) -> common::Reply {
    request(
        addr,
        "POST",
        path,
        &[("content-type", content_type)],
        bytes.to_vec(),
    )
    .await
}

/// Every reference image posted raw; returns the largest top-1 probability difference
/// and the response bodies.
async fn check_every_sample(addr: SocketAddr, bundle: &str, what: &str) -> (f64, Vec<Vec<u8>>) {
    let reference = reference(bundle);
    assert!(reference.samples.len() >= 20, "{bundle}: too few samples");
    let (mut worst, mut bodies) = (0f64, Vec::new());
    for s in &reference.samples {
        let reply = post_image(addr, "/predict", &s.content_type, &s.bytes).await;
        assert_eq!(
            reply.status,
            200,
            "{what} {bundle} {}: {}",
            s.file,
            String::from_utf8_lossy(&reply.body)
        );
        let tops = top1_of(&reply.body).unwrap();
        assert_eq!(tops.len(), 1, "{what} {}", s.file);
        let d = s
            .check(tops[0])
            .unwrap_or_else(|e| panic!("{what} {bundle} {}: {e}", s.file));
        worst = worst.max(d);
        bodies.push(reply.body);
    }
    assert!(worst <= MAX_TOP1_DIFF);
    (worst, bodies)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_packaged_component_classifies_every_reference_image_like_the_reference_and_its_drift_is_watched()
 {
    let _serial = ONE_AT_A_TIME.lock().await;
    for bundle in image_bundles() {
        let n = reference(&bundle).samples.len();
        let srv = common::drift::server_with_window(&bundle, n).await;
        let (worst, _) = check_every_sample(srv.addr, &bundle, "host").await;
        eprintln!("{bundle}: top-1 equal on every sample on our host; worst |Δp| {worst:e}");
        // The host watches the images' sizes and brightness and the answers' confidence.
        let one = &reference(&bundle).samples[0];
        common::drift::check_summaries(srv.addr, &bundle, n, "bytes", async || {
            let r = post_image(srv.addr, "/predict", &one.content_type, &one.bytes).await;
            assert_eq!(r.status, 200);
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_packaged_component_answers_alike_under_spin_and_wasmtime_serve() {
    let _serial = ONE_AT_A_TIME.lock().await;
    for bundle in image_bundles() {
        let ours = {
            let srv = server(&bundle).await;
            check_every_sample(srv.addr, &bundle, "host").await.1
        };
        let wasm = common::packaged_wasm(&bundle).await;
        for runtime in OTHER_RUNTIMES {
            let Some((_served, addr)) = serve_component(runtime, &wasm).await else {
                return;
            };
            let (_, theirs) = check_every_sample(addr, &bundle, runtime).await;
            common::assert_same_bodies(&bundle, runtime, &theirs, &ours);
        }
        let _ = std::fs::remove_file(wasm);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_carries_several_images_and_top_k_sets_the_list() {
    let _serial = ONE_AT_A_TIME.lock().await;
    for bundle in image_bundles() {
        let srv = server(&bundle).await;
        let reference = reference(&bundle);
        let pick = [&reference.samples[0], &reference.samples[1]];
        let b64 = base64::engine::general_purpose::STANDARD;
        let instances: Vec<_> = pick
            .iter()
            .map(|s| json!({"image": b64.encode(&s.bytes)}))
            .collect();
        let r = post_json(
            srv.addr,
            "/predict?top_k=3",
            &json!({ "instances": instances }),
        )
        .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let body = r.json();
        let predictions = body["predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), 2);
        for (p, s) in predictions.iter().zip(pick) {
            let top_k = p["top_k"].as_array().unwrap();
            assert_eq!(top_k.len(), 3);
            assert_eq!(p["label"], top_k[0]["label"]);
            assert_eq!(p["confidence"], top_k[0]["probability"]);
            let probabilities: Vec<f64> = top_k
                .iter()
                .map(|c| c["probability"].as_f64().unwrap())
                .collect();
            assert!(probabilities.windows(2).all(|w| w[0] >= w[1]));
            s.check((
                top_k[0]["index"].as_u64().unwrap() as usize,
                probabilities[0],
            ))
            .unwrap();
        }
        assert_eq!(body["model"]["name"], bundle);
        // The bundle's default k, and every class on request.
        let s = pick[0];
        let r = post_image(srv.addr, "/predict", &s.content_type, &s.bytes).await;
        let default_k = common::bundle_manifest(&bundle)["top_k"].as_u64().unwrap();
        assert_eq!(
            r.json()["predictions"][0]["top_k"]
                .as_array()
                .unwrap()
                .len() as u64,
            default_k
        );
        let meta = request(srv.addr, "GET", "/metadata", &[], "").await.json();
        let classes = meta["labels"].as_array().unwrap().len();
        let r = post_image(
            srv.addr,
            &format!("/predict?top_k={classes}"),
            &s.content_type,
            &s.bytes,
        )
        .await;
        let all = r.json()["predictions"][0]["top_k"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(all.len(), classes);
        let sum: f64 = all.iter().map(|c| c["probability"].as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-6, "probabilities sum to {sum}");
    }
}

/// The request's event carries each image's size, brightness and bytes, and the answer;
/// never the pixels.
#[tokio::test(flavor = "multi_thread")]
async fn events_summarise_each_image_without_its_pixels() {
    let _serial = ONE_AT_A_TIME.lock().await;
    for bundle in image_bundles() {
        let rt = common::runtime(&bundle).await;
        let reference = reference(&bundle);
        let s = &reference.samples[0];
        let reply = host::direct::post_predict(&rt, &s.content_type, s.bytes.clone())
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
        let event: serde_json::Value =
            serde_json::from_slice(reply.stderr.split(|b| *b == b'\n').next().unwrap()).unwrap();
        let decoded = image::load_from_memory(&s.bytes).unwrap();
        let input = &event["inputs"][0];
        assert_eq!(event["batch_size"], 1);
        assert_eq!(input["width"], f64::from(decoded.width()));
        assert_eq!(input["height"], f64::from(decoded.height()));
        assert_eq!(input["bytes"], s.bytes.len() as f64);
        let luma = decoded.to_luma8();
        let mean = luma.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / luma.len() as f64;
        let brightness = input["brightness"].as_f64().unwrap();
        assert!((brightness - mean).abs() < 1.5, "{brightness} vs {mean}");
        let top = top1_of(&reply.body).unwrap()[0].0;
        assert_eq!(
            event["predictions"][0]["label"],
            json!(reference_label(&bundle, top))
        );
        assert!(
            reply.stderr.len() < 2048,
            "{} bytes of event",
            reply.stderr.len()
        );
    }
}

fn reference_label(bundle: &str, index: usize) -> String {
    let labels: Vec<String> = serde_json::from_slice(
        &std::fs::read(common::bundle_dir(bundle).join("labels.json")).unwrap(),
    )
    .unwrap();
    labels[index].clone()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A PNG whose header says `width × height` and whose IDAT is 4 KiB of zeros,
/// deflate-compressed: inflating it for real would need width × height × 3 bytes.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let small = png(16, 16);
    // Signature + IHDR chunk (8 + 25 bytes); patch the dimensions and the CRC.
    let mut out = small[..33].to_vec();
    out[16..20].copy_from_slice(&width.to_be_bytes());
    out[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&out[12..29]);
    out[29..33].copy_from_slice(&crc.to_be_bytes());
    let idat = {
        let mut e = Vec::new();
        // A stored zlib stream is enough: the header check refuses before inflating.
        e.extend_from_slice(&[0x78, 0x01]);
        e.extend_from_slice(&[0x01, 0x00, 0x10, 0xff, 0xef]);
        e.extend_from_slice(&[0u8; 4096]);
        e
    };
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (!(crc & 1)).wrapping_add(1));
        }
    }
    !crc
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_images_are_fast_4xx_that_name_the_problem() {
    let _serial = ONE_AT_A_TIME.lock().await;
    for bundle in image_bundles() {
        let srv = server(&bundle).await;
        let a = srv.addr;
        let jpeg = reference(&bundle)
            .samples
            .into_iter()
            .find(|s| s.content_type == "image/jpeg")
            .expect("a JPEG sample")
            .bytes;
        let problem = |r: &common::Reply| r.json()["error"]["details"][0]["problem"].to_string();

        // Decompression bombs: refused from the header, in milliseconds, never a trap.
        for (w, h) in [(60_000, 60_000), (4097, 16), (5000, 5000)] {
            let bomb = png_bomb(w, h);
            let t = Instant::now();
            let r = post_image(a, "/predict", "image/png", &bomb).await;
            let took = t.elapsed();
            assert_eq!(
                r.status,
                422,
                "{w}×{h}: {}",
                String::from_utf8_lossy(&r.body)
            );
            assert!(
                problem(&r).contains(&format!("{w}×{h} pixels")),
                "{}",
                problem(&r)
            );
            assert!(took < Duration::from_secs(1), "{w}×{h}: {took:?}");
        }
        // Truncated JPEG (every cut a 4xx), corrupt bytes, other formats, empty.
        for cut in [3, 100, jpeg.len() / 2, jpeg.len() - 2] {
            let r = post_image(a, "/predict", "image/jpeg", &jpeg[..cut]).await;
            assert_eq!(
                r.status,
                422,
                "cut at {cut}: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
        let mut corrupt = jpeg.clone();
        for b in corrupt.iter_mut().skip(600).step_by(7) {
            *b = b.wrapping_mul(31).wrapping_add(7);
        }
        let r = post_image(a, "/predict", "image/jpeg", &corrupt).await;
        assert!([200, 422].contains(&r.status), "corrupt JPEG: {}", r.status);
        let r = post_image(a, "/predict", "image/png", b"GIF89a\x01\x00\x01\x00").await;
        assert_eq!(r.status, 415);
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("GIF")
        );
        let r = post_image(a, "/predict", "image/jpeg", b"<html>not an image</html>").await;
        assert_eq!(r.status, 415);
        let r = post_image(a, "/predict", "image/jpeg", b"").await;
        assert_eq!(r.status, 400);
        // The head: Content-Type and top_k, refused before the body is read.
        let r = post_image(a, "/predict", "image/gif", &jpeg).await;
        assert_eq!(r.status, 415);
        for bad in ["0", "1001", "x", "-3"] {
            let r = post_image(a, &format!("/predict?top_k={bad}"), "image/jpeg", &jpeg).await;
            assert_eq!(
                (r.status, r.error_fields()),
                (422, vec!["top_k".to_string()]),
                "{bad}"
            );
        }
        // JSON: too many images, bad base64, a bomb among good images: each named.
        let b64 = base64::engine::general_purpose::STANDARD;
        let tiny = b64.encode(png(8, 8));
        let r = post_json(
            a,
            "/predict",
            &json!({"instances": vec![json!({"image": tiny}); MAX_IMAGES + 1]}),
        )
        .await;
        assert_eq!(
            (r.status, r.error_fields()),
            (422, vec!["instances".to_string()])
        );
        let r = post_json(
            a,
            "/predict",
            &json!({"instances": [{"image": tiny}, {"image": "%%%"}, {"img": tiny}]}),
        )
        .await;
        assert_eq!(
            (r.status, r.error_fields()),
            (
                422,
                vec![
                    "instances[1].image".to_string(),
                    "instances[2].image".to_string()
                ]
            )
        );
        let r = post_json(
            a,
            "/predict",
            &json!({"instances": [{"image": tiny}, {"image": b64.encode(png_bomb(60_000, 60_000))}]}),
        )
        .await;
        assert_eq!(
            (r.status, r.error_fields()),
            (422, vec!["instances[1].image".to_string()])
        );
        // Over the body limit: 413 before decoding.
        let big = vec![0xffu8; pipeline::MAX_BODY_BYTES + 1];
        assert_eq!(
            post_image(a, "/predict", "image/jpeg", &big).await.status,
            413
        );

        // The largest images accepted, at the limits, answer (within the instance's
        // memory cap and the host's deadline).
        for (w, h) in [(4096, 4096), (4096, 1), (1, 1)] {
            let file = png(w, h);
            assert!(file.len() <= pipeline::MAX_BODY_BYTES, "{}", file.len());
            let t = Instant::now();
            let r = post_image(a, "/predict", "image/png", &file).await;
            assert_eq!(
                r.status,
                200,
                "{w}×{h}: {}",
                String::from_utf8_lossy(&r.body)
            );
            eprintln!(
                "{bundle}: {w}×{h} PNG ({} bytes) answered in {:?}",
                file.len(),
                t.elapsed()
            );
        }
        // MAX_IMAGES in one request (the smallest sample, to fit the body limit).
        let smallest = reference(&bundle)
            .samples
            .into_iter()
            .min_by_key(|s| s.bytes.len())
            .unwrap()
            .bytes;
        let t = Instant::now();
        let r = post_json(
            a,
            "/predict",
            &json!({"instances": vec![json!({"image": b64.encode(&smallest)}); MAX_IMAGES]}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        eprintln!(
            "{bundle}: {MAX_IMAGES} images in one request answered in {:?}",
            t.elapsed()
        );

        // The server is still there, and says what it accepts.
        let meta = request(a, "GET", "/metadata", &[], "").await.json();
        assert_eq!(meta["kind"], "image");
        assert_eq!(meta["limits"]["max_images"], MAX_IMAGES);
        let health = request(a, "GET", "/health", &[], "").await.json();
        assert_eq!(health["model_loaded"], "snapshot");
        assert_eq!(request(a, "GET", "/predict", &[], "").await.status, 405);
    }
}
