//! Camera-like test photos: JPEGs with the EXIF a phone writes (GPS position, camera serial,
//! orientation), to check that the app reads the position and removes everything.

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::ImageEncoder as _;

/// Degrees as EXIF's degrees/minutes/seconds rationals.
fn dms(degrees: f64) -> Value {
    let d = degrees.abs().floor();
    let m = ((degrees.abs() - d) * 60.0).floor();
    let s = ((degrees.abs() - d) * 60.0 - m) * 60.0;
    Value::Rational(vec![
        Rational::from((d as u32, 1)),
        Rational::from((m as u32, 1)),
        Rational::from(((s * 10_000.0).round() as u32, 10_000)),
    ])
}

/// A `width`×`height` JPEG whose EXIF holds a GPS position, a camera serial and an
/// orientation (6: the camera was turned a quarter clockwise).
pub fn camera_jpeg(width: u32, height: u32, lat: f64, lon: f64, serial: &str) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .write_image(&img, width, height, image::ExtendedColorType::Rgb8)
        .expect("encodes in memory");
    let fields = [
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![if lat < 0.0 {
                b"S".to_vec()
            } else {
                b"N".to_vec()
            }]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: dms(lat),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![if lon < 0.0 {
                b"W".to_vec()
            } else {
                b"E".to_vec()
            }]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: dms(lon),
        },
        Field {
            tag: Tag::BodySerialNumber,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![serial.as_bytes().to_vec()]),
        },
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![6]),
        },
    ];
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, false).expect("EXIF encodes");
    let tiff = tiff.into_inner();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = u16::try_from(app1.len() + 2).expect("EXIF fits a segment");
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A `width`×`height` JPEG with the fine detail of a real scene (noise over gradients), so it
/// is as large and as slow to decode as a camera's.
pub fn detailed_jpeg(width: u32, height: u32, quality: u8, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let noise = (state >> 58) as u8;
        image::Rgb([
            ((x * 255 / width) as u8).wrapping_add(noise),
            ((y * 255 / height) as u8).wrapping_add(noise / 2),
            noise.wrapping_mul(3),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(&img, width, height, image::ExtendedColorType::Rgb8)
        .expect("encodes in memory");
    out
}

/// A block of metadata a phone or an editor writes into a photo file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metadata {
    /// EXIF with a GPS position (10.36° N, 106.36° E), a camera serial ([`SERIAL`]) and the
    /// photo's orientation.
    Exif,
    /// An XMP packet naming the location ([`XMP_MARK`]).
    Xmp,
    /// A comment (JPEG `COM`, PNG `tEXt`).
    Comment,
    /// A multi-picture index (JPEG APP2 `MPF`), as MPO and Ultra HDR files carry.
    MultiPicture,
    /// A content-credentials (C2PA) manifest naming the place ([`PROVENANCE_MARK`]): PNG
    /// `caBX`, WebP `C2PA`, JPEG APP11.
    Provenance,
    /// A JFIF header with an embedded thumbnail ([`THUMBNAIL_MARK`] in its pixels; JPEG),
    /// or the time the picture was taken (PNG `tIME`).
    ThumbnailOrTime,
}

/// Text inside generated C2PA manifests.
pub const PROVENANCE_MARK: &str = "c2pa.location=10.36,106.36";
/// Bytes of a generated JFIF thumbnail.
pub const THUMBNAIL_MARK: &[u8] = b"THUMBPIXELS!";

/// The camera serial written into generated EXIF blocks.
pub const SERIAL: &str = "SN-TRAILER-424242";
/// Text inside generated XMP packets.
pub const XMP_MARK: &str = "photoshop:City=MyTho";
/// Text inside generated comments.
pub const COMMENT_MARK: &str = "Comment-Camera-Model";

/// What a phone may append after the primary image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trailer {
    None,
    /// One stray `\n`.
    Newline,
    /// A Motion Photo's MP4 video (an `ftyp` box and some media data).
    MotionPhotoVideo,
    /// A second JPEG with its own EXIF (GPS and serial), as in MPO and Ultra HDR files.
    SecondImage,
    /// A vendor trailer (Samsung's `SEFH`/`SEFT` blocks).
    VendorTrailer,
}

impl Trailer {
    pub const ALL: [Trailer; 5] = [
        Trailer::None,
        Trailer::Newline,
        Trailer::MotionPhotoVideo,
        Trailer::SecondImage,
        Trailer::VendorTrailer,
    ];

    pub fn bytes(self) -> Vec<u8> {
        match self {
            Trailer::None => Vec::new(),
            Trailer::Newline => b"\n".to_vec(),
            Trailer::MotionPhotoVideo => {
                let mut out = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
                out.extend_from_slice(b"\0\0\x01\x00mdat");
                out.extend(std::iter::repeat_n(0x5Au8, 248));
                out
            }
            Trailer::SecondImage => {
                let pixels = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 10, 10]));
                jpeg_with(&pixels, 1, &[Metadata::Exif])
            }
            Trailer::VendorTrailer => b"\0\0SEFH\x6a\0\0\0Image_UTC_Data1700000000000SEFT".to_vec(),
        }
    }
}

/// EXIF (a TIFF structure) with a GPS position, [`SERIAL`] and `orientation` (1–8).
pub fn exif_block(orientation: u16) -> Vec<u8> {
    let fields = [
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: dms(10.36),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: dms(106.36),
        },
        Field {
            tag: Tag::BodySerialNumber,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![SERIAL.as_bytes().to_vec()]),
        },
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation]),
        },
    ];
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, false).expect("EXIF encodes");
    tiff.into_inner()
}

fn xmp_packet() -> Vec<u8> {
    format!(
        "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>\
         <rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description \
         {XMP_MARK}/></rdf:RDF></x:xmpmeta><?xpacket end='w'?>"
    )
    .into_bytes()
}

fn jpeg_segment(marker: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    let len = u16::try_from(contents.len() + 2).expect("fits a segment");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(contents);
    out
}

/// `pixels` as a JPEG (quality 95) with `metadata` blocks, the EXIF one saying `orientation`.
pub fn jpeg_with(pixels: &image::RgbImage, orientation: u16, metadata: &[Metadata]) -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 95)
        .write_image(
            pixels,
            pixels.width(),
            pixels.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encodes in memory");
    let mut out = plain[..2].to_vec();
    for block in metadata {
        match block {
            Metadata::Exif => {
                let mut app1 = b"Exif\0\0".to_vec();
                app1.extend(exif_block(orientation));
                out.extend(jpeg_segment(0xE1, &app1));
            }
            Metadata::Xmp => {
                let mut app1 = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
                app1.extend(xmp_packet());
                out.extend(jpeg_segment(0xE1, &app1));
            }
            Metadata::Comment => out.extend(jpeg_segment(0xFE, COMMENT_MARK.as_bytes())),
            Metadata::MultiPicture => {
                out.extend(jpeg_segment(
                    0xE2,
                    b"MPF\0MM\0*\0\0\0\x08\0\x01\xb0\0\0\x07",
                ));
            }
            Metadata::Provenance => {
                let mut app11 = b"JP\0\0".to_vec();
                app11.extend_from_slice(PROVENANCE_MARK.as_bytes());
                out.extend(jpeg_segment(0xEB, &app11));
            }
            Metadata::ThumbnailOrTime => {
                // JFIF 1.02 with a 2×2 RGB thumbnail (12 bytes).
                let mut app0 = b"JFIF\0\x01\x02\0\0\x01\0\x01\x02\x02".to_vec();
                app0.extend_from_slice(THUMBNAIL_MARK);
                out.extend(jpeg_segment(0xE0, &app0));
            }
        }
    }
    out.extend_from_slice(&plain[2..]);
    out
}

/// `pixels` in a lossless format (PNG, or WebP, which the image crate writes lossless).
fn lossless(pixels: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(pixels.clone())
        .write_to(&mut out, format)
        .expect("encodes in memory");
    out.into_inner()
}

/// `pixels` as a PNG with `metadata` chunks (`eXIf`, XMP in `iTXt`, a `tEXt` comment).
pub fn png_with(pixels: &image::RgbImage, orientation: u16, metadata: &[Metadata]) -> Vec<u8> {
    let plain = lossless(pixels, image::ImageFormat::Png);
    let mut png = img_parts::png::Png::from_bytes(plain.into()).expect("our own PNG");
    for block in metadata {
        let chunk = match block {
            Metadata::Exif => Some((*b"eXIf", exif_block(orientation))),
            Metadata::Xmp => {
                let mut text = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
                text.extend(xmp_packet());
                Some((*b"iTXt", text))
            }
            Metadata::Comment => {
                let mut text = b"Comment\0".to_vec();
                text.extend_from_slice(COMMENT_MARK.as_bytes());
                Some((*b"tEXt", text))
            }
            Metadata::Provenance => {
                let mut manifest = b"jumb".to_vec();
                manifest.extend_from_slice(PROVENANCE_MARK.as_bytes());
                Some((*b"caBX", manifest))
            }
            Metadata::ThumbnailOrTime => Some((*b"tIME", vec![0x07, 0xEA, 11, 30, 8, 30, 0])),
            Metadata::MultiPicture => None,
        };
        if let Some((kind, contents)) = chunk {
            // After IHDR, before the image data.
            png.chunks_mut()
                .insert(1, img_parts::png::PngChunk::new(kind, contents.into()));
        }
    }
    png.encoder().bytes().to_vec()
}

/// `pixels` as a lossless WebP with `metadata` chunks (`EXIF`, `XMP `), in the extended
/// format (`VP8X`) that metadata needs, with its flags set as a camera app sets them.
pub fn webp_with(pixels: &image::RgbImage, orientation: u16, metadata: &[Metadata]) -> Vec<u8> {
    use img_parts::riff::{RiffChunk, RiffContent};
    let plain = lossless(pixels, image::ImageFormat::WebP);
    let exif = metadata.contains(&Metadata::Exif);
    let xmp = metadata.contains(&Metadata::Xmp);
    let provenance = metadata.contains(&Metadata::Provenance);
    if !exif && !xmp && !provenance {
        return plain;
    }
    let mut webp = img_parts::webp::WebP::from_bytes(plain.into()).expect("our own WebP");
    let mut vp8x = vec![(u8::from(xmp) * 0x04) | (u8::from(exif) * 0x08), 0, 0, 0];
    vp8x.extend_from_slice(&(pixels.width() - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(pixels.height() - 1).to_le_bytes()[..3]);
    let chunks = webp.chunks_mut();
    chunks.insert(0, RiffChunk::new(*b"VP8X", RiffContent::Data(vp8x.into())));
    if exif {
        chunks.push(RiffChunk::new(
            *b"EXIF",
            RiffContent::Data(exif_block(orientation).into()),
        ));
    }
    if xmp {
        chunks.push(RiffChunk::new(
            *b"XMP ",
            RiffContent::Data(xmp_packet().into()),
        ));
    }
    if provenance {
        chunks.push(RiffChunk::new(
            *b"C2PA",
            RiffContent::Data(PROVENANCE_MARK.as_bytes().to_vec().into()),
        ));
    }
    webp.encoder().bytes().to_vec()
}

/// A picture whose four quadrants have four far-apart colours, so any turn or flip shows.
pub fn quadrants(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb(QUADRANT_COLOURS[usize::from(y >= height / 2) * 2 + usize::from(x >= width / 2)])
    })
}

/// Top left, top right, bottom left, bottom right.
pub const QUADRANT_COLOURS: [[u8; 3]; 4] =
    [[230, 20, 20], [20, 200, 20], [20, 20, 230], [240, 240, 30]];

/// The pixels a camera stores for a scene that shows as `upright` once the EXIF
/// `orientation` is applied: the inverse transform.
pub fn stored_for(upright: &image::RgbImage, orientation: u16) -> image::RgbImage {
    use image::imageops;
    match orientation {
        2 => imageops::flip_horizontal(upright),
        3 => imageops::rotate180(upright),
        4 => imageops::flip_vertical(upright),
        // 5 (transpose) and 7 (transverse) are their own inverses: a quarter turn clockwise
        // (5) or counter-clockwise (7), then a mirror.
        5 => imageops::flip_horizontal(&imageops::rotate90(upright)),
        // Orientation 6 is turned back by a quarter clockwise, so it was stored a quarter
        // counter-clockwise.
        6 => imageops::rotate270(upright),
        7 => imageops::flip_horizontal(&imageops::rotate270(upright)),
        8 => imageops::rotate90(upright),
        _ => upright.clone(),
    }
}

/// Whether `decoded` shows the quadrants of [`quadrants`] the right way up, within a lossy
/// codec's tolerance; `Err` says which quadrant is off.
pub fn shows_upright(decoded: &image::RgbImage) -> Result<(), String> {
    let (w, h) = decoded.dimensions();
    let probes = [
        (w / 4, h / 4),
        (3 * w / 4, h / 4),
        (w / 4, 3 * h / 4),
        (3 * w / 4, 3 * h / 4),
    ];
    for (i, (x, y)) in probes.into_iter().enumerate() {
        let got = decoded.get_pixel(x, y).0;
        let want = QUADRANT_COLOURS[i];
        let off = got
            .iter()
            .zip(want)
            .any(|(g, w)| (i16::from(*g) - i16::from(w)).abs() > 40);
        if off {
            return Err(format!(
                "quadrant {i} at ({x},{y}) is {got:?}, expected {want:?}"
            ));
        }
    }
    Ok(())
}
