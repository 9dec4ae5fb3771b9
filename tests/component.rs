//! The component as an artifact: what it imports, what packaging records in it, that
//! packaging refuses what it cannot verify, and `.cwasm` loading.

use crate::common;

use std::path::{Path, PathBuf};

use common::{bundles, guest_for, runtime};
use host::{PoolLimits, Runtime, component};

#[tokio::test(flavor = "multi_thread")]
async fn imports_nothing_beyond_wasi() {
    for bundle in bundles() {
        let imports = runtime(&bundle).await.imports();
        assert!(!imports.is_empty());
        for name in &imports {
            assert!(name.starts_with("wasi:"), "{bundle} imports {name}");
        }
        // In particular nothing of Spin's own platform.
        assert!(!imports.iter().any(|i| i.starts_with("fermyon:")));
    }
}

/// A scratch copy of a bundle directory to break in a test.
fn copy_bundle(bundle: &str, tag: &str) -> PathBuf {
    let from = common::bundle_dir(bundle);
    let to = std::env::temp_dir().join(format!("mlfn-{tag}-{}", common::unique()));
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    to
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

async fn package_error(dir: &Path) -> String {
    match host::package::package_dir(&guest_for(dir), dir, PoolLimits::default()).await {
        Ok(_) => panic!("{} was packaged", dir.display()),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_packaged_component_names_its_bundle() {
    let wasm = common::packaged_wasm("penguins").await;
    let info = host::package::bundle_info(&std::fs::read(&wasm).unwrap()).unwrap();
    assert_eq!(info.name, "penguins");
    let manifest = std::fs::read(common::bundle_dir("penguins").join("manifest.json")).unwrap();
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&manifest)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(info.files["manifest.json"], digest);
    let rt = Runtime::load(&wasm, PoolLimits::default()).await.unwrap();
    assert_eq!(rt.bundle.as_ref(), Some(&info));
    let _ = std::fs::remove_file(wasm);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_file_that_does_not_match_its_sha256_is_refused() {
    let dir = copy_bundle("breast-cancer", "tampered-model");
    let model = dir.join("model.json");
    let mut bytes = std::fs::read(&model).unwrap();
    let at = bytes.iter().rposition(|b| b.is_ascii_digit()).unwrap();
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&model, bytes).unwrap();
    let err = package_error(&dir).await;
    assert!(err.contains("sha256"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_that_disagrees_with_the_reference_is_refused_with_the_worst_row() {
    let dir = copy_bundle("breast-cancer", "tampered-reference");
    edit_json(&dir.join("reference.json"), |r| {
        let row = &mut r["rows"][3];
        let p = row["probabilities"].as_array_mut().unwrap();
        let x = p[0].as_f64().unwrap();
        p[0] = serde_json::json!(x + 1e-3);
    });
    let err = package_error(&dir).await;
    assert!(err.contains("1 outside tolerance"), "{err}");
    assert!(err.contains("row 3"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_without_reference_is_not_packaged_unverified() {
    let dir = copy_bundle("breast-cancer", "no-reference");
    std::fs::remove_file(dir.join("reference.json")).unwrap();
    let err = package_error(&dir).await;
    assert!(err.contains("never packaged unverified"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manifest_that_does_not_load_fails_packaging_with_its_reason() {
    let dir = copy_bundle("penguins", "bad-manifest");
    edit_json(&dir.join("manifest.json"), |m| {
        m["kind"] = serde_json::json!("hologram");
    });
    let err = package_error(&dir).await;
    assert!(err.contains("hologram"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The model-less guests cannot be snapshotted without a bundle, and serve a clear 500
/// when run as they are.
#[tokio::test(flavor = "multi_thread")]
async fn the_unpackaged_guests_say_they_have_no_model() {
    for guest in [host::guests::GUEST, host::guests::TABULAR_GUEST] {
        let rt = Runtime::load(Path::new(guest), PoolLimits::default())
            .await
            .unwrap();
        let srv = host::server::spawn(std::sync::Arc::new(rt), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let reply = common::request(srv.addr, "GET", "/health", &[], "").await;
        assert_eq!(reply.status, 500, "{guest}");
        assert!(
            reply.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("host package"),
            "{guest}: {:?}",
            reply.json()
        );
    }
}

/// Tabular bundles go into the tabular guest: a fraction of the full guest's size, with
/// the same answers (every other test serves them so). A network bundle given to it is
/// refused at packaging, naming what that guest serves.
#[tokio::test(flavor = "multi_thread")]
async fn tabular_bundles_get_the_small_guest_and_it_refuses_networks() {
    let full = std::fs::metadata(host::guests::GUEST).unwrap().len();
    let tabular = std::fs::metadata(host::guests::TABULAR_GUEST)
        .unwrap()
        .len();
    eprintln!("guest {full} bytes, tabular guest {tabular} bytes");
    assert!(
        tabular * 4 < full,
        "tabular guest {tabular} vs {full} bytes"
    );
    for dir in host::guests::bundle_dirs() {
        assert_eq!(host::guests::for_bundle(&dir), host::guests::TABULAR_GUEST);
    }
    let network = host::guests::bundle_dirs_of_kind("file-type")
        .into_iter()
        .next()
        .expect("a file-type bundle under models/");
    assert_eq!(host::guests::for_bundle(&network), host::guests::GUEST);
    let small = std::fs::read(host::guests::TABULAR_GUEST).unwrap();
    let err = match host::package::package_dir(&small, &network, PoolLimits::default()).await {
        Ok(_) => panic!("the tabular guest packaged {}", network.display()),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("not supported by this build (it serves: tabular)"),
        "{err}"
    );
}

/// `host compile` output loads by mmap; one made for another engine configuration is
/// refused with a message that says what to do.
#[tokio::test(flavor = "multi_thread")]
async fn cwasm_loads_and_a_foreign_one_is_refused() {
    let wasm = common::packaged_wasm("penguins").await;
    let dir = std::env::temp_dir().join(format!("cwasm-test-{}", common::unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = dir.join("ours.cwasm");
    let engine = host::engine::engine(PoolLimits::default()).unwrap();
    component::compile_to_file(&engine, &wasm, &ours).unwrap();
    let rt = Runtime::load(&ours, PoolLimits::default()).await.unwrap();
    assert_eq!(rt.loaded, component::Loaded::Precompiled);
    assert_eq!(rt.metadata().await.unwrap().name, "penguins");

    // Same wasmtime, different memory layout (a tunable the code is compiled for).
    let mut config = wasmtime::Config::new();
    config.memory_reservation(1 << 30);
    let other = wasmtime::Engine::new(&config).unwrap();
    let foreign = dir.join("foreign.cwasm");
    std::fs::write(
        &foreign,
        other
            .precompile_component(&std::fs::read(&wasm).unwrap())
            .unwrap(),
    )
    .unwrap();
    let err = match Runtime::load(&foreign, PoolLimits::default()).await {
        Ok(_) => panic!("a foreign .cwasm was accepted"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("recompile it from the .wasm with `host compile`"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(wasm);
}

/// Requests with large bodies are instantiated from a second copy of a small component,
/// so that the pool's slots they dirty are not the ones small requests reuse
/// (`Runtime::proxy_pre_for`): a distinct component, with code of its own.
#[tokio::test(flavor = "multi_thread")]
async fn large_bodies_get_a_copy_of_the_component_of_their_own() {
    use host::runtime::LARGE_BODY_BYTES;
    let rt = runtime("breast-cancer").await;
    let code = |body_bytes: usize| {
        rt.proxy_pre_for(body_bytes)
            .instance_pre()
            .component()
            .image_range()
    };
    assert_eq!(code(0), code(LARGE_BODY_BYTES - 1));
    assert_eq!(code(LARGE_BODY_BYTES), code(usize::MAX));
    assert_ne!(code(0), code(LARGE_BODY_BYTES));
}
