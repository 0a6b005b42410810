//! Fuzzing the photo rules with proptest, bounded so it runs in every test run: arbitrary
//! bytes, and real JPEG, PNG and WebP files with their bytes flipped, cut, repeated or
//! spliced. The device pipeline and the gateway's check must never panic, and whatever the
//! gateway accepts it publishes as one whole image with no metadata.
//! `PROPTEST_CASES=100000 cargo test -p citizen-e2e --test photo_fuzz` runs it longer.

use citizen_client::photo;
use citizen_core::photo::primary_image;
use citizen_e2e::photos::{Metadata, Trailer, jpeg_with, png_with, quadrants, webp_with};
use proptest::prelude::*;

/// A seed file of each format, with every kind of metadata and an orientation.
fn seeds() -> Vec<Vec<u8>> {
    let pixels = quadrants(24, 16);
    let all = [
        Metadata::Exif,
        Metadata::Xmp,
        Metadata::Comment,
        Metadata::MultiPicture,
        Metadata::Provenance,
        Metadata::ThumbnailOrTime,
    ];
    let mut jpeg = jpeg_with(&pixels, 6, &all);
    jpeg.extend(Trailer::SecondImage.bytes());
    vec![
        jpeg,
        png_with(&pixels, 3, &all),
        webp_with(&pixels, 8, &all),
    ]
}

/// One change to a file.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bits: u8 },
    Cut { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Repeat { from: usize, len: usize },
    Remove { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, bits)| Mutation::Flip { at, bits }),
        any::<usize>().prop_map(|at| Mutation::Cut { at }),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..64).prop_map(|(from, len)| Mutation::Repeat { from, len }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Remove { at, len }),
    ]
}

fn apply(file: &mut Vec<u8>, m: &Mutation) {
    if file.is_empty() {
        return;
    }
    let n = file.len();
    match m {
        Mutation::Flip { at, bits } => file[at % n] ^= bits,
        Mutation::Cut { at } => file.truncate(at % n),
        Mutation::Insert { at, bytes } => {
            let at = at % n;
            file.splice(at..at, bytes.iter().copied());
        }
        Mutation::Repeat { from, len } => {
            let from = from % n;
            let piece = file[from..(from + len).min(n)].to_vec();
            file.splice(from..from, piece);
        }
        Mutation::Remove { at, len } => {
            let at = at % n;
            file.drain(at..(at + len).min(n));
        }
    }
}

/// Runs both sides on `file`: no panic, and an accepted photo is one clean image.
fn check_both(file: &[u8]) -> Result<(), TestCaseError> {
    let _ = primary_image(file);
    let _ = photo::process(file);
    if let Ok(published) = citizen_server::photo::check("photo", file) {
        let whole = primary_image(&published.data)
            .map_err(|e| TestCaseError::fail(format!("published bytes are not an image: {e}")))?;
        prop_assert_eq!(whole.trailer, 0, "nothing after the published image");
        prop_assert!(
            !published.data.windows(5).any(|w| w == b"Exif\0"),
            "no EXIF in what is published"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(
        head in proptest::sample::select(vec![
            &b""[..], b"\xFF\xD8\xFF", b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBP", b"\0\0\0\x18ftypheic",
        ]),
        body in proptest::collection::vec(any::<u8>(), 0..2_048),
    ) {
        let mut file = head.to_vec();
        file.extend(body);
        check_both(&file)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    #[test]
    fn damaged_real_photos_never_panic(
        seed in 0usize..3,
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut file = seeds().swap_remove(seed);
        for m in &mutations {
            apply(&mut file, m);
        }
        check_both(&file)?;
    }
}
