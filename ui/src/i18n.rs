//! The UI's translations: the current language in a signal, texts from `i18n/<lang>/*.ftl`.

use citizen_core::Lang;
use citizen_core::i18n::{Translator, Value};
use leptos::prelude::*;

thread_local! {
    static VI: Translator = Translator::new(Lang::Vi);
    static EN: Translator = Translator::new(Lang::En);
}

/// The language the UI speaks now; reading it in a view makes the view follow changes.
#[derive(Clone, Copy)]
pub struct Locale(pub RwSignal<Lang>);

impl Locale {
    pub fn lang(&self) -> Lang {
        self.0.get()
    }

    /// The language now, without following changes.
    pub fn lang_untracked(&self) -> Lang {
        self.0.get_untracked()
    }

    pub fn t(&self, key: &str) -> String {
        with_translator(self.lang(), |tr| tr.t(key))
    }

    pub fn t_args(&self, key: &str, args: &[(&str, Value<'_>)]) -> String {
        with_translator(self.lang(), |tr| tr.t_args(key, args))
    }
}

fn with_translator<R>(lang: Lang, f: impl FnOnce(&Translator) -> R) -> R {
    match lang {
        Lang::Vi => VI.with(f),
        Lang::En => EN.with(f),
    }
}
