//! The component as an artifact: what it imports, and that both bundles are built.

mod common;

use common::runtime;

#[tokio::test(flavor = "multi_thread")]
async fn imports_nothing_beyond_wasi() {
    for bundle in ["breast-cancer", "penguins"] {
        let imports = runtime(bundle).await.imports();
        assert!(!imports.is_empty());
        for name in &imports {
            assert!(name.starts_with("wasi:"), "{bundle} imports {name}");
        }
        // In particular nothing of Spin's own platform.
        assert!(!imports.iter().any(|i| i.starts_with("fermyon:")));
    }
}

#[test]
fn each_bundle_has_a_component() {
    for dir in std::fs::read_dir(common::repo_root().join("models")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.join("manifest.json").is_file() {
            let name = dir.file_name().unwrap().to_str().unwrap();
            let path =
                host::guests::guest_path(name).unwrap_or_else(|| panic!("no component for {name}"));
            assert!(path.is_file());
        }
    }
}

/// `host compile` output loads by mmap; one made for another engine configuration is
/// refused with a message that says what to do.
#[tokio::test(flavor = "multi_thread")]
async fn cwasm_loads_and_a_foreign_one_is_refused() {
    use host::{PoolLimits, Prepare, Runtime, component};
    let wasm = host::guests::guest_path("penguins").unwrap();
    let dir = std::env::temp_dir().join(format!("cwasm-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = dir.join("ours.cwasm");
    let engine = host::engine::engine(PoolLimits::default()).unwrap();
    component::compile_to_file(&engine, &wasm, &ours).unwrap();
    let rt = Runtime::load(&ours, PoolLimits::default(), Prepare::AsIs)
        .await
        .unwrap();
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
    let err = match Runtime::load(&foreign, PoolLimits::default(), Prepare::AsIs).await {
        Ok(_) => panic!("a foreign .cwasm was accepted"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("recompile it from the .wasm with `host compile`"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
