//! What the gateway checks in an uploaded photo before anyone can see it: that it is really a
//! JPEG, PNG or WebP by its bytes, that it is not a decompression bomb, that it decodes to
//! the end, and that it carries no metadata (EXIF, XMP, comments) when it is published.

use std::io::Cursor;

use bytes::Bytes;
use citizen_core::report::{FieldError, MAX_PHOTO_PIXELS};
use image::{ImageFormat, ImageReader, Limits};
use img_parts::ImageEXIF;

/// A photo that passed every check, with its metadata removed.
#[derive(Debug, Clone)]
pub struct CheckedPhoto {
    pub media_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// Checks `data` as a photo; errors name `field`.
pub fn check(field: &str, data: &[u8]) -> Result<CheckedPhoto, FieldError> {
    let format = image::guess_format(data).map_err(|_| {
        FieldError::new(
            field,
            format!(
                "not a JPEG, PNG or WebP image (it starts with {})",
                describe_start(data)
            ),
        )
    })?;
    let media_type = match format {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Png => "image/png",
        ImageFormat::WebP => "image/webp",
        other => {
            return Err(FieldError::new(
                field,
                format!("{other:?} images are not accepted: send a JPEG, PNG or WebP"),
            ));
        }
    };
    let reader = || {
        let mut reader = ImageReader::with_format(Cursor::new(data), format);
        let mut limits = Limits::default();
        limits.max_alloc = Some(512 * 1024 * 1024);
        reader.limits(limits);
        reader
    };
    let (width, height) = reader()
        .into_dimensions()
        .map_err(|e| FieldError::new(field, format!("unreadable {media_type} header: {e}")))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PHOTO_PIXELS {
        return Err(FieldError::new(
            field,
            format!(
                "{width}×{height} pixels is more than the {} megapixels allowed",
                MAX_PHOTO_PIXELS / 1_000_000
            ),
        ));
    }
    // Some JPEG decoders fill a cut-off scan with grey instead of failing: a photo that lost
    // its end in transit must not be published as half an image.
    if format == ImageFormat::Jpeg {
        let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        if !data[..end].ends_with(&[0xFF, 0xD9]) {
            return Err(FieldError::new(
                field,
                "the image/jpeg is truncated: it has no end-of-image marker",
            ));
        }
    }
    reader()
        .decode()
        .map_err(|e| FieldError::new(field, format!("the {media_type} does not decode: {e}")))?;
    let data = strip_metadata(format, data)
        .map_err(|e| FieldError::new(field, format!("unreadable {media_type} structure: {e}")))?;
    Ok(CheckedPhoto {
        media_type,
        width,
        height,
        data,
    })
}

/// Removes EXIF, XMP, comments and text chunks without re-encoding the pixels. A photo that
/// has none comes back byte for byte.
fn strip_metadata(format: ImageFormat, data: &[u8]) -> Result<Vec<u8>, img_parts::Error> {
    let bytes = Bytes::copy_from_slice(data);
    let stripped = match format {
        ImageFormat::Jpeg => {
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(bytes)?;
            let before = jpeg.segments().len();
            // Keep JFIF (APP0), the colour profile (APP2) and Adobe's colour transform (APP14).
            use img_parts::jpeg::markers::{APP1, APP2, APP14, APP15, COM};
            let metadata =
                |m: u8| m == COM || ((APP1..=APP15).contains(&m) && m != APP2 && m != APP14);
            jpeg.segments_mut().retain(|s| !metadata(s.marker()));
            if jpeg.segments().len() == before {
                return Ok(data.to_vec());
            }
            jpeg.encoder().bytes()
        }
        ImageFormat::Png => {
            let mut png = img_parts::png::Png::from_bytes(bytes)?;
            let before = png.chunks().len();
            png.chunks_mut()
                .retain(|c| !matches!(&c.kind(), b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt"));
            if png.chunks().len() == before {
                return Ok(data.to_vec());
            }
            png.encoder().bytes()
        }
        ImageFormat::WebP => {
            let mut webp = img_parts::webp::WebP::from_bytes(bytes)?;
            if webp.exif().is_none() && webp.chunk_by_id(*b"XMP ").is_none() {
                return Ok(data.to_vec());
            }
            webp.set_exif(None);
            webp.remove_chunks_by_id(*b"XMP ");
            webp.encoder().bytes()
        }
        _ => return Ok(data.to_vec()),
    };
    Ok(stripped.to_vec())
}

fn describe_start(data: &[u8]) -> String {
    if data.starts_with(b"%PDF") {
        return "%PDF: a PDF document".into();
    }
    let head = String::from_utf8_lossy(&data[..data.len().min(16)]).to_lowercase();
    if head.trim_start().starts_with('<') {
        return "'<': an HTML or XML document".into();
    }
    if data.is_empty() {
        return "nothing: it is empty".into();
    }
    let hex: Vec<String> = data.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("bytes {}", hex.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage};

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 99]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .write_image(&img, width, height, image::ExtendedColorType::Rgb8)
            .expect("encodes");
        out
    }

    /// Inserts an EXIF APP1 segment with a camera serial right after SOI.
    fn with_exif(jpeg: &[u8]) -> Vec<u8> {
        let payload = b"Exif\0\0MM\0*\0\0\0\x08SERIAL-123456";
        let len = u16::try_from(payload.len() + 2).expect("small");
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn a_clean_jpeg_passes_unchanged() {
        let data = jpeg(64, 48);
        let checked = check("photo", &data).expect("a real JPEG");
        assert_eq!((checked.width, checked.height), (64, 48));
        assert_eq!(checked.media_type, "image/jpeg");
        assert_eq!(checked.data, data, "nothing to strip: byte for byte");
    }

    #[test]
    fn exif_is_removed_without_touching_the_pixels() {
        let clean = jpeg(32, 32);
        let dirty = with_exif(&clean);
        assert!(dirty.windows(6).any(|w| w == b"SERIAL"));
        let checked = check("photo", &dirty).expect("still a JPEG");
        assert!(
            !checked.data.windows(6).any(|w| w == b"SERIAL"),
            "the serial is gone"
        );
        assert!(
            !checked.data.windows(4).any(|w| w == b"Exif"),
            "EXIF is gone"
        );
        assert_eq!(checked.data, clean, "only the segment was removed");
    }

    #[test]
    fn impostors_and_broken_images_are_named() {
        let truncated = {
            let data = jpeg(200, 200);
            data[..data.len() / 2].to_vec()
        };
        let table: Vec<(Vec<u8>, &str)> = vec![
            (b"%PDF-1.7 fake".to_vec(), "PDF"),
            (b"<!doctype html><html>".to_vec(), "HTML"),
            (Vec::new(), "empty"),
            (b"GIF89a\x01\x00\x01\x00".to_vec(), "Gif"),
            (truncated, "truncated"),
        ];
        for (data, expected) in table {
            let err = check("photos[0]", &data).expect_err("refused");
            assert_eq!(err.field, "photos[0]");
            assert!(err.message.contains(expected), "{expected}: {err}");
        }
    }
}
