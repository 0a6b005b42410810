//! What the gateway checks in a document uploaded with an application, a supplement or a
//! result, before anyone opens it: that it is a PDF, JPEG or PNG by its bytes (not by its name:
//! an executable or a web page named `.pdf` is refused), that a PDF parses, is not encrypted
//! (the department could not open it) and has at most [`MAX_PDF_PAGES`] pages, and that an
//! image passes the photo checks (pixel limit, decodes, metadata removed).

use citizen_core::photo::{PhotoFormat, sniff};
use citizen_core::report::FieldError;

use crate::photo;

/// The largest document accepted: 10 MiB (a scanned A4 page at 300 dpi is 1–3 MB).
pub const MAX_DOCUMENT_BYTES: u64 = 10 * 1024 * 1024;
/// The most pages of a PDF: 200 (a house design set is 20–60).
pub const MAX_PDF_PAGES: usize = 200;

/// A document that passed every check, as it is kept.
#[derive(Debug, Clone)]
pub struct CheckedDocument {
    pub media_type: &'static str,
    /// Pages of a PDF; 1 for an image.
    pub pages: u32,
    pub data: Vec<u8>,
}

/// What the first bytes of a file that is not a document look like, to name it.
fn looks_like(data: &[u8]) -> &'static str {
    let head = &data[..data.len().min(512)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    if head.starts_with(b"MZ") || head.starts_with(b"\x7fELF") {
        "an executable program"
    } else if text.trim_start().starts_with("<!doctype html")
        || text.contains("<html")
        || text.contains("<script")
    {
        "a web page (HTML)"
    } else if head.starts_with(b"PK\x03\x04") {
        "a ZIP archive (or an Office document)"
    } else {
        "something else"
    }
}

/// Checks `data` as a document; errors name `field`.
pub fn check(field: &str, data: &[u8]) -> Result<CheckedDocument, FieldError> {
    if data.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(FieldError::new(
            field,
            format!(
                "{} bytes is more than the {MAX_DOCUMENT_BYTES} allowed",
                data.len()
            ),
        ));
    }
    // A PDF may have a few bytes of junk before its header (ISO 32000-1, 7.5.2 tolerates it
    // in readers); only the first KiB is searched.
    let head = &data[..data.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return check_pdf(field, data);
    }
    match sniff(data) {
        Ok(PhotoFormat::Jpeg | PhotoFormat::Png) => {
            let photo = photo::check(field, data)?;
            Ok(CheckedDocument {
                media_type: photo.media_type,
                pages: 1,
                data: photo.data,
            })
        }
        _ => Err(FieldError::new(
            field,
            format!(
                "not a PDF, JPEG or PNG document: the bytes are {}",
                looks_like(data)
            ),
        )),
    }
}

fn check_pdf(field: &str, data: &[u8]) -> Result<CheckedDocument, FieldError> {
    let encrypted = || {
        FieldError::new(
            field,
            "the PDF is encrypted or password-protected: the department could not open it; save it without a password",
        )
    };
    let document = match lopdf::Document::load_mem(data) {
        Ok(d) => d,
        Err(_) if data.windows(8).any(|w| w == b"/Encrypt") => return Err(encrypted()),
        Err(e) => {
            return Err(FieldError::new(
                field,
                format!("the PDF cannot be read: {e}"),
            ));
        }
    };
    if document.is_encrypted() || document.was_encrypted() {
        return Err(encrypted());
    }
    let pages = document.get_pages().len();
    if pages == 0 {
        return Err(FieldError::new(field, "the PDF has no pages"));
    }
    if pages > MAX_PDF_PAGES {
        return Err(FieldError::new(
            field,
            format!("the PDF has {pages} pages, more than the {MAX_PDF_PAGES} allowed"),
        ));
    }
    Ok(CheckedDocument {
        media_type: "application/pdf",
        pages: u32::try_from(pages).unwrap_or(u32::MAX),
        data: data.to_vec(),
    })
}

/// A minimal PDF of `pages` empty A4 pages with a correct cross-reference table, for tests
/// and benchmarks.
pub fn sample_pdf(pages: usize) -> Vec<u8> {
    pdf_with(pages, false, (0, 0))
}

/// A 1-page PDF that also carries `bytes` of noise from `seed` (an embedded file's stream), as
/// heavy as a scanned page, for tests and benchmarks of uploads.
pub fn sample_pdf_of(bytes: usize, seed: u64) -> Vec<u8> {
    pdf_with(1, false, (bytes, seed))
}

/// The same PDF declaring RC4 encryption with a user password (as a "protect with a
/// password" of a PDF printer writes it).
pub fn sample_encrypted_pdf() -> Vec<u8> {
    pdf_with(1, true, (0, 0))
}

fn pdf_with(pages: usize, encrypted: bool, (filler, seed): (usize, u64)) -> Vec<u8> {
    use lopdf::{Dictionary, Object};
    let dict = |entries: Vec<(&str, Object)>| {
        let mut d = Dictionary::new();
        for (k, v) in entries {
            d.set(k, v);
        }
        d
    };
    let mut doc = lopdf::Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let kids: Vec<Object> = (0..pages)
        .map(|_| {
            let page = dict(vec![
                ("Type", Object::Name(b"Page".to_vec())),
                ("Parent", Object::Reference(pages_id)),
                (
                    "MediaBox",
                    Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
                ),
            ]);
            Object::Reference(doc.add_object(page))
        })
        .collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dict(vec![
            ("Type", Object::Name(b"Pages".to_vec())),
            ("Kids", Object::Array(kids)),
            ("Count", Object::Integer(pages as i64)),
        ])),
    );
    let catalog = doc.add_object(dict(vec![
        ("Type", Object::Name(b"Catalog".to_vec())),
        ("Pages", Object::Reference(pages_id)),
    ]));
    doc.trailer.set("Root", Object::Reference(catalog));
    if filler > 0 {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let noise: Vec<u8> = (0..filler)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect();
        let stream = lopdf::Stream::new(
            dict(vec![("Type", Object::Name(b"EmbeddedFile".to_vec()))]),
            noise,
        );
        let id = doc.add_object(stream);
        doc.trailer.set("Filler", Object::Reference(id));
    }
    if encrypted {
        let encrypt = doc.add_object(dict(vec![
            ("Filter", Object::Name(b"Standard".to_vec())),
            ("V", Object::Integer(1)),
            ("R", Object::Integer(2)),
            ("O", Object::string_literal(vec![7_u8; 32])),
            ("U", Object::string_literal(vec![9_u8; 32])),
            ("P", Object::Integer(-44)),
        ]));
        doc.trailer.set("Encrypt", Object::Reference(encrypt));
        doc.trailer.set(
            "ID",
            Object::Array(vec![
                Object::string_literal(vec![1_u8; 16]),
                Object::string_literal(vec![1_u8; 16]),
            ]),
        );
    }
    let mut out = Vec::new();
    // Writing to memory fails only when memory does.
    let _ = doc.save_to(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_known_by_their_bytes() {
        let ok = check("documents[0]", &sample_pdf(3)).expect("a 3-page PDF");
        assert_eq!((ok.media_type, ok.pages), ("application/pdf", 3));
        let heavy = sample_pdf_of(300_000, 7);
        assert!(heavy.len() > 300_000, "{} bytes", heavy.len());
        assert_eq!(
            check("documents[0]", &heavy).expect("a heavy PDF").data,
            heavy
        );
        let long =
            check("documents[0]", &sample_pdf(MAX_PDF_PAGES + 1)).expect_err("too many pages");
        assert!(long.message.contains("201 pages"), "{}", long.message);
        let html = check(
            "documents[0]",
            b"<!DOCTYPE html><html><script>alert(1)</script>",
        )
        .expect_err("html named .pdf");
        assert!(html.message.contains("web page"), "{}", html.message);
        let exe = check("documents[0]", b"MZ\x90\x00\x03\x00\x00\x00").expect_err("an exe");
        assert!(exe.message.contains("executable"), "{}", exe.message);
        let locked = check("documents[0]", &sample_encrypted_pdf()).expect_err("encrypted");
        assert!(locked.message.contains("encrypted"), "{}", locked.message);
        let broken = check("documents[0]", b"%PDF-1.7\n1 0 obj\n<<").expect_err("a torn PDF");
        assert_eq!(broken.field, "documents[0]");
    }
}
