//! The committed bundles, for unit tests.

use crate::manifest::Manifest;
use crate::reference::Reference;

#[derive(Debug, Clone, Copy)]
pub enum Bundle {
    BreastCancer,
    Penguins,
}

impl Bundle {
    pub fn manifest(self) -> Manifest {
        Manifest::from_json(self.files().0).unwrap()
    }

    pub fn onnx(self) -> &'static [u8] {
        self.files().1
    }

    fn files(self) -> (&'static [u8], &'static [u8], &'static [u8]) {
        macro_rules! bundle {
            ($name:literal) => {
                (
                    include_bytes!(concat!("../../models/", $name, "/manifest.json")),
                    include_bytes!(concat!("../../models/", $name, "/model.onnx")),
                    include_bytes!(concat!("../../models/", $name, "/reference.json")),
                )
            };
        }
        match self {
            Bundle::BreastCancer => bundle!("breast-cancer"),
            Bundle::Penguins => bundle!("penguins"),
        }
    }
}

pub fn penguins_manifest() -> Manifest {
    Bundle::Penguins.manifest()
}

pub fn reference(bundle: Bundle) -> Reference {
    Reference::from_json(bundle.files().2).unwrap()
}
