//! W3C date-time values (the W3C note "Date and Time Formats", a profile of ISO 8601), which
//! Open311 GeoReport v2 names for its dates, read in every precision the note allows: a year,
//! a month, a day, or a time to the minute, second or fraction of a second.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The span of time a W3C date-time names, in ms since the Unix epoch: `2026-11-01` is the
/// whole day, `2026-11` the whole month, `2026-11-01T08:30+07:00` that minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The first millisecond.
    pub first_ms: i64,
    /// The last millisecond (inclusive).
    pub last_ms: i64,
}

const EXAMPLES: &str = "2026-11-01, 2026-11-01T08:30+07:00 or 2026-11-01T08:30:00Z";

/// Reads `value` as a W3C date-time. A value without a time-zone designator is taken in
/// `local` (the city's offset). Lenient where clients commonly slip: a space instead of `T`,
/// a lower-case `t`/`z`, an offset without its colon, and an offset whose `+` arrived as a
/// space (an unencoded `+` in a query string means a space). Errors are for people and give
/// examples.
pub fn parse(value: &str, local: UtcOffset) -> Result<Span, String> {
    let value = value.trim();
    let bad = || format!("{value:?} is not a W3C date-time (such as {EXAMPLES})");
    let (date_part, time_part) = match value.get(10..11) {
        Some("T" | "t" | " ") => (&value[..10], Some(&value[11..])),
        _ => (value, None),
    };
    let number = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut parts = date_part.split('-');
    let year = parts
        .next()
        .filter(|y| y.len() == 4)
        .and_then(number)
        .ok_or_else(bad)?;
    let month = parts.next().map(|m| number(m).filter(|_| m.len() == 2));
    let day = parts.next().map(|d| number(d).filter(|_| d.len() == 2));
    if parts.next().is_some() {
        return Err(bad());
    }
    let year = i32::try_from(year).map_err(|_| bad())?;
    let not_a_date = || format!("{date_part} is not a calendar date");
    let month_of = |m: u32| {
        u8::try_from(m)
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .ok_or_else(not_a_date)
    };
    let in_local = |date: Date| PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(local);
    // Each arm gives the start, and the start of the next period where the calendar has one
    // (after 9999-12-31 it has not; the nominal length stands in).
    let day_ms = 86_400_000;
    let (start, next, nominal_ms) = match (month, day, time_part) {
        (None, None, None) => {
            let start = Date::from_calendar_date(year, Month::January, 1).map_err(|_| bad())?;
            let next = Date::from_calendar_date(year + 1, Month::January, 1).ok();
            (in_local(start), next.map(in_local), 365 * day_ms)
        }
        (Some(Some(m)), None, None) => {
            let month = month_of(m)?;
            let start = Date::from_calendar_date(year, month, 1).map_err(|_| not_a_date())?;
            let (next_year, next_month) = if month == Month::December {
                (year + 1, Month::January)
            } else {
                (year, month.next())
            };
            let next = Date::from_calendar_date(next_year, next_month, 1).ok();
            (in_local(start), next.map(in_local), 28 * day_ms)
        }
        (Some(Some(m)), Some(Some(d)), time_part) => {
            let day = u8::try_from(d).map_err(|_| not_a_date())?;
            let date =
                Date::from_calendar_date(year, month_of(m)?, day).map_err(|_| not_a_date())?;
            match time_part {
                None => (in_local(date), date.next_day().map(in_local), day_ms),
                Some(t) => {
                    let (start, length) = time_span(date, t, local).ok_or_else(bad)??;
                    let length_ms = i64::try_from(length.whole_milliseconds()).unwrap_or(1);
                    (start, start.checked_add(length), length_ms)
                }
            }
        }
        _ => return Err(bad()),
    };
    let ms = |at: OffsetDateTime| i64::try_from(at.unix_timestamp_nanos() / 1_000_000);
    let first_ms = ms(start).map_err(|_| bad())?;
    let next_ms = match next {
        Some(next) => ms(next).map_err(|_| bad())?,
        None => first_ms + nominal_ms,
    };
    Ok(Span {
        first_ms,
        last_ms: next_ms - 1,
    })
}

/// The span of `hh:mm[:ss[.f]]` and its zone on `date`; `None` when the shape is wrong, an
/// inner error when a number is out of range.
fn time_span(
    date: Date,
    text: &str,
    local: UtcOffset,
) -> Option<Result<(OffsetDateTime, time::Duration), String>> {
    // The zone starts at the first Z, +, - or space after the clock.
    let zone_at = text
        .char_indices()
        .skip(5)
        .find(|(_, c)| matches!(c, 'Z' | 'z' | '+' | '-' | ' '))
        .map_or(text.len(), |(i, _)| i);
    let (clock, zone) = text.split_at(zone_at);
    let digits = |s: &str, n: usize| {
        (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok())?
    };
    let mut fields = clock.split(':');
    let hour = digits(fields.next()?, 2)?;
    let minute = digits(fields.next()?, 2)?;
    let (second, fraction) = match fields.next() {
        None => (None, None),
        Some(s) => match s.split_once('.') {
            Some((s, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
                (Some(digits(s, 2)?), Some(f))
            }
            Some(_) => return None,
            None => (Some(digits(s, 2)?), None),
        },
    };
    if fields.next().is_some() {
        return None;
    }
    let offset = match zone {
        "" => local,
        "Z" | "z" => UtcOffset::UTC,
        // Offsets are ASCII; anything else is no offset (and is sliced by bytes below).
        _ if !zone.is_ascii() => return None,
        _ => {
            let (sign, rest) = zone.split_at(1);
            let sign: i8 = if sign == "-" { -1 } else { 1 };
            let (h, m) = match rest.len() {
                2 => (rest, "00"),
                4 => (&rest[..2], &rest[2..]),
                5 if &rest[2..3] == ":" => (&rest[..2], &rest[3..]),
                _ => return None,
            };
            let (h, m) = (digits(h, 2)?, digits(m, 2)?);
            // RFC 3339 allows any offset up to ±23:59.
            if h > 23 || m > 59 {
                return Some(Err(format!("{zone} is not a time-zone offset")));
            }
            let (h, m) = (i8::try_from(h).ok()?, i8::try_from(m).ok()?);
            UtcOffset::from_hms(sign * h, sign * m, 0).ok()?
        }
    };
    // A leap second (:60) is read as the last second of its minute.
    let second_value = second.unwrap_or(0).min(59);
    let nanos = match fraction {
        Some(f) => {
            let f = &f[..f.len().min(9)];
            f.parse::<u32>().ok()? * 10u32.pow(9 - u32::try_from(f.len()).ok()?)
        }
        None => 0,
    };
    let time = match (
        u8::try_from(hour),
        u8::try_from(minute),
        u8::try_from(second_value),
    ) {
        (Ok(h), Ok(m), Ok(s)) => Time::from_hms_nano(h, m, s, nanos),
        _ => return None,
    };
    let Ok(time) = time else {
        return Some(Err(format!("{clock} is not a time of day")));
    };
    let start = PrimitiveDateTime::new(date, time).assume_offset(offset);
    let length = match (second, fraction) {
        (None, _) => time::Duration::minutes(1),
        (Some(_), None) => time::Duration::seconds(1),
        (Some(_), Some(_)) => time::Duration::milliseconds(1),
    };
    Some(Ok((start, length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VN: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
        Ok(o) => o,
        Err(_) => UtcOffset::UTC,
    };

    fn ms(rfc3339: &str) -> i64 {
        let at = OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
            .expect("a test time");
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000).expect("in range")
    }

    #[test]
    fn every_precision_of_the_note_is_read() {
        let table = [
            (
                "2026",
                "2026-01-01T00:00:00+07:00",
                "2027-01-01T00:00:00+07:00",
            ),
            (
                "2026-02",
                "2026-02-01T00:00:00+07:00",
                "2026-03-01T00:00:00+07:00",
            ),
            (
                "2026-12",
                "2026-12-01T00:00:00+07:00",
                "2027-01-01T00:00:00+07:00",
            ),
            (
                "2026-11-01",
                "2026-11-01T00:00:00+07:00",
                "2026-11-02T00:00:00+07:00",
            ),
            (
                "2026-11-01T08:30+07:00",
                "2026-11-01T08:30:00+07:00",
                "2026-11-01T08:31:00+07:00",
            ),
            (
                "2026-11-01T08:30:15Z",
                "2026-11-01T08:30:15Z",
                "2026-11-01T08:30:16Z",
            ),
            (
                "2026-11-01T08:30:15.25-03:00",
                "2026-11-01T08:30:15.25-03:00",
                "2026-11-01T08:30:15.251-03:00",
            ),
            (
                "2026-11-01T08:30",
                "2026-11-01T08:30:00+07:00",
                "2026-11-01T08:31:00+07:00",
            ),
            (
                "2026-11-01 08:30:00 07:00",
                "2026-11-01T08:30:00+07:00",
                "2026-11-01T08:30:01+07:00",
            ),
            (
                "2026-11-01t08:30:00z",
                "2026-11-01T08:30:00Z",
                "2026-11-01T08:30:01Z",
            ),
            (
                "2026-11-01T08:30:00+0700",
                "2026-11-01T08:30:00+07:00",
                "2026-11-01T08:30:01+07:00",
            ),
            (
                "2026-11-01T08:30:00+07",
                "2026-11-01T08:30:00+07:00",
                "2026-11-01T08:30:01+07:00",
            ),
            (
                " 2024-02-29 ",
                "2024-02-29T00:00:00+07:00",
                "2024-03-01T00:00:00+07:00",
            ),
            (
                "0000-01-01",
                "0000-01-01T00:00:00+07:00",
                "0000-01-02T00:00:00+07:00",
            ),
        ];
        for (value, first, next) in table {
            let span = parse(value, VN).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(
                span,
                Span {
                    first_ms: ms(first),
                    last_ms: ms(next) - 1
                },
                "{value}"
            );
        }
    }

    #[test]
    fn the_last_day_of_the_calendar_is_a_day_too() {
        for value in [
            "9999",
            "9999-12",
            "9999-12-31",
            "9999-12-31T23:59:59.999-23:59",
        ] {
            let span = parse(value, VN).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert!(span.first_ms <= span.last_ms, "{value}: {span:?}");
        }
    }

    #[test]
    fn what_is_not_a_date_time_says_so() {
        for (value, expected) in [
            ("2026-02-30", "not a calendar date"),
            ("2026-13", "not a calendar date"),
            ("2026-11-01T25:00Z", "not a time of day"),
            ("2026-11-01T08:30+24:00", "not a time-zone offset"),
            ("yesterday", "not a W3C date-time"),
            ("", "not a W3C date-time"),
            ("26-11-01", "not a W3C date-time"),
            ("2026-11-1", "not a W3C date-time"),
            ("2026-11-01T8:30Z", "not a W3C date-time"),
            ("2026-11-01T08:30:00.Z", "not a W3C date-time"),
            ("1795143600", "not a W3C date-time"),
            ("2026-11-01T08:30+1é1", "not a W3C date-time"),
            ("2026-11-01T08:30é", "not a W3C date-time"),
            ("2026-11-01T08:3é", "not a W3C date-time"),
            ("2026-11-01Té8:30Z", "not a W3C date-time"),
            ("2026-é1", "not a W3C date-time"),
        ] {
            let err = parse(value, VN).expect_err(value);
            assert!(err.contains(expected), "{value}: {err}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 4_096, ..proptest::prelude::ProptestConfig::default()
        })]

        /// Any text, and any text shaped almost like a date-time, is read or refused:
        /// never a panic.
        #[test]
        fn any_text_is_read_or_refused(
            text in proptest::prop_oneof![
                proptest::prelude::any::<String>(),
                "[0-9]{4}(-[0-9]{2}(-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,12})?)?([Zz]|[+ -][0-9:é€]{1,5}|.{0,3}))?)?)?",
            ]
        ) {
            let _ = parse(&text, VN);
        }
    }
}
