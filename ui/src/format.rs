//! Numbers, distances, money and times written the way each language writes them.

use citizen_core::Lang;

/// `1234.5` with `decimals` digits: "1.234,5" in Vietnamese, "1,234.5" in English.
pub fn number(value: f64, decimals: usize, lang: Lang) -> String {
    let text = format!("{value:.decimals$}");
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), ""), |(i, f)| (i, f));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let (group, point) = match lang {
        Lang::Vi => ('.', ','),
        Lang::En => (',', '.'),
    };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}{point}{frac}")
    }
}

/// Local wall-clock time `HH:MM` of a Unix time in milliseconds.
pub fn clock(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Local date `DD/MM` of a Unix time in milliseconds.
pub fn day(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}/{:02}", date.get_date(), date.get_month() + 1)
}

/// Local date and time `DD/MM/YYYY HH:MM` of a Unix time in milliseconds.
pub fn date_time(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}",
        date.get_date(),
        date.get_month() + 1,
        date.get_full_year(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// A distance as people say it: metres rounded to 10 under 1 km ("350 m"), else kilometres
/// with one decimal ("1,2 km" in Vietnamese).
pub fn distance(metres: f64, locale: crate::i18n::Locale) -> String {
    use citizen_core::i18n::Value;
    if metres < 1_000.0 {
        locale.t_args(
            "wifi-distance-m",
            &[(
                "meters",
                Value::from(number((metres / 10.0).round() * 10.0, 0, locale.lang())),
            )],
        )
    } else {
        locale.t_args(
            "wifi-distance-km",
            &[(
                "km",
                Value::from(number(metres / 1_000.0, 1, locale.lang())),
            )],
        )
    }
}
