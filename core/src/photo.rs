//! Which image in a photo file counts, shared by the device and the gateway. A file from a
//! phone is often more than one image: Motion Photos append a video after the JPEG's end
//! marker, multi-picture files (MPO, Ultra HDR gain maps) append further JPEGs with their
//! own EXIF, vendors append trailers, and transfers add a stray newline. The first (primary)
//! image is the photo; everything after its end is dropped and never published.

/// An image format the app accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoFormat {
    Jpeg,
    Png,
    WebP,
}

impl PhotoFormat {
    /// The IANA media type (`image/jpeg`).
    pub fn media_type(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
            PhotoFormat::WebP => "image/webp",
        }
    }
}

/// Why a file is not a photo the app can use. The messages are for people: they name the
/// format and say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoFileError {
    /// A known image format the app does not read (HEIC, AVIF, GIF …).
    #[error("{format} images are not accepted: send a JPEG, PNG or WebP photo{}", hint(.format))]
    Unsupported { format: &'static str },
    /// Not an image at all.
    #[error("not a JPEG, PNG or WebP image (it starts with {start})")]
    NotAnImage { start: String },
    /// The primary image stops before its end: a broken transfer.
    #[error("the {} is truncated: {reason}", .format.media_type())]
    Truncated {
        format: PhotoFormat,
        reason: &'static str,
    },
    /// The file's structure is broken where it matters.
    #[error("the {} is malformed: {reason}", .format.media_type())]
    Malformed {
        format: PhotoFormat,
        reason: &'static str,
    },
}

/// What to do about a format the app does not read.
fn hint(format: &str) -> &'static str {
    match format {
        "HEIC" | "AVIF" => {
            " (on an iPhone, set Settings › Camera › Formats to \"Most Compatible\", or share the photo as JPEG)"
        }
        _ => "",
    }
}

/// The image that counts in a photo file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrimaryImage<'a> {
    pub format: PhotoFormat,
    /// The primary image, from its first byte to the end of its end marker (JPEG `EOI`,
    /// PNG `IEND`, the RIFF size of a WebP).
    pub bytes: &'a [u8],
    /// How many bytes followed it in the file (a video, more images, a trailer).
    pub trailer: usize,
}

/// Finds the primary image of a photo file: its format by its bytes (never by a name), and
/// where it ends. Errors name the format (`HEIC images are not accepted …`) or say where
/// the image is broken.
pub fn primary_image(data: &[u8]) -> Result<PrimaryImage<'_>, PhotoFileError> {
    let format = sniff(data)?;
    let end = match format {
        PhotoFormat::Jpeg => jpeg_end(data)?,
        PhotoFormat::Png => png_end(data)?,
        PhotoFormat::WebP => webp_end(data)?,
    };
    Ok(PrimaryImage {
        format,
        bytes: &data[..end],
        trailer: data.len() - end,
    })
}

/// A photo file's format by its first bytes (never by a name); the error names what it is
/// when it is a format the app does not read.
pub fn sniff(data: &[u8]) -> Result<PhotoFormat, PhotoFileError> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(PhotoFormat::Jpeg);
    }
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(PhotoFormat::Png);
    }
    if data.len() >= 12 && data.starts_with(b"RIFF") && &data[8..12] == b"WEBP" {
        return Ok(PhotoFormat::WebP);
    }
    let unsupported = |format| Err(PhotoFileError::Unsupported { format });
    // ISO base media files (HEIF, AVIF) start with an `ftyp` box naming their major brand
    // and the brands they are compatible with (ISO/IEC 14496-12, 4.3): an AVIF may name the
    // generic `mif1` first and `avif` among the others.
    if data.len() >= 12 && &data[4..8] == b"ftyp" {
        let size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let brands: Vec<&[u8]> = std::iter::once(&data[8..12])
            .chain(
                data.get(16..size.min(data.len()))
                    .unwrap_or(&[])
                    .chunks_exact(4),
            )
            .collect();
        let any = |names: &[&[u8]]| brands.iter().any(|b| names.contains(b));
        if any(&[b"avif", b"avis"]) {
            return unsupported("AVIF");
        }
        if any(&[
            b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
        ]) {
            return unsupported("HEIC");
        }
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        return unsupported("GIF");
    }
    if data.starts_with(b"BM") && data.len() > 14 {
        return unsupported("BMP");
    }
    if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        return unsupported("TIFF or camera RAW");
    }
    Err(PhotoFileError::NotAnImage {
        start: describe_start(data),
    })
}

fn describe_start(data: &[u8]) -> String {
    if data.is_empty() {
        return "nothing: it is empty".into();
    }
    if data.starts_with(b"%PDF") {
        return "%PDF: a PDF document".into();
    }
    let head = String::from_utf8_lossy(&data[..data.len().min(16)]).to_lowercase();
    if head.trim_start().starts_with('<') {
        return "'<': an HTML or XML document".into();
    }
    if data.len() >= 8 && &data[4..8] == b"ftyp" {
        return "an ftyp box: a video or another ISO media file".into();
    }
    let hex: Vec<String> = data.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("bytes {}", hex.join(" "))
}

/// A marker segment of a JPEG: its marker (the byte after 0xFF) and where its payload (the
/// bytes after the length field) lies in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegSegment {
    pub marker: u8,
    pub payload: std::ops::Range<usize>,
}

/// The marker segments of the first JPEG in `data` (ITU-T T.81 annex B), and where that
/// image ends (after its first `EOI`, FF D9). Segments are skipped by their length (so a
/// thumbnail inside EXIF does not end the image), entropy-coded data is scanned for the
/// next marker, and any number of 0xFF fill bytes may precede a marker (T.81 B.1.1.2).
/// Bytes where a marker belongs, or a second start of image before the first ends, make
/// the file malformed or cut off: such a file is refused rather than guessed at.
pub fn jpeg_segments(data: &[u8]) -> Result<(Vec<JpegSegment>, usize), PhotoFileError> {
    let truncated = |reason| PhotoFileError::Truncated {
        format: PhotoFormat::Jpeg,
        reason,
    };
    let malformed = |reason| PhotoFileError::Malformed {
        format: PhotoFormat::Jpeg,
        reason,
    };
    const NO_END: &str = "it has no end-of-image marker";
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(malformed("it does not start with a start-of-image marker"));
    }
    let mut segments = Vec::new();
    let mut i = 2;
    loop {
        match data.get(i) {
            None => return Err(truncated(NO_END)),
            Some(0xFF) => {}
            Some(_) => return Err(malformed("bytes stand where a marker belongs")),
        }
        while data.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = data.get(i) else {
            return Err(truncated(NO_END));
        };
        i += 1;
        match marker {
            0xD9 => return Ok((segments, i)),
            0xD8 => return Err(truncated("a second image starts before the first one ends")),
            // Markers without a length: TEM and the restart markers.
            0x01 | 0xD0..=0xD7 => continue,
            0x00 => {
                return Err(malformed(
                    "a stuffed zero byte stands where a marker belongs",
                ));
            }
            _ => {}
        }
        let Some(len) = data.get(i..i + 2) else {
            return Err(truncated(NO_END));
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len < 2 {
            return Err(malformed("a segment length is below 2"));
        }
        let payload = i + 2..i + len;
        i += len;
        if i > data.len() {
            return Err(truncated(NO_END));
        }
        segments.push(JpegSegment { marker, payload });
        if marker == 0xDA {
            // Start of scan: entropy-coded data up to the next marker that is not a stuffed
            // zero byte or a restart marker.
            loop {
                match data.get(i..i + 2) {
                    None => return Err(truncated(NO_END)),
                    Some([0xFF, next]) if *next == 0x00 || (0xD0..=0xD7).contains(next) => {
                        i += 2;
                    }
                    Some([0xFF, _]) => break,
                    Some(_) => i += 1,
                }
            }
        }
    }
}

/// Whether a JPEG segment carries metadata rather than what the pixels need. Kept: JFIF
/// without a thumbnail (APP0 `JFIF`, 14 bytes), the colour profile (APP2 `ICC_PROFILE`),
/// Adobe's colour transform (APP14 `Adobe`) and every non-APPn segment. Dropped: a JFIF
/// with a thumbnail (an edited photo's may show the original), every other APPn (EXIF and
/// XMP in APP1, a multi-picture index in APP2 `MPF` that points at images no longer there,
/// vendor blocks) and comments (COM).
pub fn is_jpeg_metadata(marker: u8, payload: &[u8]) -> bool {
    const APP0: u8 = 0xE0;
    const APP2: u8 = 0xE2;
    const APP14: u8 = 0xEE;
    const COM: u8 = 0xFE;
    match marker {
        APP0 => !(payload.starts_with(b"JFIF\0") && payload.len() <= 14),
        APP2 => !payload.starts_with(b"ICC_PROFILE\0"),
        APP14 => !payload.starts_with(b"Adobe"),
        0xE1..=0xEF | COM => true,
        _ => false,
    }
}

/// PNG chunks the pixels need (PNG spec, 11.2–11.3): the image, its palette and
/// transparency, its colour space and pixel density. Everything else is metadata (text,
/// EXIF, time, C2PA manifests, vendor chunks) or another image (APNG frames).
pub const PNG_PIXEL_CHUNKS: [&[u8; 4]; 13] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"cICP", b"mDCv", b"cLLi",
];

/// WebP chunks the pixels need (RFC 9649): the image (lossy, lossless, its alpha), the
/// extended header and the colour profile. Everything else is metadata (EXIF, XMP, C2PA,
/// vendor chunks) or animation frames.
pub const WEBP_PIXEL_CHUNKS: [&[u8; 4]; 5] = [b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ICCP"];

/// The chunk types of a PNG, in order, up to `IEND`.
pub fn png_chunks(data: &[u8]) -> Result<Vec<[u8; 4]>, PhotoFileError> {
    let mut kinds = Vec::new();
    let mut i = 8;
    while let Some(head) = data.get(i..i + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = [head[4], head[5], head[6], head[7]];
        kinds.push(kind);
        i = i.saturating_add(12).saturating_add(len);
        if &kind == b"IEND" {
            return Ok(kinds);
        }
    }
    Err(PhotoFileError::Truncated {
        format: PhotoFormat::Png,
        reason: "it has no IEND chunk",
    })
}

/// The chunk ids of a WebP, in order.
pub fn webp_chunks(data: &[u8]) -> Result<Vec<[u8; 4]>, PhotoFileError> {
    let end = webp_end(data)?;
    let mut ids = Vec::new();
    let mut i = 12;
    while let Some(head) = data.get(i..i + 8).filter(|_| i + 8 <= end) {
        ids.push([head[0], head[1], head[2], head[3]]);
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        i = i
            .saturating_add(8)
            .saturating_add(len)
            .saturating_add(len % 2);
    }
    Ok(ids)
}

fn jpeg_end(data: &[u8]) -> Result<usize, PhotoFileError> {
    jpeg_segments(data).map(|(_, end)| end)
}

/// The end of a PNG: after the CRC of its `IEND` chunk (PNG spec, 5.3).
fn png_end(data: &[u8]) -> Result<usize, PhotoFileError> {
    let mut i = 8;
    loop {
        let Some(head) = data.get(i..i + 8) else {
            return Err(PhotoFileError::Truncated {
                format: PhotoFormat::Png,
                reason: "it has no IEND chunk",
            });
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if len > 0x7FFF_FFFF {
            return Err(PhotoFileError::Malformed {
                format: PhotoFormat::Png,
                reason: "a chunk length is above 2^31 - 1",
            });
        }
        let kind = [head[4], head[5], head[6], head[7]];
        i += 12 + len as usize;
        if i > data.len() {
            return Err(PhotoFileError::Truncated {
                format: PhotoFormat::Png,
                reason: "a chunk runs past the end of the file",
            });
        }
        if &kind == b"IEND" {
            return Ok(i);
        }
    }
}

/// The end of a WebP: the RIFF chunk's size, padded to an even length (RFC 9649, 2.5).
fn webp_end(data: &[u8]) -> Result<usize, PhotoFileError> {
    let size = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
    let end = size.saturating_add(8 + size % 2);
    if size.saturating_add(8) > data.len() {
        return Err(PhotoFileError::Truncated {
            format: PhotoFormat::WebP,
            reason: "the file is shorter than its RIFF size",
        });
    }
    Ok(end.min(data.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal JPEG-shaped file: SOI, an APP1 holding a fake embedded JPEG (as EXIF
    /// thumbnails do), a scan with a stuffed byte and a restart marker, EOI.
    fn tiny_jpeg() -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        let app1 = b"Exif\0\0\xFF\xD8\xFF\xD9thumb";
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&u16::try_from(app1.len() + 2).expect("small").to_be_bytes());
        out.extend_from_slice(app1);
        out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02]);
        out.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    #[test]
    fn a_jpeg_ends_at_its_first_top_level_end_marker() {
        let jpeg = tiny_jpeg();
        let image = primary_image(&jpeg).expect("a JPEG");
        assert_eq!(image.bytes, &jpeg[..], "the EOI inside EXIF is not the end");
        assert_eq!(image.trailer, 0);
        for trailer in [
            &b"\n"[..],
            b"\0\0\0\0",
            b"\x00\x00\x00\x18ftypmp42 Motion Photo video",
            &tiny_jpeg()[..],
        ] {
            let mut file = jpeg.clone();
            file.extend_from_slice(trailer);
            let image = primary_image(&file).expect("a JPEG with a trailer");
            assert_eq!(image.bytes, &jpeg[..], "trailer {trailer:?} is cut off");
            assert_eq!(image.trailer, trailer.len());
        }
    }

    #[test]
    fn fill_bytes_are_tolerated_and_stray_bytes_or_a_second_start_are_not() {
        let jpeg = tiny_jpeg();
        let mut padded = jpeg[..2].to_vec();
        padded.extend_from_slice(&[0xFF, 0xFF, 0xFF]);
        padded.extend_from_slice(&jpeg[2..]);
        let image = primary_image(&padded).expect("fill bytes are allowed");
        assert_eq!(image.trailer, 0);
        // After the APP1 segment (marker, length, payload).
        let after_app1 = 4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
        let mut stray = jpeg[..after_app1].to_vec();
        stray.extend_from_slice(b"junk");
        stray.extend_from_slice(&jpeg[after_app1..]);
        assert!(matches!(
            primary_image(&stray),
            Err(PhotoFileError::Malformed { .. })
        ));
        // An image whose end was lost, with the next image of the file following.
        let mut lost_end = jpeg[..jpeg.len() - 2].to_vec();
        lost_end.extend_from_slice(&jpeg);
        assert!(matches!(
            primary_image(&lost_end),
            Err(PhotoFileError::Truncated { .. })
        ));
    }

    #[test]
    fn metadata_segments_are_told_from_what_the_pixels_need() {
        let table: [(u8, &[u8], bool); 10] = [
            (0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0", false),
            (
                0xE0,
                b"JFIF\0\x01\x02\0\0\x01\0\x01\x01\x01\xFF\xFF\xFF",
                true,
            ),
            (0xE0, b"JFXX\0\x10", true),
            (0xE1, b"Exif\0\0MM", true),
            (0xE1, b"http://ns.adobe.com/xap/1.0/\0", true),
            (0xE2, b"ICC_PROFILE\0\x01\x01", false),
            (0xE2, b"MPF\0MM", true),
            (0xEE, b"Adobe\0", false),
            (0xFE, b"a comment", true),
            (0xDB, b"\0\x02", false),
        ];
        for (marker, payload, metadata) in table {
            assert_eq!(
                is_jpeg_metadata(marker, payload),
                metadata,
                "{marker:02x} {payload:?}"
            );
        }
    }

    #[test]
    fn a_cut_jpeg_is_truncated_wherever_it_is_cut() {
        let jpeg = tiny_jpeg();
        for cut in 3..jpeg.len() - 1 {
            let err = primary_image(&jpeg[..cut]).expect_err("cut");
            assert!(
                matches!(err, PhotoFileError::Truncated { .. }),
                "cut at {cut}: {err}"
            );
        }
    }

    #[test]
    fn png_and_webp_end_where_their_structure_says() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[0, 0, 0, 1]);
        png.extend_from_slice(b"tEXt");
        png.extend_from_slice(&[b'x', 0, 0, 0, 0]);
        png.extend_from_slice(&[0, 0, 0, 0]);
        png.extend_from_slice(b"IEND");
        png.extend_from_slice(&[0xAE, 0x42, 0x60, 0x82]);
        let mut file = png.clone();
        file.extend_from_slice(b"trailer");
        let image = primary_image(&file).expect("a PNG");
        assert_eq!((image.bytes, image.trailer), (&png[..], 7));
        assert!(matches!(
            primary_image(&png[..png.len() - 1]),
            Err(PhotoFileError::Truncated { .. })
        ));

        let mut webp = b"RIFF\x05\0\0\0WEBPx".to_vec();
        webp.push(0);
        let mut file = webp.clone();
        file.extend_from_slice(b"\n");
        let image = primary_image(&file).expect("a WebP");
        assert_eq!(image.bytes, &webp[..], "padded to an even size");
        assert_eq!(image.trailer, 1);
    }

    #[test]
    fn other_formats_are_named() {
        let table: [(&[u8], &str); 9] = [
            (
                b"\0\0\0\x18ftypheic\0\0\0\0",
                "HEIC images are not accepted",
            ),
            (
                b"\0\0\0\x1cftypavif\0\0\0\0",
                "AVIF images are not accepted",
            ),
            (
                b"\0\0\0\x18ftypmif1\0\0\0\0avifmif1",
                "AVIF images are not accepted",
            ),
            (b"GIF89a\x01\x00\x01\x00", "GIF"),
            (b"II*\0\x08\0\0\0", "TIFF"),
            (b"%PDF-1.7", "PDF"),
            (b"<!doctype html>", "HTML"),
            (b"", "empty"),
            (b"\0\0\0\x18ftypmp42\0\0\0\0", "video"),
        ];
        for (data, expected) in table {
            let err = primary_image(data).expect_err("refused").to_string();
            assert!(err.contains(expected), "{expected}: {err}");
        }
        assert!(
            primary_image(b"\0\0\0\x18ftypheic")
                .expect_err("HEIC")
                .to_string()
                .contains("Most Compatible"),
            "HEIC says what to do"
        );
    }
}
