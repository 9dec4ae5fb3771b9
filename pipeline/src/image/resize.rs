//! Pillow's resampling resize for 8-bit RGB, ported bit for bit so that a PNG gives the
//! reference tensor exactly.
//!
//! Ported from Pillow 13.0.0 (the version models/efficientnet-lite0/requirements.txt pins):
//! - `src/PIL/Image.py` `Image.resize`: for an RGB image with the default
//!   `reducing_gap=None` there is no `reduce()` step; the same size with the whole-image box
//!   is a copy; otherwise it calls the C `_resize` with `box = (0, 0, w, h)` as floats.
//! - `src/_imaging.c` `_resize_impl`: the box checks, and the shortcut to a plain crop when
//!   the box has integer corners and the size of the output.
//! - `src/libImaging/Resample.c`: `ImagingResampleInner` (which passes run, in which order,
//!   on which rows), `precompute_coeffs` (filter taps, support widened by the downscale
//!   factor, normalised to sum 1), `normalize_coeffs_8bpc` (to fixed point with
//!   `PRECISION_BITS = 32 - 8 - 2`, rounding half away from zero),
//!   `_ImagingResampleHorizontal_8bpc` / `_ImagingResampleVertical_8bpc` (accumulate from
//!   `1 << (PRECISION_BITS - 1)`, i.e. round half up, then `clip8`), and the filters
//!   `bicubic_filter` (Keys, a = -0.5) and `bilinear_filter`.
//!
//! Every floating-point expression keeps the C operand order and types (`box` is `float`,
//! the rest `double`) so the coefficients come out with the same bits; the pixel arithmetic
//! is integer and therefore exact.

use std::fmt;

use super::decode::RgbImage8;

/// Pillow's `PRECISION_BITS`: 8 bits for the result, 2 for the overflow of filters with
/// negative lobes, in a 32-bit accumulator.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Resampling filters whose Pillow output this module reproduces exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `Image.Resampling.BILINEAR` (triangle, support 1).
    Bilinear,
    /// `Image.Resampling.BICUBIC` (Keys cubic with a = -0.5, support 2).
    Bicubic,
}

impl Filter {
    /// The manifest's `interpolation` value.
    pub fn from_name(name: &str) -> Option<Filter> {
        match name {
            "bilinear" => Some(Filter::Bilinear),
            "bicubic" => Some(Filter::Bicubic),
            _ => None,
        }
    }

    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    /// `bilinear_filter` / `bicubic_filter` of Resample.c, same expression order.
    fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Bilinear => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Filter::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

/// Why a resize was refused (Pillow raises `ValueError` or `MemoryError` for these).
#[derive(Clone, Debug, PartialEq)]
pub enum ResizeError {
    /// The requested width or height is 0.
    EmptyOutput,
    /// The source box is not inside the image, is inverted or is not finite.
    BadBox([f32; 4]),
    /// The output or the coefficient tables would not fit in memory.
    TooLarge,
}

impl fmt::Display for ResizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResizeError::EmptyOutput => write!(f, "resize: height and width must be > 0"),
            ResizeError::BadBox(b) => write!(
                f,
                "resize: the box ({}, {}, {}, {}) is not a non-empty region inside the image",
                b[0], b[1], b[2], b[3]
            ),
            ResizeError::TooLarge => write!(f, "resize: the output is too large"),
        }
    }
}

impl std::error::Error for ResizeError {}

/// `im.resize((width, height), filter)` in Pillow.
pub fn resize(
    src: &RgbImage8,
    width: u32,
    height: u32,
    filter: Filter,
) -> Result<RgbImage8, ResizeError> {
    let whole = [0.0, 0.0, src.width() as f32, src.height() as f32];
    resize_box(src, width, height, filter, whole)
}

/// `im.resize((width, height), filter, box=region)` in Pillow: `region` is
/// `(left, top, right, bottom)` in source pixels, fractional allowed.
pub fn resize_box(
    src: &RgbImage8,
    width: u32,
    height: u32,
    filter: Filter,
    region: [f32; 4],
) -> Result<RgbImage8, ResizeError> {
    let (in_w, in_h) = (src.width(), src.height());
    // `Image.resize`: same size, whole image → copy.
    if (width, height) == (in_w, in_h) && region == [0.0, 0.0, in_w as f32, in_h as f32] {
        return Ok(src.clone());
    }
    // `_resize_impl`'s checks (plus finiteness: a NaN box would be undefined behaviour in C).
    if width == 0 || height == 0 {
        return Err(ResizeError::EmptyOutput);
    }
    let [x0, y0, x1, y1] = region;
    if region.iter().any(|v| !v.is_finite())
        || x0 < 0.0
        || y0 < 0.0
        || x1 > in_w as f32
        || y1 > in_h as f32
        || x1 - x0 < 0.0
        || y1 - y0 < 0.0
    {
        return Err(ResizeError::BadBox(region));
    }
    // `_resize_impl`: integer box corners and a box the size of the output → a crop.
    if x0 - x0.trunc() == 0.0
        && x1 - x0 == width as f32
        && y0 - y0.trunc() == 0.0
        && y1 - y0 == height as f32
    {
        return crop(src, x0 as u32, y0 as u32, width, height);
    }
    let pixels = resample::<3>(
        src.pixels(),
        in_w as usize,
        in_h as usize,
        width as usize,
        height as usize,
        filter,
        region,
    )?;
    RgbImage8::from_raw(width, height, pixels).ok_or(ResizeError::TooLarge)
}

/// `ImagingCrop` for a region known to be inside the image.
fn crop(src: &RgbImage8, left: u32, top: u32, w: u32, h: u32) -> Result<RgbImage8, ResizeError> {
    let stride = src.width() as usize * 3;
    let mut out = Vec::new();
    out.try_reserve_exact(w as usize * h as usize * 3)
        .map_err(|_| ResizeError::TooLarge)?;
    for row in src
        .pixels()
        .chunks_exact(stride)
        .skip(top as usize)
        .take(h as usize)
    {
        let start = left as usize * 3;
        out.extend_from_slice(row.get(start..start + w as usize * 3).unwrap_or(&[]));
    }
    RgbImage8::from_raw(w, h, out).ok_or(ResizeError::BadBox([
        left as f32,
        top as f32,
        (left + w) as f32,
        (top + h) as f32,
    ]))
}

/// The taps of one output pixel: the first source pixel and the fixed-point weights.
struct Taps {
    /// `ksize` in Resample.c: the stride between two output pixels' weights.
    ksize: usize,
    /// Per output pixel: (first source index, number of taps).
    bounds: Vec<(usize, usize)>,
    /// `ksize` weights per output pixel, `PRECISION_BITS` fixed point.
    weights: Vec<i32>,
}

impl Taps {
    fn of(&self, out: usize) -> (usize, &[i32]) {
        let (first, n) = self.bounds[out];
        let k = &self.weights[out * self.ksize..];
        (first, &k[..n])
    }
}

/// `precompute_coeffs` followed by `normalize_coeffs_8bpc`.
fn precompute_coeffs(
    in_size: usize,
    in0: f32,
    in1: f32,
    out_size: usize,
    filter: Filter,
) -> Result<Taps, ResizeError> {
    // `(double)(in1 - in0)`: the subtraction is in float.
    let scale = f64::from(in1 - in0) / out_size as f64;
    let filterscale = if scale < 1.0 { 1.0 } else { scale };
    let support = filter.support() * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let len = out_size.checked_mul(ksize).ok_or(ResizeError::TooLarge)?;
    let mut kk: Vec<f64> = Vec::new();
    kk.try_reserve_exact(len)
        .map_err(|_| ResizeError::TooLarge)?;
    kk.resize(len, 0.0);
    let mut bounds = Vec::with_capacity(out_size);
    let inv_filterscale = 1.0 / filterscale;
    for (xx, k) in kk.chunks_exact_mut(ksize).enumerate() {
        let center = f64::from(in0) + (xx as f64 + 0.5) * scale;
        // `(int)` truncates toward zero, as `as` does.
        let xmin = ((center - support + 0.5) as i64).max(0);
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) - xmin;
        let xmax = xmax.clamp(0, ksize as i64) as usize;
        let xmin = xmin as usize;
        let mut ww = 0.0;
        for (x, slot) in k.iter_mut().take(xmax).enumerate() {
            let w = filter.weight(((x + xmin) as f64 - center + 0.5) * inv_filterscale);
            *slot = w;
            ww += w;
        }
        if ww != 0.0 {
            for slot in k.iter_mut().take(xmax) {
                *slot /= ww;
            }
        }
        bounds.push((xmin, xmax));
    }
    // `normalize_coeffs_8bpc`: to fixed point, rounding half away from zero.
    let one = f64::from(1u32 << PRECISION_BITS);
    let weights = kk
        .iter()
        .map(|&k| {
            if k < 0.0 {
                (-0.5 + k * one) as i32
            } else {
                (0.5 + k * one) as i32
            }
        })
        .collect();
    Ok(Taps {
        ksize,
        bounds,
        weights,
    })
}

/// `clip8`: the accumulator back to 8 bits. Pillow indexes a table covering -640..639 after
/// the shift; the sums of these filters stay well inside it, where it equals a clamp.
#[inline]
fn clip8(ss: i32) -> u8 {
    (ss >> PRECISION_BITS).clamp(0, 255) as u8
}

/// The accumulator's start: adding one half before the shift rounds half up.
const HALF: i32 = 1 << (PRECISION_BITS - 1);

fn alloc(len: usize) -> Result<Vec<u8>, ResizeError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| ResizeError::TooLarge)?;
    v.resize(len, 0);
    Ok(v)
}

/// `_ImagingResampleHorizontal_8bpc`: `rows` output rows from source rows
/// `offset..offset + rows`, each `out_w` pixels wide. The sums cannot overflow: the
/// positive weights of a normalised Keys or triangle kernel add up to at most ~1.13, so
/// |sum| < 255 * 1.13 * 2^22 + 2^21 < 2^31.
fn horizontal<const C: usize>(
    src: &[u8],
    src_w: usize,
    offset: usize,
    rows: usize,
    out_w: usize,
    taps: &Taps,
) -> Result<Vec<u8>, ResizeError> {
    let out_len = out_w
        .checked_mul(rows)
        .and_then(|n| n.checked_mul(C))
        .ok_or(ResizeError::TooLarge)?;
    let mut out = alloc(out_len)?;
    let lines_in = src.chunks_exact(src_w * C).skip(offset);
    for (line_in, line_out) in lines_in.zip(out.chunks_exact_mut(out_w * C)) {
        for (xx, px) in line_out.chunks_exact_mut(C).enumerate() {
            let (xmin, k) = taps.of(xx);
            let mut ss = [HALF; C];
            for (p, &w) in line_in
                .get(xmin * C..)
                .unwrap_or_default()
                .chunks_exact(C)
                .zip(k)
            {
                for c in 0..C {
                    ss[c] += i32::from(p[c]) * w;
                }
            }
            for c in 0..C {
                px[c] = clip8(ss[c]);
            }
        }
    }
    Ok(out)
}

/// `_ImagingResampleVertical_8bpc`: `out_h` rows of `w` pixels. Pillow sums over the taps
/// pixel by pixel; here whole rows are accumulated tap by tap, which adds the same integer
/// terms and so gives the same result, with sequential memory access.
fn vertical<const C: usize>(
    src: &[u8],
    w: usize,
    out_h: usize,
    taps: &Taps,
) -> Result<Vec<u8>, ResizeError> {
    let row_len = w * C;
    let out_len = row_len.checked_mul(out_h).ok_or(ResizeError::TooLarge)?;
    let mut out = alloc(out_len)?;
    let mut acc = vec![HALF; row_len];
    for (yy, line_out) in out.chunks_exact_mut(row_len).enumerate() {
        let (ymin, k) = taps.of(yy);
        acc.fill(HALF);
        let lines_in = src.get(ymin * row_len..).unwrap_or_default();
        for (line_in, &wt) in lines_in.chunks_exact(row_len).zip(k) {
            for (a, &p) in acc.iter_mut().zip(line_in) {
                *a += i32::from(p) * wt;
            }
        }
        for (o, &a) in line_out.iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    Ok(out)
}

/// `ImagingResampleInner` for an interleaved image of `C` 8-bit channels.
fn resample<const C: usize>(
    src: &[u8],
    in_w: usize,
    in_h: usize,
    out_w: usize,
    out_h: usize,
    filter: Filter,
    region: [f32; 4],
) -> Result<Vec<u8>, ResizeError> {
    let need_horizontal = out_w != in_w || region[0] != 0.0 || region[2] != out_w as f32;
    let need_vertical = out_h != in_h || region[1] != 0.0 || region[3] != out_h as f32;
    // "If height is being scaled down more than twice the amount the width is, run the
    // vertical pass first" (Pillow): the order changes the intermediate rounding, so it is
    // kept.
    let (dh, dw) = (in_h as i64 - out_h as i64, in_w as i64 - out_w as i64);
    let horizontal_first = !(dh > 0 && dh > dw * 2);

    let mut vert = if (need_horizontal && horizontal_first) || need_vertical {
        Some(precompute_coeffs(
            in_h, region[1], region[3], out_h, filter,
        )?)
    } else {
        None
    };
    // The horizontal pass (when first) only computes the rows the vertical pass reads.
    let mut rows = (0, in_h);
    if need_horizontal
        && horizontal_first
        && let Some(v) = vert.as_mut()
    {
        let first = v.bounds.first().map_or(0, |b| b.0);
        let last = v.bounds.last().map_or(in_h, |b| b.0 + b.1);
        for b in v.bounds.iter_mut() {
            b.0 -= first;
        }
        rows = (first, last.saturating_sub(first));
    }
    let horiz = if need_horizontal {
        Some(precompute_coeffs(
            in_w, region[0], region[2], out_w, filter,
        )?)
    } else {
        None
    };

    // The passes in Pillow's order; `pass` holds the latest result (and its width), `None`
    // while the source is still the input.
    let mut pass: Option<(Vec<u8>, usize)> = None;
    fn input<'a>(
        pass: &'a Option<(Vec<u8>, usize)>,
        src: &'a [u8],
        in_w: usize,
    ) -> (&'a [u8], usize) {
        match pass {
            Some((buf, w)) => (buf.as_slice(), *w),
            None => (src, in_w),
        }
    }
    if horizontal_first {
        if let Some(h) = &horiz {
            pass = Some((horizontal::<C>(src, in_w, rows.0, rows.1, out_w, h)?, out_w));
        }
        if let (true, Some(v)) = (need_vertical, &vert) {
            let (buf, w) = input(&pass, src, in_w);
            pass = Some((vertical::<C>(buf, w, out_h, v)?, w));
        }
    } else {
        if let (true, Some(v)) = (need_vertical, &vert) {
            pass = Some((vertical::<C>(src, in_w, out_h, v)?, in_w));
        }
        if let Some(h) = &horiz {
            let (buf, w) = input(&pass, src, in_w);
            pass = Some((horizontal::<C>(buf, w, 0, out_h, out_w, h)?, out_w));
        }
    }
    // Neither pass ran: `ImagingCopy`.
    let out = match pass {
        Some((buf, _)) => buf,
        None => src.to_vec(),
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern the expected outputs below were made from (with Pillow 13.0.0:
    /// `Image.fromarray(pattern).resize(size, filter, box=...)`).
    fn pattern(w: u32, h: u32) -> RgbImage8 {
        let mut px = Vec::new();
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    px.push(((x * 37 + y * 91 + c * 53 + x * y * 11) % 256) as u8);
                }
            }
        }
        RgbImage8::from_raw(w, h, px).expect("w * h * 3 bytes")
    }

    fn resized(src: &RgbImage8, w: u32, h: u32, f: Filter, region: Option<[f32; 4]>) -> Vec<u8> {
        let out = match region {
            Some(r) => resize_box(src, w, h, f, r),
            None => resize(src, w, h, f),
        };
        out.expect("resizes").into_pixels()
    }

    #[test]
    fn bicubic_matches_pillow() {
        // Upscale in height, downscale in width (horizontal pass first).
        let want: [u8; 108] = [
            3, 56, 108, 53, 108, 174, 119, 185, 250, 184, 236, 109, 33, 90, 152, 99, 148, 151, 135,
            138, 195, 134, 196, 132, 93, 152, 222, 178, 213, 111, 163, 62, 97, 52, 122, 168, 167,
            172, 149, 159, 153, 123, 141, 111, 104, 114, 91, 108, 211, 164, 49, 112, 70, 143, 110,
            183, 141, 204, 89, 42, 110, 116, 101, 133, 127, 103, 140, 110, 110, 142, 119, 132, 38,
            97, 160, 143, 179, 71, 161, 59, 89, 72, 143, 194, 108, 166, 155, 97, 146, 88, 132, 135,
            123, 65, 127, 111, 153, 206, 148, 70, 125, 99, 114, 180, 143, 65, 117, 61,
        ];
        assert_eq!(resized(&pattern(6, 5), 4, 9, Filter::Bicubic, None), want);
    }

    #[test]
    fn bilinear_matches_pillow() {
        let want: [u8; 108] = [
            14, 67, 120, 66, 119, 172, 119, 172, 225, 171, 224, 117, 46, 99, 152, 103, 146, 152,
            133, 138, 182, 133, 186, 132, 98, 151, 204, 164, 192, 119, 155, 82, 110, 70, 123, 158,
            151, 162, 143, 149, 149, 123, 140, 115, 114, 120, 102, 112, 204, 161, 54, 116, 84, 137,
            116, 169, 137, 199, 92, 49, 115, 125, 107, 130, 130, 104, 139, 113, 113, 136, 118, 128,
            54, 107, 149, 134, 162, 80, 152, 79, 98, 83, 136, 178, 106, 159, 148, 101, 145, 94,
            128, 133, 120, 73, 126, 115, 138, 191, 148, 81, 134, 102, 113, 166, 134, 67, 120, 77,
        ];
        assert_eq!(resized(&pattern(6, 5), 4, 9, Filter::Bilinear, None), want);
    }

    #[test]
    fn vertical_only_pass_matches_pillow() {
        // Same width: the horizontal pass is skipped, the vertical one runs alone.
        let want: [u8; 36] = [
            91, 148, 122, 134, 132, 150, 105, 153, 107, 125, 127, 149, 137, 139, 139, 142, 105,
            131, 154, 117, 123, 134, 136, 138, 105, 131, 103, 121, 155, 110, 141, 139, 132, 142,
            101, 120,
        ];
        assert_eq!(resized(&pattern(3, 20), 3, 4, Filter::Bicubic, None), want);
    }

    #[test]
    fn fractional_box_matches_pillow() {
        let want: [u8; 45] = [
            160, 144, 139, 144, 131, 119, 126, 113, 101, 106, 115, 149, 143, 145, 138, 108, 143,
            118, 133, 119, 93, 110, 126, 121, 126, 152, 106, 167, 111, 124, 113, 171, 125, 126, 99,
            153, 110, 144, 129, 133, 110, 160, 158, 148, 84,
        ];
        let region = [0.5, 1.25, 8.75, 6.0];
        assert_eq!(
            resized(&pattern(9, 7), 5, 3, Filter::Bicubic, Some(region)),
            want
        );
    }

    #[test]
    fn same_size_is_a_copy_and_an_integer_box_of_the_output_size_a_crop() {
        let src = pattern(7, 5);
        assert_eq!(resized(&src, 7, 5, Filter::Bicubic, None), src.pixels());
        let cropped = resized(&src, 3, 2, Filter::Bicubic, Some([2.0, 1.0, 5.0, 3.0]));
        let want: Vec<u8> = src
            .pixels()
            .chunks_exact(7 * 3)
            .skip(1)
            .take(2)
            .flat_map(|row| row[2 * 3..5 * 3].to_vec())
            .collect();
        assert_eq!(cropped, want);
    }

    #[test]
    fn a_flat_image_stays_flat() {
        // The fixed-point weights sum to 2^22 within a few units: a constant survives
        // any scale exactly.
        for &(w, h, ow, oh) in &[(1, 1, 224, 224), (373, 373, 224, 224), (5, 900, 31, 2)] {
            let src =
                RgbImage8::from_raw(w, h, [200, 3, 255].repeat((w * h) as usize)).expect("sized");
            for f in [Filter::Bicubic, Filter::Bilinear] {
                let out = resized(&src, ow, oh, f, None);
                assert!(
                    out.chunks_exact(3).all(|p| p == [200, 3, 255]),
                    "{w}x{h} {f:?}"
                );
            }
        }
    }

    #[test]
    fn fixed_point_weights_sum_to_one() {
        for (in_size, out_size) in [(373, 224), (89, 224), (1411, 224), (2, 7)] {
            let taps = precompute_coeffs(in_size, 0.0, in_size as f32, out_size, Filter::Bicubic)
                .expect("taps");
            for out in 0..out_size {
                let (first, k) = taps.of(out);
                assert!(first + k.len() <= in_size);
                let sum: i32 = k.iter().sum();
                assert!(
                    (sum - (1 << PRECISION_BITS)).abs() <= k.len() as i32,
                    "{sum}"
                );
            }
        }
    }

    #[test]
    fn bad_requests_are_errors() {
        let src = pattern(4, 4);
        assert_eq!(
            resize(&src, 0, 3, Filter::Bicubic),
            Err(ResizeError::EmptyOutput)
        );
        for region in [
            [-1.0, 0.0, 4.0, 4.0],
            [0.0, 0.0, 4.5, 4.0],
            [3.0, 0.0, 2.0, 4.0],
            [f32::NAN, 0.0, 4.0, 4.0],
        ] {
            let got = resize_box(&src, 2, 2, Filter::Bicubic, region);
            assert!(matches!(got, Err(ResizeError::BadBox(_))), "{region:?}");
        }
    }

    #[test]
    fn filter_names() {
        assert_eq!(Filter::from_name("bicubic"), Some(Filter::Bicubic));
        assert_eq!(Filter::from_name("bilinear"), Some(Filter::Bilinear));
        assert_eq!(Filter::from_name("lanczos"), None);
    }
}
