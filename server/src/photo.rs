//! What the gateway checks in an uploaded photo before anyone can see it: that it is really a
//! JPEG, PNG or WebP by its bytes, that it is not a decompression bomb, that it decodes to
//! the end, and, for what is published: only the primary image (whatever a phone appended
//! after it, a Motion Photo's video or an MPO's second image with its own EXIF, is dropped),
//! no metadata (EXIF, XMP, comments), and the pixels turned as the EXIF orientation said, so
//! the photo shows as it was taken. The rules for the file are `citizen_core::photo`'s, the
//! same as the device's.

use std::io::Cursor;

use bytes::Bytes;
use citizen_core::photo::{
    PNG_PIXEL_CHUNKS, PhotoFormat, WEBP_PIXEL_CHUNKS, is_jpeg_metadata, jpeg_segments, png_chunks,
    primary_image, webp_chunks,
};
use citizen_core::report::{FieldError, MAX_PHOTO_BYTES, MAX_PHOTO_PIXELS};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// JPEG quality of a photo the gateway has to turn upright (it is re-encoded only then).
const JPEG_QUALITY: u8 = 90;

/// A photo that passed every check, as it is published.
#[derive(Debug, Clone)]
pub struct CheckedPhoto {
    pub media_type: &'static str,
    /// Upright width and height, in pixels.
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// Checks `data` as a photo; errors name `field`.
pub fn check(field: &str, data: &[u8]) -> Result<CheckedPhoto, FieldError> {
    let primary = primary_image(data).map_err(|e| FieldError::new(field, e.to_string()))?;
    let format = match primary.format {
        PhotoFormat::Jpeg => ImageFormat::Jpeg,
        PhotoFormat::Png => ImageFormat::Png,
        PhotoFormat::WebP => ImageFormat::WebP,
    };
    let media_type = primary.format.media_type();
    let data = primary.bytes;
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
    let undecodable = |e: image::ImageError| {
        FieldError::new(field, format!("the {media_type} does not decode: {e}"))
    };
    let mut decoder = reader().into_decoder().map_err(undecodable)?;
    // An orientation tag that cannot be read is treated as none, as viewers do.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    // The colour profile goes with re-encoded pixels: without it an iPhone's Display P3
    // photo would be published washed out.
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    let reencode = |image: DynamicImage, orientation, why: &str| {
        let photo = upright(image, orientation, primary.format, icc.clone())
            .map_err(|e| FieldError::new(field, format!("the {media_type} {why}: {e}")))?;
        if photo.data.len() as u64 > MAX_PHOTO_BYTES {
            return Err(FieldError::new(
                field,
                format!(
                    "turned upright, the photo is {} bytes, more than the {MAX_PHOTO_BYTES} allowed",
                    photo.data.len()
                ),
            ));
        }
        Ok(photo)
    };
    if orientation != Orientation::NoTransforms {
        return reencode(image, orientation, "cannot be turned upright");
    }
    let stripped = strip_metadata(format, data)
        .map_err(|e| FieldError::new(field, format!("unreadable {media_type} structure: {e}")))?;
    if !only_pixels(primary.format, &stripped) {
        // The library that removed the metadata read the file differently from our own walk
        // (a damaged file that still decodes), or the file is an animation: publish fresh
        // pixels rather than bytes we cannot vouch for.
        tracing::warn!(
            field,
            media_type,
            "photo structure left more than pixels after stripping: re-encoded"
        );
        return reencode(image, Orientation::NoTransforms, "cannot be encoded again");
    }
    Ok(CheckedPhoto {
        media_type,
        width,
        height,
        data: stripped,
    })
}

/// Whether a file is one whole image with nothing but what its pixels need, by our own
/// walk of its structure (see `citizen_core::photo`).
fn only_pixels(format: PhotoFormat, data: &[u8]) -> bool {
    let whole = primary_image(data).is_ok_and(|p| p.trailer == 0);
    whole
        && match format {
            PhotoFormat::Jpeg => jpeg_segments(data).is_ok_and(|(segments, _)| {
                segments
                    .iter()
                    .all(|s| !is_jpeg_metadata(s.marker, &data[s.payload.clone()]))
            }),
            PhotoFormat::Png => png_chunks(data)
                .is_ok_and(|kinds| kinds.iter().all(|k| PNG_PIXEL_CHUNKS.contains(&k))),
            PhotoFormat::WebP => webp_chunks(data)
                .is_ok_and(|ids| ids.iter().all(|id| WEBP_PIXEL_CHUNKS.contains(&id))),
        }
}

/// Turns the pixels as the orientation tag says and encodes them again with their colour
/// profile and nothing else: JPEG stays JPEG (quality 90), PNG stays PNG, a WebP becomes a
/// JPEG (a lossless WebP of a camera photo would be several times its size) unless it has
/// transparency, which only a lossless WebP keeps here.
fn upright(
    mut image: DynamicImage,
    orientation: Orientation,
    format: PhotoFormat,
    icc: Option<Vec<u8>>,
) -> Result<CheckedPhoto, image::ImageError> {
    use image::ImageEncoder as _;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let format = match format {
        PhotoFormat::WebP if !image.color().has_alpha() => PhotoFormat::Jpeg,
        other => other,
    };
    let mut data = Vec::new();
    match format {
        PhotoFormat::Jpeg => {
            let rgb = image.into_rgb8();
            let mut encoder =
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut data, JPEG_QUALITY);
            if let Some(icc) = icc {
                // A profile the encoder cannot carry leaves the photo in sRGB, as before.
                let _ = encoder.set_icc_profile(icc);
            }
            encoder.write_image(&rgb, width, height, image::ExtendedColorType::Rgb8)?;
        }
        PhotoFormat::Png => {
            let mut encoder = image::codecs::png::PngEncoder::new(&mut data);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc);
            }
            let color = image.color().into();
            encoder.write_image(image.as_bytes(), width, height, color)?;
        }
        PhotoFormat::WebP => {
            let rgba = image.into_rgba8();
            let mut encoder = image::codecs::webp::WebPEncoder::new_lossless(&mut data);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc);
            }
            encoder.write_image(&rgba, width, height, image::ExtendedColorType::Rgba8)?;
        }
    }
    Ok(CheckedPhoto {
        media_type: format.media_type(),
        width,
        height,
        data,
    })
}

/// Keeps what the pixels need and removes the rest (EXIF, XMP, comments, text, multi-picture
/// indexes, C2PA manifests, vendor chunks; see `citizen_core::photo`) without re-encoding
/// the pixels. A photo that has nothing else comes back byte for byte.
fn strip_metadata(format: ImageFormat, data: &[u8]) -> Result<Vec<u8>, img_parts::Error> {
    let bytes = Bytes::copy_from_slice(data);
    let stripped = match format {
        ImageFormat::Jpeg => {
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(bytes)?;
            let before = jpeg.segments().len();
            jpeg.segments_mut()
                .retain(|s| !is_jpeg_metadata(s.marker(), s.contents()));
            if jpeg.segments().len() == before {
                return Ok(data.to_vec());
            }
            jpeg.encoder().bytes()
        }
        ImageFormat::Png => {
            let mut png = img_parts::png::Png::from_bytes(bytes)?;
            let before = png.chunks().len();
            png.chunks_mut()
                .retain(|c| PNG_PIXEL_CHUNKS.contains(&&c.kind()));
            if png.chunks().len() == before {
                return Ok(data.to_vec());
            }
            png.encoder().bytes()
        }
        ImageFormat::WebP => {
            let mut webp = img_parts::webp::WebP::from_bytes(bytes)?;
            let before = webp.chunks().len();
            webp.chunks_mut()
                .retain(|c| WEBP_PIXEL_CHUNKS.contains(&&c.id()));
            if webp.chunks().len() == before {
                return Ok(data.to_vec());
            }
            clear_metadata_flags(&mut webp);
            webp.encoder().bytes()
        }
        _ => return Ok(data.to_vec()),
    };
    Ok(stripped.to_vec())
}

/// Clears the EXIF and XMP flags of an extended WebP's `VP8X` header (RFC 9649, 2.7) once
/// those chunks are gone: a decoder that trusts the flags refuses a file whose flagged
/// chunk is missing.
fn clear_metadata_flags(webp: &mut img_parts::webp::WebP) {
    use img_parts::riff::{RiffChunk, RiffContent};
    const XMP_FLAG: u8 = 0x04;
    const EXIF_FLAG: u8 = 0x08;
    for chunk in webp.chunks_mut().iter_mut() {
        if chunk.id() != *b"VP8X" {
            continue;
        }
        if let RiffContent::Data(data) = chunk.content()
            && let Some(&flags) = data.first()
        {
            let mut header = data.to_vec();
            header[0] = flags & !(XMP_FLAG | EXIF_FLAG);
            *chunk = RiffChunk::new(*b"VP8X", RiffContent::Data(header.into()));
        }
    }
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
            (b"GIF89a\x01\x00\x01\x00".to_vec(), "GIF"),
            (truncated, "truncated"),
        ];
        for (data, expected) in table {
            let err = check("photos[0]", &data).expect_err("refused");
            assert_eq!(err.field, "photos[0]");
            assert!(err.message.contains(expected), "{expected}: {err}");
        }
    }
}
