//! Languages the app speaks, text given in each of them, and the one rule for text people
//! type: stored in Unicode NFC, measured in the characters a person sees, and, where it is
//! required, holding something visible. Every entry point (the app, the gateway's JSON API,
//! Open311, the staff API) goes through these functions.

use serde::{Deserialize, Deserializer, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
use unicode_segmentation::UnicodeSegmentation;

use crate::report::FieldError;

/// A language of the user interface. Vietnamese is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Vi, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// A text given in every language the app speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Localized {
    pub vi: String,
    pub en: String,
}

impl Localized {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }

    /// Whether every language has some text.
    pub fn is_complete(&self) -> bool {
        !self.vi.trim().is_empty() && !self.en.trim().is_empty()
    }
}

/// Code points that show nothing on their own: Unicode's `White_Space`, the control
/// characters (`Cc`), the `Default_Ignorable_Code_Point` set (zero-width spaces and joiners,
/// bidirectional marks, variation selectors, tags; UCD `DerivedCoreProperties.txt`, Unicode
/// 16) and U+2800 BRAILLE PATTERN BLANK, which renders as a space. Inclusive ranges, sorted.
pub const INVISIBLE: &[(char, char)] = &[
    ('\u{0000}', '\u{0020}'),
    ('\u{007F}', '\u{00A0}'),
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{2000}', '\u{200F}'),
    ('\u{2028}', '\u{202F}'),
    ('\u{205F}', '\u{206F}'),
    ('\u{2800}', '\u{2800}'),
    ('\u{3000}', '\u{3000}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// A free-text field may hold at most this many code points per character it is allowed
/// (`max` characters allow `max × 4`): room for Vietnamese typed decomposed (a letter and up
/// to two marks) and for emoji sequences, but not for a few characters stacked with
/// thousands of combining marks.
pub const CODE_POINTS_PER_CHAR: usize = 4;

/// Text as it is stored and compared: Unicode Normalization Form C (UAX #15). A keyboard that
/// sends decomposed characters (a base letter and combining marks, as some Telex/VNI input
/// methods and macOS do) and one that sends precomposed ones give the same string.
pub fn nfc(text: &str) -> String {
    if is_nfc_quick(text.chars()) == IsNormalized::Yes {
        return text.to_owned();
    }
    text.nfc().collect()
}

/// How many characters a person sees: extended grapheme clusters (UAX #29). "Việt" is 4
/// whether typed precomposed (4 code points) or decomposed (6).
pub fn visible_len(text: &str) -> usize {
    text.graphemes(true).count()
}

/// Whether `c` shows nothing on its own (see [`INVISIBLE`]).
pub fn is_invisible(c: char) -> bool {
    INVISIBLE
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether the text shows something: a character outside [`INVISIBLE`].
pub fn has_visible(text: &str) -> bool {
    text.chars().any(|c| !is_invisible(c))
}

/// `text` without the characters that show nothing at its start and end (spaces, zero-width
/// characters), taken as whole characters as a person sees them: the variation selector
/// of "⚠️" or the tags of a flag stay with the character they belong to.
pub fn trim_invisible(text: &str) -> &str {
    // Control characters other than tab and line breaks are not trimmed: they are refused
    // by [`check_text`] wherever they stand, so a client is told rather than silently fixed.
    let kept = |g: &str| {
        has_visible(g)
            || g.chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    };
    let mut start = 0;
    for (at, grapheme) in text.grapheme_indices(true) {
        if kept(grapheme) {
            start = at;
            break;
        }
        start = at + grapheme.len();
    }
    let mut end = start;
    for (at, grapheme) in text[start..].grapheme_indices(true) {
        if kept(grapheme) {
            end = start + at + grapheme.len();
        }
    }
    &text[start..end]
}

/// A one-line text as typed, ready to store: NFC, without the spaces around it (an
/// autocompleted e-mail address ends with one), and `None` when nothing is left.
pub fn line(text: Option<&str>) -> Option<String> {
    let text = nfc(trim_invisible(text?));
    (!text.is_empty()).then_some(text)
}

/// Checks a free-text field: at most `max` characters as a person counts them (and
/// [`CODE_POINTS_PER_CHAR`] code points each), no control characters other than tab and
/// line breaks, and, when `required`, something visible (a lone U+200B is not a
/// description). Errors name `field`.
pub fn check_text(field: &str, text: &str, required: bool, max: usize) -> Result<(), FieldError> {
    let code_points = text.chars().count();
    if code_points > max * CODE_POINTS_PER_CHAR {
        return Err(FieldError::new(
            field,
            format!(
                "at most {max} characters, got {code_points} code points \
                 (too many combining marks)"
            ),
        ));
    }
    let chars = visible_len(text);
    if chars > max {
        return Err(FieldError::new(
            field,
            format!("at most {max} characters, got {chars}"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::new(field, "contains control characters"));
    }
    if required && !has_visible(text) {
        let message = if text.is_empty() {
            "must not be empty"
        } else {
            "must not be empty: it holds only spaces or invisible characters"
        };
        return Err(FieldError::new(field, message));
    }
    Ok(())
}

/// A JSON Schema (ECMA-262) pattern for [`check_text`]'s character rules, for the gateway's
/// OpenAPI document: no control characters but tab and line breaks, and, when `required`,
/// at least one character outside [`INVISIBLE`]. Built from the same table, so the
/// document and the check cannot disagree.
pub fn text_pattern(required: bool) -> String {
    const CONTROLS: &str = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F";
    if !required {
        return format!("^[^{CONTROLS}]*$");
    }
    let mut invisible = String::new();
    for &(lo, hi) in INVISIBLE {
        invisible.push_str(&class_char(lo));
        if hi != lo {
            invisible.push('-');
            invisible.push_str(&class_char(hi));
        }
    }
    format!("^[^{CONTROLS}]*[^{invisible}][^{CONTROLS}]*$")
}

/// A code point inside a regex character class: `\u` and four hex digits in the Basic
/// Multilingual Plane, the character itself beyond it (ECMA-262 has no four-digit escape
/// for those).
fn class_char(c: char) -> String {
    if u32::from(c) <= 0xFFFF {
        format!("\\u{:04X}", u32::from(c))
    } else {
        c.to_string()
    }
}

/// Serde adapters that store text in NFC as it is read (see [`nfc`]).
pub mod nfc_serde {
    use super::*;

    /// A string, in NFC.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        String::deserialize(d).map(|s| nfc(&s))
    }

    /// An optional string, in NFC (use with `#[serde(default)]`: a missing field is `None`).
    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Option::<String>::deserialize(d).map(|s| s.map(|s| nfc(&s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lang_codes_round_trip() {
        for lang in Lang::ALL {
            assert_eq!(
                Lang::from_code(lang.code()),
                Some(lang),
                "code {}",
                lang.code()
            );
        }
        assert_eq!(Lang::from_code("fr"), None, "unknown languages are refused");
    }

    #[test]
    fn localized_picks_the_language() {
        let text = Localized {
            vi: "Chùa".into(),
            en: "Pagoda".into(),
        };
        assert_eq!(text.get(Lang::Vi), "Chùa");
        assert_eq!(text.get(Lang::En), "Pagoda");
        assert!(
            !Localized {
                vi: "x".into(),
                en: " ".into()
            }
            .is_complete(),
            "blank en"
        );
    }

    #[test]
    fn decomposed_and_precomposed_vietnamese_are_one_text() {
        let composed = "Đường Ấp Bắc ngập nước, rác để sai giờ";
        let decomposed: String = composed.nfd().collect();
        assert_ne!(composed, decomposed, "the test needs a decomposed input");
        assert_eq!(nfc(&decomposed), composed, "stored in NFC");
        assert_eq!(
            visible_len(&decomposed),
            visible_len(composed),
            "a person sees the same number of characters"
        );
        assert_eq!(visible_len("Việt"), 4);
    }

    #[test]
    fn limits_count_what_a_person_sees() {
        let word: String = "Việt ".nfd().collect();
        let text = word.repeat(780);
        assert_eq!(visible_len(&text), 3_900);
        assert!(
            text.chars().count() > 4_000,
            "over 4 000 code points decomposed"
        );
        assert_eq!(
            check_text("description", &text, true, 4_000),
            Ok(()),
            "3 900 characters typed decomposed fit in 4 000"
        );
        assert_eq!(check_text("description", &nfc(&text), true, 4_000), Ok(()));
        let long = "a".repeat(4_001);
        let err = check_text("description", &long, true, 4_000).expect_err("too long");
        assert_eq!(err.field, "description");
        assert!(err.message.contains("got 4001"), "{err}");
        let zalgo = format!("a{}", "\u{301}".repeat(50));
        let err = check_text("note", &zalgo, true, 10).expect_err("stacked marks");
        assert!(err.message.contains("combining marks"), "{err}");
    }

    #[test]
    fn required_text_must_show_something() {
        for blank in [
            "",
            " ",
            "\u{200B}",
            "\u{200B}\u{FEFF}\u{2060}",
            "\u{3164}\u{115F}",
            "\u{2800}",
            "\u{00A0}\u{3000}\n\t",
            "\u{202E}\u{200F}",
            "\u{E0020}\u{FE0F}",
        ] {
            let err = check_text("description", blank, true, 100).expect_err("blank");
            assert!(
                err.message.starts_with("must not be empty"),
                "{blank:?}: {err}"
            );
            assert!(!has_visible(blank), "{blank:?}");
        }
        for shown in ["a", "\u{200B}x", "🕳️", "!", "Đ", "5", "\u{301}"] {
            assert_eq!(
                check_text("description", shown, true, 100),
                Ok(()),
                "{shown:?}"
            );
        }
        assert_eq!(
            check_text("address", "\u{200B}", false, 100),
            Ok(()),
            "optional text may be blank"
        );
    }

    #[test]
    fn the_invisible_table_is_sorted_and_disjoint() {
        for pair in INVISIBLE.windows(2) {
            assert!(pair[0].1 < pair[1].0, "{pair:?} out of order");
        }
        assert!(INVISIBLE.iter().all(|(lo, hi)| lo <= hi));
        for c in ['\u{0}', ' ', '\u{A0}', '\u{200B}', '\u{E0FFF}'] {
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['!', 'a', '\u{A1}', '\u{1F573}'] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }

    #[test]
    fn trimming_keeps_what_belongs_to_a_character() {
        let table = [
            (" Ổ gà nguy hiểm ⚠️ ", "Ổ gà nguy hiểm ⚠️"),
            (
                "\u{200B}🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}\u{FEFF}",
                "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            ),
            ("\u{00A0}a b\u{3000}", "a b"),
            ("\u{200B}\u{200B}", ""),
            ("", ""),
            ("a", "a"),
            ("\u{0}", "\u{0}"),
        ];
        for (text, trimmed) in table {
            assert_eq!(trim_invisible(text), trimmed, "{text:?}");
        }
    }

    #[test]
    fn a_line_is_trimmed_and_absent_when_blank() {
        assert_eq!(
            line(Some(" lan@example.vn ")),
            Some("lan@example.vn".into())
        );
        assert_eq!(line(Some("\u{200B} \u{FEFF}")), None);
        assert_eq!(line(None), None);
        let decomposed: String = "Nguyễn".nfd().collect();
        assert_eq!(line(Some(&decomposed)), Some("Nguyễn".into()));
    }

    use proptest::prelude::*;

    proptest! {
        /// The pattern in the OpenAPI document accepts exactly what the check accepts, so a
        /// client that follows the document is never refused, and the reverse.
        #[test]
        fn the_document_pattern_agrees_with_the_check(
            chars in proptest::collection::vec(prop_oneof![
                any::<char>(),
                proptest::sample::select(vec![' ', '\u{200B}', '\u{3164}', '\u{E0041}', '\n', '\u{0}', '\u{85}', 'a']),
            ], 0..6)
        ) {
            let text: String = chars.into_iter().collect();
            for required in [true, false] {
                let pattern = regex::Regex::new(&text_pattern(required)).expect("a valid pattern");
                let checked = check_text("f", &text, required, 100).is_ok();
                prop_assert_eq!(pattern.is_match(&text), checked, "{:?} required={}", text, required);
            }
        }
    }
}
