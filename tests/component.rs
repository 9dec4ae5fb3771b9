//! The component as an artifact: what it imports, and that both bundles are built.

mod common;

use common::runtime;

#[test]
fn imports_nothing_beyond_wasi() {
    for bundle in ["breast-cancer", "penguins"] {
        let imports = runtime(bundle).imports();
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
