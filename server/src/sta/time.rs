//! SensorThings times (OGC 18-088 §8.2.2, ISO 8601): instants are read as RFC 3339 with an
//! offset (`2024-03-01T06:00:00Z`, `2024-03-01T13:00:00.5+07:00`) and written in UTC with `Z`.
//! A time without an offset names no instant, so it is refused, not guessed.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Reads an instant; ms since epoch.
///
/// # Errors
/// A sentence for people: no offset, or not an ISO 8601 date-time.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
            .map_err(|_| "is out of range".to_owned()),
        Err(_) => {
            let clock = match text.get(10..11) {
                Some("T" | "t") => text.get(11..),
                _ => None,
            };
            let has_offset =
                clock.is_some_and(|c| c.ends_with(['Z', 'z']) || c.contains(['+', '-']));
            Err(if clock.is_some() && !has_offset {
                "has no UTC offset: add Z or one such as +07:00 (2024-03-01T06:00:00Z)".into()
            } else {
                "is not an ISO 8601 date-time with an offset, such as 2024-03-01T06:00:00Z".into()
            })
        }
    }
}

/// ms since epoch as `2024-03-01T06:00:00Z` (with `.sss` when there are milliseconds).
pub fn format_instant(ms: i64) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return String::new();
    };
    let millis = ms.rem_euclid(1000);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if millis == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{millis:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip_and_need_an_offset() {
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_instant("1970-01-01T07:00:00.250+07:00"), Ok(250));
        assert_eq!(format_instant(250), "1970-01-01T00:00:00.250Z");
        assert_eq!(format_instant(1_709_251_200_000), "2024-03-01T00:00:00Z");
        for ms in [0, 1_709_251_200_123, -86_400_000] {
            assert_eq!(parse_instant(&format_instant(ms)), Ok(ms));
        }
        assert!(
            parse_instant("2024-03-01T06:00:00")
                .unwrap_err()
                .contains("no UTC offset")
        );
        assert!(parse_instant("yesterday").unwrap_err().contains("ISO 8601"));
        assert!(parse_instant("2024-02-30T06:00:00Z").is_err());
    }
}
