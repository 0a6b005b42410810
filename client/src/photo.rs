//! Photos as the device keeps and sends them: turned upright, scaled so the long side is at
//! most 1 920 px, re-encoded as JPEG without any metadata (no GPS, no camera serial). The
//! GPS position is read first, so it can place the report.

use std::io::Cursor;

use citizen_core::Position;
use citizen_core::photo::{PhotoFileError, PhotoFormat, primary_image};
use citizen_core::report::PHOTO_LONG_SIDE;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use sha2::{Digest, Sha256};

/// Largest photo the device decodes, in pixels (a 108-megapixel phone camera fits).
pub const MAX_SOURCE_PIXELS: u64 = 120_000_000;
const JPEG_QUALITY: u8 = 82;

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The file is not a photo of a format the app reads, or it is cut off.
    #[error(transparent)]
    File(#[from] PhotoFileError),
    #[error("not a photo this app can read: {0}")]
    Unreadable(String),
    #[error("the photo is {width}×{height} pixels, more than this app can process")]
    TooLarge { width: u32, height: u32 },
}

/// A photo ready to store and send.
#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Lower-case hex SHA-256 of `data`.
    pub sha256: String,
    /// Where the original says it was taken, if it says so.
    pub gps: Option<Position>,
}

/// Processes a photo as the camera or a file gave it. Only the primary image counts (see
/// `citizen_core::photo`): a Motion Photo's video or an MPO's second image is dropped with
/// its metadata. Errors say why the file cannot be used (a HEIC photo is named as such).
pub fn process(original: &[u8]) -> Result<ProcessedPhoto, PhotoError> {
    process_to(original, PHOTO_LONG_SIDE, JPEG_QUALITY)
}

/// The long side of a scanned document the device keeps: 3 508 px, an A4 page at 300 dpi,
/// where small print stays readable.
pub const SCAN_LONG_SIDE: u32 = 3_508;

/// Processes a photographed or scanned document for an application: like [`process`] (upright,
/// JPEG, no metadata) but kept large enough to read ([`SCAN_LONG_SIDE`]) at quality 88.
pub fn process_scan(original: &[u8]) -> Result<ProcessedPhoto, PhotoError> {
    process_to(original, SCAN_LONG_SIDE, 88)
}

fn process_to(original: &[u8], long_side: u32, quality: u8) -> Result<ProcessedPhoto, PhotoError> {
    let unreadable = |e: image::ImageError| PhotoError::Unreadable(e.to_string());
    let primary = primary_image(original)?;
    let original = primary.bytes;
    let gps = gps_of(original);
    let format = match primary.format {
        PhotoFormat::Jpeg => image::ImageFormat::Jpeg,
        PhotoFormat::Png => image::ImageFormat::Png,
        PhotoFormat::WebP => image::ImageFormat::WebP,
    };
    let mut reader = ImageReader::with_format(Cursor::new(original), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(1024 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_SOURCE_PIXELS {
        return Err(PhotoError::TooLarge { width, height });
    }
    // An orientation tag that cannot be read is treated as none, as viewers (and the gateway) do.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    let (pixels, width, height) = scale_down(image, long_side)?;
    let mut data = Vec::with_capacity(pixels.len() / 8);
    // The encoder writes pixels and a JFIF header only: no EXIF, XMP or comments.
    let encoder = jpeg_encoder::Encoder::new(&mut data, quality);
    encoder
        .encode(
            &pixels,
            u16::try_from(width).map_err(|_| PhotoError::TooLarge { width, height })?,
            u16::try_from(height).map_err(|_| PhotoError::TooLarge { width, height })?,
            jpeg_encoder::ColorType::Rgb,
        )
        .map_err(|e| PhotoError::Unreadable(e.to_string()))?;
    Ok(ProcessedPhoto {
        sha256: format!("{:x}", Sha256::digest(&data)),
        width,
        height,
        data,
        gps,
    })
}

/// RGB pixels with the long side at most `long_side`, scaled with a bilinear convolution
/// (SIMD): the resize is the costliest step on a 12-megapixel photo.
fn scale_down(image: DynamicImage, long_side: u32) -> Result<(Vec<u8>, u32, u32), PhotoError> {
    let rgb = image.into_rgb8();
    let (w, h) = rgb.dimensions();
    if w.max(h) <= long_side {
        return Ok((rgb.into_raw(), w, h));
    }
    let scale = f64::from(long_side) / f64::from(w.max(h));
    let nw = ((f64::from(w) * scale).round() as u32).max(1);
    let nh = ((f64::from(h) * scale).round() as u32).max(1);
    let failed = |e: &dyn std::fmt::Display| PhotoError::Unreadable(format!("resize: {e}"));
    let source = fast_image_resize::images::Image::from_vec_u8(
        w,
        h,
        rgb.into_raw(),
        fast_image_resize::PixelType::U8x3,
    )
    .map_err(|e| failed(&e))?;
    let mut target =
        fast_image_resize::images::Image::new(nw, nh, fast_image_resize::PixelType::U8x3);
    let options = fast_image_resize::ResizeOptions::new().resize_alg(
        fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::Bilinear),
    );
    fast_image_resize::Resizer::new()
        .resize(&source, &mut target, &options)
        .map_err(|e| failed(&e))?;
    Ok((target.into_vec(), nw, nh))
}

/// The GPS position in a photo's EXIF, if it has a plausible one.
pub fn gps_of(original: &[u8]) -> Option<Position> {
    let exif = exif::Reader::new()
        .read_from_container(&mut Cursor::new(original))
        .ok()?;
    let degrees = |tag, ref_tag, negative: &[u8]| -> Option<f64> {
        let field = exif.get_field(tag, exif::In::PRIMARY)?;
        let exif::Value::Rational(parts) = &field.value else {
            return None;
        };
        let [d, m, s] = parts.get(..3)? else {
            return None;
        };
        let value = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        let sign = match exif.get_field(ref_tag, exif::In::PRIMARY).map(|f| &f.value) {
            Some(exif::Value::Ascii(v)) if v.first().is_some_and(|r| r.starts_with(negative)) => {
                -1.0
            }
            _ => 1.0,
        };
        Some(sign * value)
    };
    let lat = degrees(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, b"S")?;
    let lon = degrees(exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef, b"W")?;
    let plausible = lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
        && (lat, lon) != (0.0, 0.0);
    plausible.then_some(Position { lon, lat })
}

/// A small JPEG of a stored photo, for lists and previews.
pub fn thumbnail(data: &[u8], long_side: u32) -> Result<Vec<u8>, PhotoError> {
    let image = image::load_from_memory(data).map_err(|e| PhotoError::Unreadable(e.to_string()))?;
    let small = image.thumbnail(long_side, long_side).to_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 75)
        .encode_image(&small)
        .map_err(|e| PhotoError::Unreadable(e.to_string()))?;
    Ok(out)
}
