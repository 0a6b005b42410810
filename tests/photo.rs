//! The photo rules on the device and the gateway, on files as phones write them: the
//! position is read, the photo is turned upright and scaled, only the primary image counts
//! (a Motion Photo's video, an MPO's second image, a stray newline are dropped), and no
//! metadata is left (no GPS, no camera serial, no XMP).

use citizen_client::photo;
use citizen_core::photo::primary_image;
use citizen_e2e::photos::{
    COMMENT_MARK, Metadata, PROVENANCE_MARK, SERIAL, THUMBNAIL_MARK, Trailer, XMP_MARK,
    camera_jpeg, jpeg_with, png_with, quadrants, shows_upright, stored_for, webp_with,
};
use proptest::prelude::*;

#[test]
fn a_camera_photo_is_placed_turned_scaled_and_stripped() {
    let original = camera_jpeg(3_000, 2_000, 10.3601, 106.3627, "SN-CAMERA-998877");
    assert!(
        original.windows(16).any(|w| w == b"SN-CAMERA-998877"),
        "the test photo carries a serial"
    );
    let processed = photo::process(&original).expect("a JPEG");
    let gps = processed
        .gps
        .expect("the position is read before stripping");
    assert!(
        (gps.lat - 10.3601).abs() < 1e-5 && (gps.lon - 106.3627).abs() < 1e-5,
        "{gps:?}"
    );
    assert_eq!(
        (processed.width, processed.height),
        (1_280, 1_920),
        "turned upright (orientation 6) and scaled to 1 920 px on the long side"
    );
    let data = &processed.data;
    assert!(!data.windows(4).any(|w| w == b"Exif"), "no EXIF segment");
    assert!(!data.windows(9).any(|w| w == b"SN-CAMERA"), "no serial");
    assert!(
        exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(data))
            .is_err(),
        "an EXIF reader finds nothing"
    );
    assert_eq!(photo::gps_of(data), None, "no position left");
    let decoded = image::load_from_memory(data).expect("still a valid JPEG");
    assert_eq!((decoded.width(), decoded.height()), (1_280, 1_920));
}

#[test]
fn a_small_photo_keeps_its_size_and_what_is_not_a_photo_is_refused() {
    let small = camera_jpeg(800, 600, 10.36, 106.36, "X");
    let processed = photo::process(&small).expect("a JPEG");
    assert_eq!(
        (processed.width, processed.height),
        (600, 800),
        "only turned"
    );
    assert!(photo::process(b"%PDF-1.7 not a photo").is_err());
    let cut = photo::process(&small[..small.len() / 3]).expect_err("a cut-off photo");
    assert!(cut.to_string().contains("truncated"), "{cut}");
}

/// What must never be in a published photo: metadata, and anything a phone appended.
fn leaks(data: &[u8]) -> Vec<&'static str> {
    let marks: [(&'static str, &[u8]); 11] = [
        ("C2PA manifest", PROVENANCE_MARK.as_bytes()),
        ("JFIF thumbnail", THUMBNAIL_MARK),
        ("PNG time", b"tIME"),
        ("EXIF", b"Exif\0"),
        ("camera serial", SERIAL.as_bytes()),
        ("XMP", XMP_MARK.as_bytes()),
        ("XMP namespace", b"http://ns.adobe.com/xap"),
        ("comment", COMMENT_MARK.as_bytes()),
        ("multi-picture index", b"MPF\0"),
        ("Motion Photo video", b"ftypmp42"),
        ("vendor trailer", b"SEFH"),
    ];
    let mut found: Vec<&'static str> = marks
        .into_iter()
        .filter(|(_, mark)| data.windows(mark.len()).any(|w| w == *mark))
        .map(|(name, _)| name)
        .collect();
    if exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(data))
        .is_ok()
    {
        found.push("EXIF readable by an EXIF reader");
    }
    match primary_image(data) {
        Ok(p) if p.trailer > 0 => found.push("bytes after the image"),
        Ok(_) => {}
        Err(_) => found.push("not a whole image"),
    }
    found
}

fn encode(
    format: usize,
    pixels: &image::RgbImage,
    orientation: u16,
    metadata: &[Metadata],
) -> Vec<u8> {
    match format {
        0 => jpeg_with(pixels, orientation, metadata),
        1 => png_with(pixels, orientation, metadata),
        _ => webp_with(pixels, orientation, metadata),
    }
}

#[test]
fn a_jpeg_followed_by_a_newline_is_accepted_on_the_device_and_the_gateway() {
    let clean = jpeg_with(&quadrants(16, 16), 1, &[]);
    let mut file = clean.clone();
    file.push(b'\n');
    let processed = photo::process(&file).expect("the device takes it");
    assert_eq!((processed.width, processed.height), (16, 16));
    let checked = citizen_server::photo::check("photo", &file).expect("the gateway takes it");
    assert_eq!(
        checked.data, clean,
        "published without the newline, byte for byte"
    );
}

#[test]
fn a_motion_photo_is_accepted_and_its_video_is_dropped() {
    let clean = jpeg_with(&quadrants(32, 24), 1, &[]);
    let mut file = clean.clone();
    file.extend(Trailer::MotionPhotoVideo.bytes());
    photo::process(&file).expect("the device takes a Motion Photo");
    let checked = citizen_server::photo::check("photo", &file).expect("the gateway takes it");
    assert_eq!(checked.data, clean, "the video is not published");
}

#[test]
fn a_second_image_with_gps_and_a_serial_is_never_published() {
    let clean = jpeg_with(&quadrants(32, 24), 1, &[]);
    let mut file = clean.clone();
    file.extend(Trailer::SecondImage.bytes());
    assert!(
        file.windows(SERIAL.len()).any(|w| w == SERIAL.as_bytes()),
        "the appended image carries the serial"
    );
    let checked = citizen_server::photo::check("photo", &file).expect("the gateway takes it");
    assert_eq!(checked.data, clean, "only the primary image is published");
    assert_eq!(leaks(&checked.data), Vec::<&str>::new());
    let processed = photo::process(&file).expect("the device takes it");
    assert_eq!(
        processed.gps, None,
        "the device does not place a report from another image's GPS"
    );
    assert_eq!(leaks(&processed.data), Vec::<&str>::new());
}

#[test]
fn a_portrait_photo_uploaded_straight_to_the_gateway_is_published_upright() {
    let upright = quadrants(24, 40);
    let file = jpeg_with(&stored_for(&upright, 6), 6, &[Metadata::Exif]);
    let checked = citizen_server::photo::check("photo", &file).expect("the gateway takes it");
    assert_eq!(
        (checked.width, checked.height),
        (24, 40),
        "width and height as the photo is seen"
    );
    let decoded = image::load_from_memory(&checked.data)
        .expect("decodes")
        .to_rgb8();
    assert_eq!(decoded.dimensions(), (24, 40), "the pixels are turned");
    shows_upright(&decoded).expect("shown as taken");
    assert_eq!(leaks(&checked.data), Vec::<&str>::new());
}

#[test]
fn heic_is_named_on_the_device_and_the_gateway() {
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0".to_vec();
    let device = photo::process(&heic).expect_err("not read").to_string();
    let gateway = citizen_server::photo::check("photo", &heic)
        .expect_err("not published")
        .to_string();
    for message in [device, gateway] {
        assert!(message.contains("HEIC"), "{message}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// For any JPEG, PNG or WebP with any mix of metadata, any orientation and any trailer,
    /// what the gateway publishes and what the device sends hold no metadata and no
    /// trailer, and decode to the picture as it was seen.
    #[test]
    fn published_photos_are_the_upright_primary_image_and_nothing_else(
        format in 0usize..3,
        orientation in 1u16..=8,
        metadata in proptest::sample::subsequence(
            vec![
                Metadata::Exif, Metadata::Xmp, Metadata::Comment, Metadata::MultiPicture,
                Metadata::Provenance, Metadata::ThumbnailOrTime,
            ], 0..=6),
        trailer in proptest::sample::select(Trailer::ALL.to_vec()),
        half_width in 8u32..24,
        half_height in 8u32..24,
    ) {
        let upright = quadrants(half_width * 2, half_height * 2);
        let tagged = metadata.contains(&Metadata::Exif);
        let stored = if tagged { stored_for(&upright, orientation) } else { upright.clone() };
        let mut file = encode(format, &stored, orientation, &metadata);
        file.extend(trailer.bytes());

        let checked = citizen_server::photo::check("photo", &file)
            .map_err(|e| TestCaseError::fail(format!("the gateway refused it: {e}")))?;
        prop_assert_eq!(leaks(&checked.data), Vec::<&str>::new(), "gateway");
        prop_assert_eq!((checked.width, checked.height), upright.dimensions());
        let decoded = image::load_from_memory(&checked.data)
            .map_err(|e| TestCaseError::fail(format!("published bytes do not decode: {e}")))?
            .to_rgb8();
        prop_assert_eq!(decoded.dimensions(), upright.dimensions(), "gateway pixels turned");
        shows_upright(&decoded).map_err(|e| TestCaseError::fail(format!("gateway: {e}")))?;

        let processed = photo::process(&file)
            .map_err(|e| TestCaseError::fail(format!("the device refused it: {e}")))?;
        prop_assert_eq!(leaks(&processed.data), Vec::<&str>::new(), "device");
        prop_assert_eq!(processed.gps.is_some(), tagged, "GPS only from the primary image");
        let decoded = image::load_from_memory(&processed.data)
            .map_err(|e| TestCaseError::fail(format!("device bytes do not decode: {e}")))?
            .to_rgb8();
        prop_assert_eq!(decoded.dimensions(), upright.dimensions(), "device pixels turned");
        shows_upright(&decoded).map_err(|e| TestCaseError::fail(format!("device: {e}")))?;
    }
}

#[test]
fn a_photo_turned_upright_keeps_its_colour_profile() {
    use image::ImageDecoder as _;
    let upright = quadrants(24, 40);
    let tagged = jpeg_with(&stored_for(&upright, 6), 6, &[Metadata::Exif]);
    // A Display P3 profile stands in as 200 recognisable bytes in an APP2 ICC_PROFILE.
    let profile: Vec<u8> = (0..200u8).collect();
    let mut app2 = b"ICC_PROFILE\0\x01\x01".to_vec();
    app2.extend_from_slice(&profile);
    let mut file = tagged[..2].to_vec();
    file.extend_from_slice(&[0xFF, 0xE2]);
    file.extend_from_slice(&u16::try_from(app2.len() + 2).expect("small").to_be_bytes());
    file.extend(app2);
    file.extend_from_slice(&tagged[2..]);
    let checked = citizen_server::photo::check("photo", &file).expect("the gateway takes it");
    let mut decoder =
        image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&checked.data)).expect("a JPEG");
    assert_eq!(
        decoder.icc_profile().expect("readable"),
        Some(profile),
        "the profile goes with the turned pixels"
    );
    assert_eq!(leaks(&checked.data), Vec::<&str>::new());
}
