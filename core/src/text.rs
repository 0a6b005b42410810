//! Languages the app speaks and text given in each of them.

use serde::{Deserialize, Serialize};

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
}
