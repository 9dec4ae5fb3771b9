//! RGB pixels → the network's input tensor, as models/efficientnet-lite0/make.py
//! `preprocess` makes it after `convert("RGB")`:
//!
//! ```python
//! side = max(1, int(CROP_FRACTION * min(w, h)))
//! left, top = (w - side + 1) // 2, (h - side + 1) // 2
//! im = im.crop((left, top, left + side, top + side))
//! im = im.resize((INPUT, INPUT), Image.Resampling.BICUBIC)
//! x = np.asarray(im, dtype=np.float32)
//! x = (x / np.float32(SCALE) - np.asarray(MEAN, np.float32)) / np.asarray(STD, np.float32)
//! x.transpose(2, 0, 1)[None]
//! ```
//!
//! The crop is made before resizing, as there: resampling the crop's box inside the whole
//! image would let the filter read pixels outside the crop, and the edges would differ.
//! The arithmetic is float32 in numpy's order, so equal pixels give equal bits.

use std::fmt;

use super::decode::RgbImage8;
use super::resize::{self, Filter, ResizeError};

/// The manifest's `image` section, in the terms of this pipeline (`input_size` is
/// `[height, width]`; `interpolation` via [`Filter::from_name`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TensorRecipe {
    /// Output width and height; the tensor is NCHW `[1, 3, height, width]`.
    pub width: u32,
    pub height: u32,
    /// Side of the centred square crop as a fraction of the shorter side (`crop_fraction`).
    pub crop_fraction: f64,
    /// `interpolation`.
    pub filter: Filter,
    /// `value = (pixel / scale - mean[c]) / std[c]`, per RGB channel.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub scale: f32,
}

impl TensorRecipe {
    /// Refuses values the recipe cannot mean (a crop larger than the image would make Pillow
    /// pad with black; a zero `std` or `scale` divides by zero).
    pub fn validate(&self) -> Result<(), TensorError> {
        let bad = |what: &str| Err(TensorError::InvalidRecipe(what.to_string()));
        if self.width == 0 || self.height == 0 {
            return bad("input_size must be at least 1×1");
        }
        if !(self.crop_fraction > 0.0 && self.crop_fraction <= 1.0) {
            return bad("crop_fraction must be in (0, 1]");
        }
        if !(self.scale.is_finite() && self.scale != 0.0) {
            return bad("scale must be finite and non-zero");
        }
        if self.std.iter().chain(&self.mean).any(|v| !v.is_finite()) || self.std.contains(&0.0) {
            return bad("mean and std must be finite and std non-zero");
        }
        Ok(())
    }

    /// Number of `f32` values in the tensor: `3 * height * width`.
    pub fn len(&self) -> usize {
        3 * self.width as usize * self.height as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TensorError {
    InvalidRecipe(String),
    Resize(ResizeError),
}

impl fmt::Display for TensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorError::InvalidRecipe(what) => write!(f, "invalid image preprocessing: {what}"),
            TensorError::Resize(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TensorError {}

impl From<ResizeError> for TensorError {
    fn from(e: ResizeError) -> Self {
        TensorError::Resize(e)
    }
}

/// A square region of the source image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crop {
    pub left: u32,
    pub top: u32,
    pub side: u32,
}

/// The centred square: `side = max(1, int(fraction * min(w, h)))` (the product in f64, as
/// Python's float; `int` truncates), `left = (w - side + 1) // 2`, `top` likewise.
pub fn center_crop(width: u32, height: u32, crop_fraction: f64) -> Crop {
    let short = width.min(height);
    // `as` truncates toward zero (and saturates); the upper bound keeps a fraction above 1
    // (which `TensorRecipe::validate` refuses) inside the image.
    let side = ((crop_fraction * f64::from(short)) as u32).clamp(1, short.max(1));
    Crop {
        left: width.saturating_sub(side).div_ceil(2),
        top: height.saturating_sub(side).div_ceil(2),
        side,
    }
}

/// Copies `crop` out of `img` (`Image.crop`); `None` if it is not inside the image.
pub fn crop(img: &RgbImage8, crop: Crop) -> Option<RgbImage8> {
    let (l, t, s) = (crop.left as usize, crop.top as usize, crop.side as usize);
    if l + s > img.width() as usize || t + s > img.height() as usize {
        return None;
    }
    let stride = img.width() as usize * 3;
    let mut out = Vec::new();
    out.try_reserve_exact(s * s * 3).ok()?;
    for row in img.pixels().chunks_exact(stride).skip(t).take(s) {
        out.extend_from_slice(row.get(l * 3..(l + s) * 3)?);
    }
    RgbImage8::from_raw(crop.side, crop.side, out)
}

/// NCHW float32 of an image already at the output size:
/// `(pixel / scale - mean[c]) / std[c]`, each operation rounded to f32 as numpy does.
pub fn normalize(img: &RgbImage8, recipe: &TensorRecipe) -> Vec<f32> {
    // 256 possible values per channel: a table computes each once, with the same bits.
    let mut table = [[0f32; 256]; 3];
    for (c, t) in table.iter_mut().enumerate() {
        for (p, v) in t.iter_mut().enumerate() {
            *v = (p as f32 / recipe.scale - recipe.mean[c]) / recipe.std[c];
        }
    }
    let plane = img.width() as usize * img.height() as usize;
    let mut out = vec![0f32; 3 * plane];
    let (r, rest) = out.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    for (i, px) in img.pixels().chunks_exact(3).enumerate() {
        r[i] = table[0][px[0] as usize];
        g[i] = table[1][px[1] as usize];
        b[i] = table[2][px[2] as usize];
    }
    out
}

/// The whole recipe: centre crop, resize to `width × height`, normalise to NCHW
/// (`[1, 3, height, width]`, batch dimension implied).
pub fn to_tensor(img: &RgbImage8, recipe: &TensorRecipe) -> Result<Vec<f32>, TensorError> {
    recipe.validate()?;
    let c = center_crop(img.width(), img.height(), recipe.crop_fraction);
    let square = crop(img, c).ok_or(ResizeError::BadBox([
        c.left as f32,
        c.top as f32,
        (c.left + c.side) as f32,
        (c.top + c.side) as f32,
    ]))?;
    let resized = resize::resize(&square, recipe.width, recipe.height, recipe.filter)?;
    Ok(normalize(&resized, recipe))
}

#[cfg(test)]
mod tests {
    use super::super::decode::{self, DecodeLimits};
    use super::*;
    use sha2::{Digest, Sha256};

    const BUNDLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/efficientnet-lite0");

    fn read(name: &str) -> Vec<u8> {
        let path = format!("{BUNDLE}/{name}");
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn json(name: &str) -> serde_json::Value {
        serde_json::from_slice(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The recipe in the bundle's manifest.json `image` section.
    fn manifest_recipe() -> TensorRecipe {
        let m = json("manifest.json");
        let i = &m["image"];
        assert_eq!(i["crop"], "center");
        assert_eq!(i["layout"], "NCHW");
        assert_eq!(i["color"], "RGB");
        let num = |v: &serde_json::Value| v.as_f64().unwrap_or_else(|| panic!("{v} is a number"));
        let triple = |v: &serde_json::Value| {
            let a: Vec<f32> = v
                .as_array()
                .expect("an array")
                .iter()
                .map(|x| num(x) as f32)
                .collect();
            [a[0], a[1], a[2]]
        };
        let size = i["input_size"].as_array().expect("input_size");
        TensorRecipe {
            height: num(&size[0]) as u32,
            width: num(&size[1]) as u32,
            crop_fraction: num(&i["crop_fraction"]),
            filter: Filter::from_name(i["interpolation"].as_str().expect("a string"))
                .expect("a known filter"),
            mean: triple(&i["mean"]),
            std: triple(&i["std"]),
            scale: num(&i["scale"]) as f32,
        }
    }

    fn tensor_of(file: &str, recipe: &TensorRecipe) -> Vec<f32> {
        let img = decode::decode(&read(file), &DecodeLimits::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        to_tensor(&img, recipe).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    fn le_bytes(t: &[f32]) -> Vec<u8> {
        t.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    fn samples() -> Vec<serde_json::Value> {
        json("reference.json")["samples"]
            .as_array()
            .expect("samples")
            .clone()
    }

    #[test]
    fn png_samples_are_bit_identical_to_pillow() {
        let recipe = manifest_recipe();
        let mut checked = 0;
        let mut wrong = Vec::new();
        for s in samples()
            .iter()
            .filter(|s| s["content_type"] == "image/png")
        {
            let file = s["file"].as_str().expect("file");
            let t = tensor_of(file, &recipe);
            assert_eq!(t.len(), recipe.len());
            let digest = format!("{:x}", Sha256::digest(le_bytes(&t)));
            if digest != s["tensor_sha256"].as_str().expect("tensor_sha256") {
                wrong.push(file.to_string());
            }
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} PNG samples");
        assert!(wrong.is_empty(), "tensor differs from Pillow's: {wrong:?}");
    }

    #[test]
    fn committed_tensors() {
        let recipe = manifest_recipe();
        for s in samples().iter().filter(|s| s.get("tensor").is_some()) {
            let file = s["file"].as_str().expect("file");
            let want_bytes = read(s["tensor"].as_str().expect("tensor"));
            let got = tensor_of(file, &recipe);
            if s["content_type"] == "image/png" {
                assert!(
                    le_bytes(&got) == want_bytes,
                    "{file}: differs from Pillow's"
                );
            } else {
                // JPEG: zune-jpeg is not libjpeg-turbo; reported, not checked.
                let want: Vec<f32> = want_bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                let d = max_abs_diff(&got, &want);
                eprintln!("{file}: max |diff| {d} ({} pixel levels)", d * 128.0);
            }
        }
    }

    /// Every JPEG sample against Pillow tensors dumped by make.py's `preprocess` into
    /// `$PILLOW_TENSORS/<stem>.f32` (not committed). Run with `--ignored --nocapture`.
    #[test]
    #[ignore]
    fn jpeg_samples_against_dumped_pillow_tensors() {
        let dir = std::env::var("PILLOW_TENSORS").unwrap_or("/tmp/pillow-tensors".into());
        let recipe = manifest_recipe();
        for s in samples()
            .iter()
            .filter(|s| s["content_type"] == "image/jpeg")
        {
            let file = s["file"].as_str().expect("file");
            let stem = std::path::Path::new(file)
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("a file name");
            let Ok(bytes) = std::fs::read(format!("{dir}/{stem}.f32")) else {
                eprintln!("{file}: no {dir}/{stem}.f32");
                continue;
            };
            let want: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let got = tensor_of(file, &recipe);
            let d = max_abs_diff(&got, &want);
            let differing = got.iter().zip(&want).filter(|(a, b)| a != b).count();
            eprintln!(
                "{file}: max |diff| {d} ({} levels), {differing} of {} values differ",
                d * 128.0,
                got.len()
            );
        }
    }

    #[test]
    fn center_crop_follows_the_recipe() {
        // side = int(0.875 * 427) = 373; left = (640 - 373 + 1) // 2; top = (427 - 373 + 1) // 2
        assert_eq!(
            center_crop(640, 427, 0.875),
            Crop {
                left: 134,
                top: 27,
                side: 373
            }
        );
        assert_eq!(
            center_crop(102, 102, 0.875),
            Crop {
                left: 7,
                top: 7,
                side: 89
            }
        );
        assert_eq!(
            center_crop(1, 1, 0.875),
            Crop {
                left: 0,
                top: 0,
                side: 1
            }
        );
        assert_eq!(
            center_crop(3, 1000, 0.875),
            Crop {
                left: 1,
                top: 499,
                side: 2
            }
        );
    }

    #[test]
    fn normalisation_is_float32_in_numpy_order() {
        let recipe = manifest_recipe();
        let img = RgbImage8::from_raw(2, 1, vec![0, 127, 255, 128, 1, 254]).expect("2×1");
        let t = normalize(&img, &recipe);
        // NCHW: R of both pixels, then G, then B.
        assert_eq!(
            t,
            vec![
                -127.0 / 128.0,
                1.0 / 128.0,
                0.0,
                -126.0 / 128.0,
                1.0,
                127.0 / 128.0
            ]
        );
    }

    #[test]
    fn invalid_recipes_are_refused() {
        let good = manifest_recipe();
        assert_eq!(good.validate(), Ok(()));
        for bad in [
            TensorRecipe {
                crop_fraction: 1.5,
                ..good.clone()
            },
            TensorRecipe {
                crop_fraction: f64::NAN,
                ..good.clone()
            },
            TensorRecipe {
                std: [128.0, 0.0, 128.0],
                ..good.clone()
            },
            TensorRecipe {
                scale: 0.0,
                ..good.clone()
            },
            TensorRecipe {
                width: 0,
                ..good.clone()
            },
        ] {
            let img = RgbImage8::from_raw(1, 1, vec![0, 0, 0]).expect("1×1");
            assert!(matches!(
                to_tensor(&img, &bad),
                Err(TensorError::InvalidRecipe(_))
            ));
        }
    }
}
