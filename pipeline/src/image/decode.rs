//! Image bytes → 8-bit RGB pixels, as the reference pipeline's
//! `PIL.Image.open(...).convert("RGB")` gives them (models/efficientnet-lite0/make.py,
//! `preprocess`), for the two formats the bundles accept: JPEG and PNG.
//!
//! The body comes from a client, so it is treated as hostile. Before any pixel is decoded
//! the format is sniffed from the magic bytes, the dimensions are read from the header and
//! checked against [`DecodeLimits`] (a 60000×60000 PNG of a few KB is refused without
//! inflating a byte), and the file's structure is walked to its end marker (PNG `IEND`,
//! JPEG `EOI`) so that a truncated file is an error rather than a partly grey picture
//! (the JPEG decoder pads missing data silently; Pillow, with its default
//! `LOAD_TRUNCATED_IMAGES = False`, refuses such a file). The decoders then run under
//! `image::Limits` as a second fence.
//!
//! Colour conversion follows Pillow 13.0.0 (`src/libImaging/Convert.c`, the modes of
//! `src/PIL/PngImagePlugin.py` `_MODES`):
//! - L (PNG gray 1/2/4/8-bit, JPEG gray): the gray value replicated (`l2rgb`); 1-, 2- and
//!   4-bit samples are scaled by 255, 85 and 17 (Pillow's `1`, `L;2`, `L;4` unpackers; the
//!   `png` crate's expansion scales the same way).
//! - LA, RGBA: the alpha channel is dropped, not composited (`la2rgb`, `rgba2rgb`).
//! - P: the palette colour of each index (`p2rgb`); an index past the end of `PLTE` is
//!   black in both Pillow (its palette is zero-initialised, `ImagingPaletteNew`) and the
//!   `png` crate; `tRNS` is ignored.
//! - 16-bit PNG: RGB, RGBA and gray+alpha keep the most significant byte of each sample
//!   (Pillow unpacks them with `RGB;16B`, `RGBA;16B`, `LA;16B`); 16-bit gray is Pillow's
//!   mode `I;16`, whose conversion to RGB (`I16_RGB`) keeps values up to 255 and clips
//!   everything above to 255 — odd (a typical 16-bit scan becomes nearly white) but it is
//!   what the reference does, so it is reproduced rather than "fixed".
//! - EXIF orientation is not applied (neither does `convert`), and gAMA/iCCP/sRGB are
//!   ignored by both.
//! - JPEG: gray (1 component) is replicated; YCbCr is converted by the decoder; Adobe CMYK
//!   (4 components, APP14 transform 0) is converted by zune-jpeg, within 1 level of Pillow's
//!   `cmyk2rgb`; YCCK and CMYK without an Adobe marker are refused (see
//!   `jpeg_check_complete`).
//!
//! JPEG pixels come from zune-jpeg (via `image`), not libjpeg-turbo: its IDCT, chroma
//! upsampling and YCbCr→RGB rounding differ from Pillow's by a few levels on some pixels.
//! PNG decoding is lossless, so PNG pixels are exactly Pillow's.

use std::fmt;
use std::io::Cursor;

use ::image::codecs::jpeg::JpegDecoder;
use ::image::codecs::png::PngDecoder;
use ::image::error::{ImageError, LimitErrorKind};
use ::image::{ColorType, ImageDecoder, Limits};

/// An 8-bit RGB image: `pixels` holds `width * height` pixels, row-major, 3 bytes each.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbImage8 {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl RgbImage8 {
    /// `None` unless `pixels.len() == width * height * 3` (and neither side is 0), so every
    /// `RgbImage8` can be indexed without checks failing.
    pub fn from_raw(width: u32, height: u32, pixels: Vec<u8>) -> Option<Self> {
        let len = (width as u64).checked_mul(height as u64)?.checked_mul(3)?;
        (width > 0 && height > 0 && pixels.len() as u64 == len).then_some(Self {
            width,
            height,
            pixels,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Row-major RGB bytes.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }
}

impl fmt::Debug for RgbImage8 {
    // The pixels would flood a test failure message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RgbImage8({}×{})", self.width, self.height)
    }
}

/// What a client may send. Checked on the header, before decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest `width * height`.
    pub max_pixels: u64,
    /// Largest width and largest height.
    pub max_side: u32,
    /// Largest allocation the decoders may make (`image::Limits::max_alloc`), and the
    /// largest decoded buffer (16-bit RGBA PNG: 8 bytes a pixel).
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    /// 4096×4096 (16.8 MP: a 12 MP phone photo fits), at most 4096 on a side; 256 MiB of
    /// decoder memory, enough for the largest 16-bit RGBA PNG within those limits (128 MiB).
    fn default() -> Self {
        Self {
            max_pixels: 4096 * 4096,
            max_side: 4096,
            max_alloc: 256 << 20,
        }
    }
}

impl DecodeLimits {
    /// Refuses `width × height` if it exceeds the limits.
    pub fn check(&self, width: u32, height: u32) -> Result<(), DecodeError> {
        let pixels = width as u64 * height as u64;
        if pixels > self.max_pixels || width > self.max_side || height > self.max_side {
            return Err(DecodeError::TooLarge {
                width,
                height,
                max_pixels: self.max_pixels,
                max_side: self.max_side,
            });
        }
        Ok(())
    }
}

/// The formats [`decode`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }
}

/// Why a body could not be decoded; the `Display` text is meant for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Zero bytes.
    Empty,
    /// Not JPEG or PNG. `detected` names the format when the magic bytes are a known one
    /// (GIF, WebP, ...); `head` is the first bytes in hex.
    UnsupportedFormat {
        detected: Option<&'static str>,
        head: String,
    },
    /// The header's dimensions exceed [`DecodeLimits`].
    TooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
        max_side: u32,
    },
    /// The file ends before its end marker (PNG `IEND`, JPEG `EOI`) or mid-header.
    Truncated { format: Format },
    /// The file's structure or compressed data is invalid.
    Corrupt { format: Format, detail: String },
    /// A valid file using something this decoder does not handle (e.g. a 12-bit,
    /// arithmetic-coded or YCCK JPEG).
    Unsupported { format: Format, feature: String },
    /// Decoding would need more memory than `DecodeLimits::max_alloc`.
    TooMuchMemory { format: Format, max_alloc: u64 },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => write!(f, "the body is empty; send a JPEG or PNG image"),
            DecodeError::UnsupportedFormat {
                detected: Some(name),
                ..
            } => write!(
                f,
                "the body is a {name} image; only JPEG and PNG images are accepted"
            ),
            DecodeError::UnsupportedFormat {
                detected: None,
                head,
            } => write!(
                f,
                "the body is not a JPEG or PNG image (it starts with bytes {head})"
            ),
            DecodeError::TooLarge {
                width,
                height,
                max_pixels,
                max_side,
            } => write!(
                f,
                "the image is {width}×{height} pixels; at most {} pixels ({max_side} per side)",
                thousands(*max_pixels),
            ),
            DecodeError::Truncated { format } => write!(
                f,
                "the {} image is truncated (it ends before its end marker)",
                format.name()
            ),
            DecodeError::Corrupt { format, detail } => {
                write!(f, "the {} image is corrupt: {detail}", format.name())
            }
            DecodeError::Unsupported { format, feature } => write!(
                f,
                "the {} image uses a feature that is not supported: {feature}",
                format.name()
            ),
            DecodeError::TooMuchMemory { format, max_alloc } => write!(
                f,
                "decoding the {} image would need more than {} bytes of memory",
                format.name(),
                thousands(*max_alloc)
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// `16777216` → `"16,777,216"`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// The format, from the magic bytes only (the declared content type is not trusted).
pub fn sniff(bytes: &[u8]) -> Result<Format, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.starts_with(&PNG_SIGNATURE) {
        return Ok(Format::Png);
    }
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Ok(Format::Jpeg);
    }
    let head = bytes
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    Err(DecodeError::UnsupportedFormat {
        detected: other_format(bytes),
        head,
    })
}

/// Names a few formats clients are likely to send by mistake.
fn other_format(b: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| b.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        Some("GIF")
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Some("WebP")
    } else if at(0, b"BM") {
        Some("BMP")
    } else if at(0, b"II*\0") || at(0, b"MM\0*") {
        Some("TIFF")
    } else if at(4, b"ftypavif") || at(4, b"ftypavis") {
        Some("AVIF")
    } else if at(4, b"ftyphei") || at(4, b"ftypmif1") || at(4, b"ftypheic") {
        Some("HEIF")
    } else if at(0, &[0, 0, 0, 0x0c, b'j', b'P', b' ', b' ']) || at(0, &[0xff, 0x4f, 0xff, 0x51]) {
        Some("JPEG 2000")
    } else if at(0, b"qoif") {
        Some("QOI")
    } else if at(0, &[0, 0, 1, 0]) {
        Some("ICO")
    } else if at(0, b"%PDF") {
        Some("PDF")
    } else if at(0, b"<svg") || at(0, b"<?xml") {
        Some("SVG/XML")
    } else {
        None
    }
}

/// What the header says, read without decoding any pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// The format and dimensions from the header (PNG `IHDR`, JPEG `SOFn`). Cheap: does not
/// look past the header, so it neither inflates nor checks the rest of the file.
pub fn header(bytes: &[u8]) -> Result<Header, DecodeError> {
    let format = sniff(bytes)?;
    let (width, height) = match format {
        Format::Png => {
            let ihdr = png_ihdr(bytes)?;
            (ihdr.width, ihdr.height)
        }
        Format::Jpeg => {
            let frame = jpeg_frame(bytes)?;
            (frame.width, frame.height)
        }
    };
    Ok(Header {
        format,
        width,
        height,
    })
}

/// Decodes a JPEG or PNG body into RGB as Pillow's `convert("RGB")` does (module docs).
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage8, DecodeError> {
    match sniff(bytes)? {
        Format::Png => {
            let ihdr = png_ihdr(bytes)?;
            limits.check(ihdr.width, ihdr.height)?;
            png_check_complete(bytes)?;
            decode_png(bytes, &ihdr, limits)
        }
        Format::Jpeg => {
            let frame = jpeg_frame(bytes)?;
            limits.check(frame.width, frame.height)?;
            jpeg_check_complete(bytes, &frame)?;
            decode_jpeg(bytes, &frame, limits)
        }
    }
}

// ---- PNG structure ----------------------------------------------------------------------

/// The fields of `IHDR` that decide the conversion.
#[derive(Clone, Copy, Debug)]
struct PngIhdr {
    width: u32,
    height: u32,
    bit_depth: u8,
    /// 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA.
    color_type: u8,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn png_corrupt(detail: &str) -> DecodeError {
    DecodeError::Corrupt {
        format: Format::Png,
        detail: detail.to_string(),
    }
}

/// PNG requires `IHDR` to be the first chunk, at a fixed offset: reading it costs nothing
/// whatever the rest of the file holds.
fn png_ihdr(bytes: &[u8]) -> Result<PngIhdr, DecodeError> {
    let truncated = DecodeError::Truncated {
        format: Format::Png,
    };
    // signature (8) + length (4) + "IHDR" (4) + 13 bytes of fields + CRC (4)
    if bytes.len() < 33 {
        return Err(truncated);
    }
    if be32(bytes, 8) != Some(13) || bytes.get(12..16) != Some(b"IHDR".as_slice()) {
        return Err(png_corrupt("the first chunk is not a valid IHDR"));
    }
    let (Some(width), Some(height)) = (be32(bytes, 16), be32(bytes, 20)) else {
        return Err(truncated);
    };
    if width == 0 || height == 0 {
        return Err(png_corrupt("the header gives a width or height of 0"));
    }
    Ok(PngIhdr {
        width,
        height,
        bit_depth: bytes[24],
        color_type: bytes[25],
    })
}

/// Walks the chunks (length, type, data, CRC) up to `IEND` without reading their data.
fn png_check_complete(bytes: &[u8]) -> Result<(), DecodeError> {
    let mut at = PNG_SIGNATURE.len();
    loop {
        let kind = bytes.get(at.saturating_add(4)..at.saturating_add(8));
        let (Some(len), Some(kind)) = (be32(bytes, at), kind) else {
            return Err(DecodeError::Truncated {
                format: Format::Png,
            });
        };
        // The PNG spec caps a chunk at 2^31 - 1 bytes.
        if len > i32::MAX as u32 {
            return Err(png_corrupt("a chunk length exceeds 2^31 - 1"));
        }
        let end = at.saturating_add(12).saturating_add(len as usize);
        if end > bytes.len() {
            return Err(DecodeError::Truncated {
                format: Format::Png,
            });
        }
        if kind == b"IEND" {
            return Ok(());
        }
        at = end;
    }
}

// ---- JPEG structure ---------------------------------------------------------------------

/// The frame header (`SOFn`).
#[derive(Clone, Copy, Debug)]
struct JpegFrame {
    width: u32,
    height: u32,
    /// 1 gray, 3 YCbCr (or RGB), 4 CMYK/YCCK.
    components: u8,
}

/// One step of the marker walk.
enum Segment<'a> {
    /// A marker and its payload (after the 2 length bytes; empty for standalone markers).
    Marker(u8, &'a [u8]),
    /// The file ends here before `EOI`.
    End,
}

/// Iterates over a JPEG's markers the way libjpeg's `next_marker` finds them: bytes
/// between segments that are not a marker are skipped (libjpeg only warns: "extraneous
/// bytes before marker"), fill bytes `FF FF` are skipped, and after `SOS` the
/// entropy-coded data is skipped up to the next marker that is neither a stuffed `FF 00`
/// nor a restart marker `RSTn`.
struct Markers<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Markers<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        // After SOI (FF D8), which `sniff` checked.
        Self { bytes, at: 2 }
    }

    fn next(&mut self) -> Result<Segment<'a>, DecodeError> {
        let b = self.bytes;
        // Find FF, skip fill bytes, read the marker code.
        loop {
            while self.at < b.len() && b[self.at] != 0xff {
                self.at += 1;
            }
            while self.at < b.len() && b[self.at] == 0xff {
                self.at += 1;
            }
            let Some(&code) = b.get(self.at) else {
                return Ok(Segment::End);
            };
            self.at += 1;
            // FF 00 is a stuffed byte, not a marker (only met in stray data).
            if code != 0x00 {
                break self.segment(code);
            }
        }
    }

    fn segment(&mut self, code: u8) -> Result<Segment<'a>, DecodeError> {
        // Standalone markers: TEM, RSTn, SOI, EOI.
        if code == 0x01 || (0xd0..=0xd9).contains(&code) {
            return Ok(Segment::Marker(code, &[]));
        }
        let Some(len) = be16(self.bytes, self.at) else {
            return Ok(Segment::End);
        };
        if len < 2 {
            return Err(DecodeError::Corrupt {
                format: Format::Jpeg,
                detail: format!("marker FF{code:02X} has a length of {len}"),
            });
        }
        let start = self.at.saturating_add(2);
        let end = self.at.saturating_add(len as usize);
        let Some(payload) = self.bytes.get(start..end) else {
            return Ok(Segment::End);
        };
        self.at = end;
        if code == 0xda {
            self.skip_entropy_coded_data();
        }
        Ok(Segment::Marker(code, payload))
    }

    /// Leaves `at` on the `FF` of the first marker after a scan's data.
    fn skip_entropy_coded_data(&mut self) {
        let b = self.bytes;
        while self.at < b.len() {
            if b[self.at] == 0xff {
                match b.get(self.at + 1) {
                    Some(0x00) | Some(0xd0..=0xd7) | Some(0xff) => self.at += 1,
                    _ => return,
                }
            } else {
                self.at += 1;
            }
        }
    }
}

fn jpeg_corrupt(detail: &str) -> DecodeError {
    DecodeError::Corrupt {
        format: Format::Jpeg,
        detail: detail.to_string(),
    }
}

fn is_sof(code: u8) -> bool {
    // C0..CF except DHT (C4), JPG (C8) and DAC (CC).
    (0xc0..=0xcf).contains(&code) && !matches!(code, 0xc4 | 0xc8 | 0xcc)
}

/// The first frame header, reached by skipping segments (no entropy decoding).
fn jpeg_frame(bytes: &[u8]) -> Result<JpegFrame, DecodeError> {
    let mut markers = Markers::new(bytes);
    loop {
        match markers.next()? {
            Segment::End => {
                return Err(DecodeError::Truncated {
                    format: Format::Jpeg,
                });
            }
            Segment::Marker(0xda, _) | Segment::Marker(0xd9, _) => {
                return Err(jpeg_corrupt("no frame header (SOF) before the image data"));
            }
            Segment::Marker(code, payload) if is_sof(code) => {
                return jpeg_parse_frame(code, payload);
            }
            Segment::Marker(..) => {}
        }
    }
}

fn jpeg_parse_frame(code: u8, p: &[u8]) -> Result<JpegFrame, DecodeError> {
    // precision (1), height (2), width (2), component count (1)
    let (Some(&precision), Some(height), Some(width), Some(&components)) =
        (p.first(), be16(p, 1), be16(p, 3), p.get(5))
    else {
        return Err(jpeg_corrupt("the frame header is too short"));
    };
    let unsupported = |feature: String| DecodeError::Unsupported {
        format: Format::Jpeg,
        feature,
    };
    match code {
        0xc0..=0xc2 => {}
        0xc3 | 0xc7 | 0xcb | 0xcf => return Err(unsupported("lossless JPEG".to_string())),
        0xc9..=0xcb | 0xcd..=0xcf => {
            return Err(unsupported("arithmetic coding".to_string()));
        }
        _ => return Err(unsupported(format!("frame type SOF{}", code - 0xc0))),
    }
    if precision != 8 {
        return Err(unsupported(format!("{precision}-bit samples")));
    }
    if height == 0 {
        // The height would come from a DNL marker after the first scan.
        return Err(unsupported("a height defined by a DNL marker".to_string()));
    }
    if width == 0 {
        return Err(jpeg_corrupt("the frame header gives a width of 0"));
    }
    if !matches!(components, 1 | 3 | 4) {
        return Err(jpeg_corrupt(&format!("{components} colour components")));
    }
    Ok(JpegFrame {
        width: u32::from(width),
        height: u32::from(height),
        components,
    })
}

/// More scans than any encoder writes (a progressive JPEG has about 10): each scan is a
/// pass over the whole image, so thousands of tiny scans are a CPU bomb (libjpeg-turbo's
/// tools cap them for the same reason; Pillow does not).
const MAX_SCANS: usize = 1000;

/// Walks every segment and scan up to `EOI`, and decides whether a 4-component (CMYK)
/// frame can be converted as Pillow does.
///
/// CMYK: Pillow reads an Adobe CMYK JPEG (APP14 transform 0) as inverted CMYK and converts
/// it with `cmyk2rgb`; zune-jpeg's conversion of such a file matched Pillow's within 1 level
/// in a check against Pillow 13.0.0. YCCK (transform 2) and CMYK without an Adobe marker
/// (which Pillow reads as non-inverted) could not be checked against Pillow, so they are
/// refused rather than risk inverted or shifted colours.
fn jpeg_check_complete(bytes: &[u8], frame: &JpegFrame) -> Result<(), DecodeError> {
    let mut markers = Markers::new(bytes);
    let mut scans = 0usize;
    let mut adobe_transform = None;
    loop {
        match markers.next()? {
            Segment::End => {
                return Err(DecodeError::Truncated {
                    format: Format::Jpeg,
                });
            }
            Segment::Marker(0xd9, _) if scans == 0 => {
                return Err(jpeg_corrupt("the image ends before any image data"));
            }
            Segment::Marker(0xd9, _) => break,
            Segment::Marker(0xda, _) => {
                scans += 1;
                if scans > MAX_SCANS {
                    return Err(DecodeError::Unsupported {
                        format: Format::Jpeg,
                        feature: format!("more than {MAX_SCANS} scans"),
                    });
                }
            }
            // APP14 "Adobe": version (2), flags0 (2), flags1 (2), transform (1).
            Segment::Marker(0xee, p) if scans == 0 && p.starts_with(b"Adobe") => {
                adobe_transform = p.get(11).copied();
            }
            Segment::Marker(..) => {}
        }
    }
    if frame.components == 4 && adobe_transform != Some(0) {
        let feature = match adobe_transform {
            Some(2) => "YCCK colour (Adobe transform 2)",
            _ => "CMYK colour without an Adobe marker",
        };
        return Err(DecodeError::Unsupported {
            format: Format::Jpeg,
            feature: feature.to_string(),
        });
    }
    Ok(())
}

// ---- Decoding ---------------------------------------------------------------------------

/// The `image` crate's limits: `max_alloc`, and the side limit again in case its decoder
/// disagrees with the header walk above about the dimensions.
fn image_limits(limits: &DecodeLimits) -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(limits.max_side);
    l.max_image_height = Some(limits.max_side);
    l.max_alloc = Some(limits.max_alloc);
    l
}

fn map_image_error(format: Format, limits: &DecodeLimits, e: ImageError) -> DecodeError {
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated { format }
        }
        ImageError::Limits(l) if matches!(l.kind(), LimitErrorKind::InsufficientMemory) => {
            DecodeError::TooMuchMemory {
                format,
                max_alloc: limits.max_alloc,
            }
        }
        ImageError::Unsupported(u) => DecodeError::Unsupported {
            format,
            feature: u.to_string(),
        },
        other => DecodeError::Corrupt {
            format,
            detail: other.to_string(),
        },
    }
}

/// Runs a decoder whose header has been read: checks its dimensions against the header's,
/// allocates its buffer within `max_alloc` (fallibly) and reads the pixels.
fn read_pixels<D: ImageDecoder>(
    decoder: D,
    format: Format,
    expected: (u32, u32),
    limits: &DecodeLimits,
) -> Result<(ColorType, Vec<u8>), DecodeError> {
    if decoder.dimensions() != expected {
        let (w, h) = decoder.dimensions();
        return Err(DecodeError::Corrupt {
            format,
            detail: format!(
                "the decoder reads {w}×{h}, the header says {}×{}",
                expected.0, expected.1
            ),
        });
    }
    let color = decoder.color_type();
    let total = decoder.total_bytes();
    let too_big = DecodeError::TooMuchMemory {
        format,
        max_alloc: limits.max_alloc,
    };
    if total > limits.max_alloc {
        return Err(too_big);
    }
    let len = usize::try_from(total).map_err(|_| too_big.clone())?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| too_big)?;
    buf.resize(len, 0);
    decoder
        .read_image(&mut buf)
        .map_err(|e| map_image_error(format, limits, e))?;
    Ok((color, buf))
}

/// What the `png` crate may allocate besides the pixels (which [`read_pixels`] allocates
/// and checks against `max_alloc`): row buffers, and the ancillary chunks it inflates as it
/// reads the header. It inflates `iCCP` eagerly, bounded only by this limit, so a 1 MB
/// file whose profile inflates to 1 GiB would otherwise cost `max_alloc` (256 MiB, 0.2 s);
/// an oversized profile is dropped (the `png` crate ignores iCCP errors) and the pixels
/// still decode. 16 MiB is far above real ICC profiles and text metadata.
const PNG_METADATA_ALLOC: u64 = 16 << 20;

/// The `png` decoder after its header pass (everything before the first `IDAT`).
fn png_decoder<'a>(
    bytes: &'a [u8],
    limits: &DecodeLimits,
) -> Result<PngDecoder<Cursor<&'a [u8]>>, DecodeError> {
    let mut png_limits = image_limits(limits);
    png_limits.max_alloc = Some(limits.max_alloc.min(PNG_METADATA_ALLOC));
    let mut decoder = PngDecoder::with_limits(Cursor::new(bytes), png_limits.clone())
        .map_err(|e| map_image_error(Format::Png, limits, e))?;
    decoder
        .set_limits(png_limits)
        .map_err(|e| map_image_error(Format::Png, limits, e))?;
    Ok(decoder)
}

fn decode_png(
    bytes: &[u8],
    ihdr: &PngIhdr,
    limits: &DecodeLimits,
) -> Result<RgbImage8, DecodeError> {
    let decoder = png_decoder(bytes, limits)?;
    let (color, buf) = read_pixels(decoder, Format::Png, (ihdr.width, ihdr.height), limits)?;
    // 16-bit gray (with or without tRNS, which the decoder expands to La16) is Pillow's
    // I;16, not LA: see the module docs.
    let gray16 = ihdr.color_type == 0 && ihdr.bit_depth == 16;
    to_rgb(
        Format::Png,
        ihdr.width,
        ihdr.height,
        color,
        &buf,
        gray16,
        limits,
    )
}

fn decode_jpeg(
    bytes: &[u8],
    frame: &JpegFrame,
    limits: &DecodeLimits,
) -> Result<RgbImage8, DecodeError> {
    let mut decoder = JpegDecoder::new(Cursor::new(bytes))
        .map_err(|e| map_image_error(Format::Jpeg, limits, e))?;
    decoder
        .set_limits(image_limits(limits))
        .map_err(|e| map_image_error(Format::Jpeg, limits, e))?;
    let (color, buf) = read_pixels(decoder, Format::Jpeg, (frame.width, frame.height), limits)?;
    if frame.components == 1 && color != ColorType::L8 {
        return Err(jpeg_corrupt("a gray frame decoded as colour"));
    }
    to_rgb(
        Format::Jpeg,
        frame.width,
        frame.height,
        color,
        &buf,
        false,
        limits,
    )
}

/// The decoded samples (native-endian for 16-bit) → RGB8, as Pillow's `convert("RGB")`.
fn to_rgb(
    format: Format,
    width: u32,
    height: u32,
    color: ColorType,
    buf: &[u8],
    gray16_is_i16: bool,
    limits: &DecodeLimits,
) -> Result<RgbImage8, DecodeError> {
    let n = width as usize * height as usize;
    let too_big = DecodeError::TooMuchMemory {
        format,
        max_alloc: limits.max_alloc,
    };
    let mut out = Vec::new();
    out.try_reserve_exact(n * 3).map_err(|_| too_big)?;
    // A 16-bit sample as stored by `read_image` (native endian).
    let u16_at = |s: &[u8]| u16::from_ne_bytes([s[0], s[1]]);
    // Pillow's `I16_RGB`: values above 255 clip to 255.
    let i16_to_8 = |v: u16| if v > 255 { 255 } else { v as u8 };
    // Pillow's `;16B` unpackers: the most significant byte.
    let msb = |v: u16| (v >> 8) as u8;
    match color {
        ColorType::Rgb8 => out.extend_from_slice(buf),
        ColorType::Rgba8 => buf
            .chunks_exact(4)
            .for_each(|p| out.extend_from_slice(&p[..3])),
        ColorType::L8 => buf.iter().for_each(|&v| out.extend_from_slice(&[v, v, v])),
        ColorType::La8 => buf
            .chunks_exact(2)
            .for_each(|p| out.extend_from_slice(&[p[0], p[0], p[0]])),
        ColorType::L16 | ColorType::La16 => {
            let step = if color == ColorType::L16 { 2 } else { 4 };
            for p in buf.chunks_exact(step) {
                let v = u16_at(p);
                let g = if gray16_is_i16 { i16_to_8(v) } else { msb(v) };
                out.extend_from_slice(&[g, g, g]);
            }
        }
        ColorType::Rgb16 | ColorType::Rgba16 => {
            let step = if color == ColorType::Rgb16 { 6 } else { 8 };
            for p in buf.chunks_exact(step) {
                out.extend_from_slice(&[
                    msb(u16_at(p)),
                    msb(u16_at(&p[2..])),
                    msb(u16_at(&p[4..])),
                ]);
            }
        }
        other => {
            return Err(DecodeError::Unsupported {
                format,
                feature: format!("decoded colour type {other:?}"),
            });
        }
    }
    RgbImage8::from_raw(width, height, out).ok_or_else(|| DecodeError::Corrupt {
        format,
        detail: "the decoder returned fewer pixels than the header gives".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/efficientnet-lite0");

    fn bundle_file(name: &str) -> Vec<u8> {
        let path = format!("{BUNDLE}/{name}");
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    // ---- A minimal PNG writer (stored deflate blocks), for exact control of the header,
    // bit depth, palette and tRNS. ----

    fn crc32(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    fn zlib_stored(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x78, 0x01];
        let blocks: Vec<&[u8]> = if data.is_empty() {
            vec![&[]]
        } else {
            data.chunks(65535).collect()
        };
        for (i, block) in blocks.iter().enumerate() {
            out.push(u8::from(i + 1 == blocks.len()));
            let len = block.len() as u16;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(block);
        }
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in data {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        out.extend_from_slice(&((b << 16) | a).to_be_bytes());
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

    /// Rows of `samples` (per row: `width * channels` values) packed at `bit_depth`, each
    /// with filter byte 0.
    fn pack(width: usize, channels: usize, bit_depth: u8, samples: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for row in samples.chunks(width * channels) {
            raw.push(0);
            match bit_depth {
                16 => row
                    .iter()
                    .for_each(|v| raw.extend_from_slice(&v.to_be_bytes())),
                8 => row.iter().for_each(|&v| raw.push(v as u8)),
                bits => {
                    let per_byte = 8 / bits as usize;
                    for group in row.chunks(per_byte) {
                        let mut byte = 0u8;
                        for (j, &v) in group.iter().enumerate() {
                            byte |= (v as u8) << (8 - bits as usize * (j + 1));
                        }
                        raw.push(byte);
                    }
                }
            }
        }
        raw
    }

    fn png(
        (width, height): (u32, u32),
        bit_depth: u8,
        color_type: u8,
        extra: &[(&[u8; 4], &[u8])],
        raw: &[u8],
    ) -> Vec<u8> {
        let mut out = PNG_SIGNATURE.to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        for (kind, data) in extra {
            chunk(&mut out, kind, data);
        }
        chunk(&mut out, b"IDAT", &zlib_stored(raw));
        chunk(&mut out, b"IEND", &[]);
        out
    }

    fn decode_default(bytes: &[u8]) -> Result<RgbImage8, DecodeError> {
        decode(bytes, &DecodeLimits::default())
    }

    /// Decodes a one-row PNG and returns its RGB bytes.
    fn row_rgb(bit_depth: u8, color_type: u8, extra: &[(&[u8; 4], &[u8])], px: &[u16]) -> Vec<u8> {
        let channels = match color_type {
            0 | 3 => 1,
            4 => 2,
            2 => 3,
            _ => 4,
        };
        let width = px.len() / channels;
        let raw = pack(width, channels, bit_depth, px);
        let bytes = png((width as u32, 1), bit_depth, color_type, extra, &raw);
        match decode_default(&bytes) {
            Ok(img) => img.into_pixels(),
            Err(e) => panic!("depth {bit_depth} type {color_type}: {e}"),
        }
    }

    fn gray(values: &[u8]) -> Vec<u8> {
        values.iter().flat_map(|&v| [v, v, v]).collect()
    }

    // ---- Colour conversion, as Pillow 13.0.0's convert("RGB") (each case was also compared
    // with Pillow on generated files during development) ----

    #[test]
    fn low_bit_gray_is_scaled_like_pillow() {
        assert_eq!(row_rgb(1, 0, &[], &[0, 1, 1, 0]), gray(&[0, 255, 255, 0]));
        assert_eq!(row_rgb(2, 0, &[], &[0, 1, 2, 3]), gray(&[0, 85, 170, 255]));
        assert_eq!(
            row_rgb(4, 0, &[], &[0, 1, 14, 15]),
            gray(&[0, 17, 238, 255])
        );
        assert_eq!(row_rgb(8, 0, &[], &[0, 7, 255]), gray(&[0, 7, 255]));
    }

    #[test]
    fn gray16_is_pillow_i16_clipped_not_scaled() {
        // Pillow: mode I;16, `I16_RGB` keeps 0..=255 and clips the rest to 255.
        let px = [0, 1, 255, 256, 600, 65535];
        let want = gray(&[0, 1, 255, 255, 255, 255]);
        assert_eq!(row_rgb(16, 0, &[], &px), want);
        // With tRNS the decoder expands to gray+alpha; still I;16 in Pillow.
        assert_eq!(row_rgb(16, 0, &[(b"tRNS", &[0, 1])], &px), want);
    }

    #[test]
    fn sixteen_bit_colour_keeps_the_high_byte() {
        assert_eq!(
            row_rgb(16, 4, &[], &[0x1234, 0, 0xff00, 0xffff, 0x00ff, 7]),
            gray(&[0x12, 0xff, 0x00])
        );
        assert_eq!(
            row_rgb(16, 2, &[], &[0x0102, 0x0304, 0xfffe]),
            vec![1, 3, 255]
        );
        assert_eq!(
            row_rgb(16, 6, &[], &[0x0102, 0x0304, 0xfffe, 0]),
            vec![1, 3, 255]
        );
    }

    #[test]
    fn alpha_is_dropped_without_compositing() {
        assert_eq!(row_rgb(8, 4, &[], &[77, 0, 200, 255]), gray(&[77, 200]));
        assert_eq!(row_rgb(8, 6, &[], &[10, 20, 30, 0]), vec![10, 20, 30]);
        // tRNS on RGB marks a colour transparent; the colour itself is kept.
        let trns: &[u8] = &[0, 10, 0, 20, 0, 30];
        assert_eq!(
            row_rgb(8, 2, &[(b"tRNS", trns)], &[10, 20, 30]),
            vec![10, 20, 30]
        );
    }

    #[test]
    fn palette_expands_and_indices_past_plte_are_black() {
        let plte: &[u8] = &[1, 2, 3, 250, 251, 252];
        let trns: &[u8] = &[0];
        let got = row_rgb(2, 3, &[(b"PLTE", plte), (b"tRNS", trns)], &[0, 1, 2, 3]);
        assert_eq!(got, vec![1, 2, 3, 250, 251, 252, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn gray_jpeg_is_replicated() {
        let img = decode_default(&bundle_file("images/china_gray.jpg")).expect("decodes");
        assert_eq!((img.width(), img.height()), (640, 427));
        assert!(
            img.pixels()
                .chunks_exact(3)
                .all(|p| p[0] == p[1] && p[1] == p[2])
        );
    }

    // ---- Formats ----

    #[test]
    fn other_formats_are_named() {
        assert_eq!(decode_default(b""), Err(DecodeError::Empty));
        let gif = decode_default(b"GIF89a\x01\x00\x01\x00").expect_err("GIF");
        assert_eq!(
            gif.to_string(),
            "the body is a GIF image; only JPEG and PNG images are accepted"
        );
        let webp = decode_default(b"RIFF\x10\x00\x00\x00WEBPVP8 ").expect_err("WebP");
        assert!(webp.to_string().contains("WebP"), "{webp}");
        let text = decode_default(b"hello world").expect_err("text");
        assert_eq!(
            text.to_string(),
            "the body is not a JPEG or PNG image (it starts with bytes 68 65 6c 6c 6f 20 77 6f)"
        );
    }

    #[test]
    fn header_reads_dimensions_only() {
        let h = header(&bundle_file("images/chelsea.png")).expect("PNG header");
        assert_eq!((h.format, h.width, h.height), (Format::Png, 451, 300));
        let h = header(&bundle_file("images/coffee_progressive.jpg")).expect("JPEG header");
        assert_eq!((h.format, h.width, h.height), (Format::Jpeg, 600, 400));
    }

    // ---- Hostile input ----

    /// A 60000×60000 gray PNG whose IDAT holds only 4 KiB: inflating it for real would need
    /// 3.6 GB.
    fn png_bomb() -> Vec<u8> {
        png((60000, 60000), 8, 0, &[], &[0; 4096])
    }

    /// The best of several runs, so that a busy machine does not fail the test.
    fn fastest<T>(runs: usize, mut f: impl FnMut() -> T) -> std::time::Duration {
        (0..runs)
            .map(|_| {
                let t = std::time::Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .min()
            .unwrap_or_default()
    }

    #[test]
    fn png_bomb_is_refused_from_the_header() {
        let bomb = png_bomb();
        assert!(bomb.len() < 5000, "{}", bomb.len());
        let err = decode_default(&bomb).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "the image is 60000×60000 pixels; at most 16,777,216 pixels (4096 per side)"
        );
        let took = fastest(20, || decode_default(&bomb));
        assert!(took < std::time::Duration::from_millis(1), "{took:?}");
    }

    #[test]
    fn jpeg_bomb_is_refused_from_the_header() {
        // SOI, then SOF0: 8-bit, 65000×65000, 3 components; nothing else.
        let mut bomb = vec![0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0xfd, 0xe8, 0xfd, 0xe8, 3];
        bomb.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        let err = decode_default(&bomb).expect_err("refused");
        assert!(matches!(
            err,
            DecodeError::TooLarge {
                width: 65000,
                height: 65000,
                ..
            }
        ));
        let took = fastest(20, || decode_default(&bomb));
        assert!(took < std::time::Duration::from_millis(1), "{took:?}");
    }

    #[test]
    fn each_limit_applies() {
        // 5000×1 has few pixels but a side over 4096.
        let wide = png((5000, 1), 8, 0, &[], &pack(5000, 1, 8, &[0; 5000]));
        assert!(matches!(
            decode_default(&wide),
            Err(DecodeError::TooLarge { width: 5000, .. })
        ));
        let small = DecodeLimits {
            max_pixels: 100,
            ..DecodeLimits::default()
        };
        let img = png((11, 10), 8, 0, &[], &pack(11, 1, 8, &[0; 110]));
        assert!(matches!(
            decode(&img, &small),
            Err(DecodeError::TooLarge { .. })
        ));
        let img = png((10, 10), 8, 0, &[], &pack(10, 1, 8, &[0; 100]));
        assert!(decode(&img, &small).is_ok());
        // max_alloc below the decoded buffer (10×10 RGBA16 = 800 bytes).
        let tiny = DecodeLimits {
            max_alloc: 700,
            ..DecodeLimits::default()
        };
        let img = png((10, 10), 16, 6, &[], &pack(10, 4, 16, &[0; 400]));
        assert!(matches!(
            decode(&img, &tiny),
            Err(DecodeError::TooMuchMemory { .. })
        ));
    }

    /// A small baseline JPEG from the `image` crate's encoder.
    fn small_jpeg() -> Vec<u8> {
        let (w, h) = (40u32, 24u32);
        let px: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [(x * 6) as u8, (y * 10) as u8, ((x * y) % 256) as u8]
            })
            .collect();
        let mut out = Vec::new();
        ::image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75)
            .encode(&px, w, h, ::image::ExtendedColorType::Rgb8)
            .expect("encodes");
        out
    }

    /// A small compressed (real deflate, adaptive filters) RGBA PNG from the `image` crate's
    /// encoder.
    fn small_png() -> Vec<u8> {
        let (w, h) = (24u32, 16u32);
        let px: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    (x * 10) as u8,
                    (y * 15) as u8,
                    ((x * y * 7) % 256) as u8,
                    (x + y) as u8,
                ]
            })
            .collect();
        let mut out = Vec::new();
        ::image::ImageEncoder::write_image(
            ::image::codecs::png::PngEncoder::new(&mut out),
            &px,
            w,
            h,
            ::image::ExtendedColorType::Rgba8,
        )
        .expect("encodes");
        out
    }

    #[test]
    fn every_prefix_of_a_png_is_an_error() {
        let full = small_png();
        assert!(decode_default(&full).is_ok());
        for len in 0..full.len() {
            let prefix = &full[..len];
            assert!(decode_default(prefix).is_err(), "prefix of {len} bytes");
            // The decoder itself, without the structure check in front: must not panic.
            if let Ok(ihdr) = png_ihdr(prefix) {
                let _ = decode_png(prefix, &ihdr, &DecodeLimits::default());
            }
        }
    }

    #[test]
    fn every_prefix_of_a_jpeg_is_an_error() {
        let full = small_jpeg();
        assert!(decode_default(&full).is_ok());
        for len in 0..full.len() {
            let prefix = &full[..len];
            let err = decode_default(prefix).expect_err("truncated");
            if len > 200 {
                assert_eq!(
                    err,
                    DecodeError::Truncated {
                        format: Format::Jpeg
                    }
                );
            }
            // zune-jpeg pads a truncated scan; it must not panic either.
            if let Ok(frame) = jpeg_frame(prefix) {
                let _ = decode_jpeg(prefix, &frame, &DecodeLimits::default());
            }
        }
    }

    /// xorshift64*: reproducible random flips without a dependency.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
        }
    }

    #[test]
    fn single_byte_flips_never_panic() {
        for full in [small_jpeg(), small_png()] {
            for at in 0..full.len() {
                for mask in [0x01, 0x80, 0xff] {
                    let mut bytes = full.clone();
                    bytes[at] ^= mask;
                    let _ = decode_default(&bytes);
                }
            }
        }
    }

    #[test]
    fn random_flips_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for name in [
            "images/coffee_progressive.jpg",
            "images/chelsea_palette.png",
        ] {
            let full = bundle_file(name);
            for _ in 0..25 {
                let mut bytes = full.clone();
                for _ in 0..1 + rng.below(8) {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 + rng.below(255) as u8;
                }
                let _ = decode_default(&bytes);
            }
        }
    }

    #[test]
    fn structural_jpeg_errors() {
        let soi_sof = |components: u8| {
            let mut b = vec![0xff, 0xd8];
            let len = 8 + 3 * u16::from(components);
            b.extend_from_slice(&[0xff, 0xc0]);
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(&[8, 0, 16, 0, 16, components]);
            for c in 1..=components {
                b.extend_from_slice(&[c, 0x11, 0]);
            }
            b
        };
        let sos_eoi = [0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 0x12, 0x34, 0xff, 0xd9];
        // CMYK without an Adobe marker, and YCCK: refused before decoding.
        let mut cmyk = soi_sof(4);
        cmyk.extend_from_slice(&sos_eoi);
        let err = decode_default(&cmyk).expect_err("CMYK");
        assert!(
            err.to_string()
                .contains("CMYK colour without an Adobe marker"),
            "{err}"
        );
        let mut ycck = vec![0xff, 0xd8, 0xff, 0xee, 0, 14];
        ycck.extend_from_slice(b"Adobe\x00\x64\x00\x00\x00\x00\x02");
        ycck.extend_from_slice(&soi_sof(4)[2..]);
        ycck.extend_from_slice(&sos_eoi);
        let err = decode_default(&ycck).expect_err("YCCK");
        assert!(err.to_string().contains("YCCK"), "{err}");
        // EOI before any scan.
        let mut empty = soi_sof(3);
        empty.extend_from_slice(&[0xff, 0xd9]);
        assert!(matches!(
            decode_default(&empty),
            Err(DecodeError::Corrupt { .. })
        ));
        // 12-bit samples.
        let mut twelve = soi_sof(1);
        twelve[6] = 12;
        assert!(matches!(
            decode_default(&twelve),
            Err(DecodeError::Unsupported { .. })
        ));
    }

    /// A zlib stream of `n` zero bytes at 13 bits per 258 (fixed Huffman codes: a literal 0,
    /// then <length 258, distance 1> repeated), i.e. a ~160:1 bomb.
    fn zlib_zeros(n: usize) -> Vec<u8> {
        let mut out = vec![0x78, 0x01];
        let (mut acc, mut nbits) = (0u64, 0u32);
        let mut put = |out: &mut Vec<u8>, value: u64, bits: u32| {
            acc |= value << nbits;
            nbits += bits;
            while nbits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                nbits -= 8;
            }
        };
        // Huffman codes go most significant bit first.
        let code =
            |c: u64, bits: u32| (0..bits).fold(0, |r, i| r | ((c >> i) & 1) << (bits - 1 - i));
        put(&mut out, 0b011, 3); // BFINAL = 1, BTYPE = 01 (fixed)
        put(&mut out, code(0x30, 8), 8); // literal 0
        for _ in 0..(n - 1) / 258 {
            put(&mut out, code(0xc5, 8), 8); // length code 285: 258
            put(&mut out, 0, 5); // distance code 0: 1
        }
        for _ in 0..(n - 1) % 258 {
            put(&mut out, code(0x30, 8), 8);
        }
        put(&mut out, 0, 7); // end of block
        put(&mut out, 0, 7); // flush the last partial byte
        let b = (n % 65521) as u32;
        out.extend_from_slice(&((b << 16) | 1).to_be_bytes());
        out
    }

    #[test]
    fn icc_profile_bomb_is_capped() {
        let with_profile = |inflated: usize| {
            let mut iccp = b"bomb\0\0".to_vec();
            iccp.extend_from_slice(&zlib_zeros(inflated));
            let raw = pack(8, 1, 8, &[128; 64]);
            png((8, 8), 8, 0, &[(b"iCCP", &iccp)], &raw)
        };
        let profile = |bytes: &[u8]| {
            let mut d = png_decoder(bytes, &DecodeLimits::default()).expect("header");
            d.icc_profile().expect("no error").map(|p| p.len())
        };
        // A real-sized profile is read; one inflating past PNG_METADATA_ALLOC is dropped.
        assert_eq!(profile(&with_profile(3000)), Some(3000));
        let bomb = with_profile(PNG_METADATA_ALLOC as usize + 1000);
        assert!(bomb.len() < 150_000, "{}", bomb.len());
        assert_eq!(profile(&bomb), None);
        // And the pixels still decode.
        let img = decode_default(&bomb).expect("decodes");
        assert_eq!(img.pixels(), [128; 192]);
    }

    #[test]
    fn png_without_iend_is_truncated() {
        let full = bundle_file("images/microaneurysms.png");
        let cut = &full[..full.len() - 12];
        assert_eq!(
            decode_default(cut),
            Err(DecodeError::Truncated {
                format: Format::Png
            })
        );
        assert_eq!(
            DecodeError::Truncated {
                format: Format::Png
            }
            .to_string(),
            "the PNG image is truncated (it ends before its end marker)"
        );
    }
}
