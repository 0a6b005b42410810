//! The device's photo pipeline on a camera-like JPEG: the position is read, the photo is
//! turned upright and scaled, and no metadata is left (no GPS, no camera serial).

use citizen_client::photo;
use citizen_e2e::photos::camera_jpeg;

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
    assert!(cut.to_string().contains("cut off"), "{cut}");
}
