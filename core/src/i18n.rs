//! Translations: the Fluent files of `i18n/<lang>/`, compiled in, looked up by key.

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};

use crate::text::Lang;

/// The Fluent sources of a language, as `(file name, text)`.
pub fn sources(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::Vi => &[("app.ftl", include_str!("../../i18n/vi/app.ftl"))],
        Lang::En => &[("app.ftl", include_str!("../../i18n/en/app.ftl"))],
    }
}

/// Looks up the user-facing texts of one language.
pub struct Translator {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
}

impl Translator {
    pub fn new(lang: Lang) -> Translator {
        let id = match lang {
            Lang::Vi => unic_langid::langid!("vi"),
            Lang::En => unic_langid::langid!("en"),
        };
        let mut bundle = FluentBundle::new(vec![id]);
        // Isolation marks would end up in the page text and in copied text.
        bundle.set_use_isolating(false);
        for (_, text) in sources(lang) {
            // The files are compiled in and checked by the tests below.
            let resource = FluentResource::try_new((*text).to_owned())
                .unwrap_or_else(|(resource, _)| resource);
            bundle.add_resource_overriding(resource);
        }
        Translator { lang, bundle }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The text for `key`, or the key itself if it is missing (a test forbids that).
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The text for `key` with named arguments.
    pub fn t_args(&self, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        self.format(key, Some(&fluent_args))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let Some(pattern) = self.bundle.get_message(key).and_then(|m| m.value()) else {
            return key.to_owned();
        };
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }
}

pub use fluent_bundle::FluentValue as Value;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use fluent_bundle::FluentResource;

    use super::*;

    fn keys(lang: Lang) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        for (file, text) in sources(lang) {
            let resource = FluentResource::try_new((*text).to_owned())
                .unwrap_or_else(|(_, errors)| panic!("{}/{file}: {errors:?}", lang.code()));
            for entry in resource.entries() {
                if let fluent_syntax::ast::Entry::Message(m) = entry {
                    keys.insert(m.id.name.to_owned());
                }
            }
        }
        keys
    }

    #[test]
    fn every_key_exists_in_every_language() {
        let vi = keys(Lang::Vi);
        let en = keys(Lang::En);
        let only_vi: Vec<_> = vi.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&vi).collect();
        assert!(only_vi.is_empty(), "keys missing in en: {only_vi:?}");
        assert!(only_en.is_empty(), "keys missing in vi: {only_en:?}");
        assert!(vi.len() > 20, "the files hold the app's texts");
    }

    /// Every key the UI asks for (`t("…")`, `t_args("…"`) and every error code's key exists.
    #[test]
    fn every_key_used_is_defined() {
        let defined = keys(Lang::Vi);
        let mut used = BTreeSet::new();
        let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src");
        let mut stack = vec![ui];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("ui/src is readable") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("source is UTF-8");
                    for marker in ["t(\"", "t_args(\""] {
                        for (at, _) in text.match_indices(marker) {
                            // `set("…")`, `get_context("…")` end in `t(` too: only a call of
                            // `t` or `t_args` itself counts.
                            let before = text[..at].chars().next_back();
                            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                                continue;
                            }
                            let rest = &text[at + marker.len()..];
                            let end = rest.find('"').expect("closing quote");
                            used.insert(rest[..end].to_owned());
                        }
                    }
                }
            }
        }
        use crate::error::ErrorCode::*;
        for code in [
            InvalidInput,
            NotFound,
            Unauthorized,
            Conflict,
            TooLarge,
            Offline,
            Storage,
            Internal,
        ] {
            used.insert(code.message_key().to_owned());
        }
        let enum_keys = crate::city::PlaceKind::ALL
            .map(|k| k.message_key())
            .into_iter()
            .chain(crate::city::SiteKind::ALL.map(|k| k.message_key()))
            .chain(crate::city::OnlineLevel::ALL.map(|k| k.message_key()))
            .chain(crate::report::ReportStatus::ALL.map(|k| k.message_key()));
        used.extend(enum_keys.map(str::to_owned));
        assert!(used.len() > 10, "the scan found the UI's keys: {used:?}");
        let missing: Vec<_> = used.difference(&defined).collect();
        assert!(missing.is_empty(), "keys used but not defined: {missing:?}");
    }

    #[test]
    fn arguments_are_filled_in() {
        let en = Translator::new(Lang::En);
        let text = en.t_args("age-minutes", &[("minutes", Value::from(7))]);
        assert!(text.contains('7'), "{text}");
        assert!(!text.contains('\u{2068}'), "no isolation marks");
    }
}
