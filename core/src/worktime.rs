//! Working time of a public office: when a dossier is due, from the procedure's working days,
//! the office hours and the public holidays of the city pack's calendar (`calendar.json`),
//! with the clock stopped while the dossier waits for the resident.
//!
//! The rules: a processing time in working days counts from the moment a complete dossier is
//! received; one working day is one day of office hours, so a dossier received on Monday at
//! 10:00 with 3 working days is due on Thursday at 10:00, and one received on a Saturday
//! counts from Monday's opening and is due at Wednesday's closing. A procedure answered "the
//! same day" (0 working days) is due at that day's closing when received before the calendar's
//! cut-off hour (15:00: Decree 61/2018/NĐ-CP art. 19 lets a dossier received after 15:00 be
//! returned the next working day), else at the next working day's closing. Public holidays
//! and the make-up working days (a Saturday worked in exchange for a bridge day) are data, per
//! year, because the Ministry of Home Affairs announces them each year and the lunar new year
//! moves (Labour Code 2019 art. 112).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::civil::{DAY_MS, Date};
use crate::text::Localized;

/// A minute of the day, 0–1440.
type Minute = i64;

const MINUTE_MS: i64 = 60_000;

/// A span of public holidays, both ends included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidaySpan {
    pub from: String,
    pub to: String,
    pub name: Localized,
}

/// One year of the calendar as the pack writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarYear {
    /// The first day of the lunar year (Tết), `YYYY-MM-DD`.
    pub lunar_new_year: String,
    /// Days the offices are closed besides weekends (weekend days inside a span are fine).
    pub holidays: Vec<HolidaySpan>,
    /// Weekend days worked in exchange for a bridge day, `YYYY-MM-DD`.
    #[serde(default)]
    pub make_up_days: Vec<String>,
    /// Where the year's days come from (the announcing notice).
    pub source: String,
    /// Whether the dates are the statutory minimum because the year's notice is not out yet.
    #[serde(default)]
    pub provisional: bool,
}

/// The city pack's `calendar.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSource {
    /// Minutes east of UTC of the offices' clock (Vietnam: 420, no daylight saving).
    pub utc_offset_minutes: i32,
    /// Opening spans of a working day, `["07:30", "11:30"]`, in order, not overlapping.
    pub office_hours: Vec<[String; 2]>,
    /// Working weekdays, `mon` … `sun`.
    pub working_weekdays: Vec<String>,
    /// A dossier of a same-day procedure received after this hour is due the next working day.
    pub same_day_cutoff: String,
    /// The years, by number (`"2026"`).
    pub years: BTreeMap<String, CalendarYear>,
    pub sources: Vec<String>,
}

/// Why a calendar cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calendar: {field}: {message}")]
pub struct CalendarError {
    pub field: String,
    pub message: String,
}

fn calendar_error(field: impl Into<String>, message: impl Into<String>) -> CalendarError {
    CalendarError {
        field: field.into(),
        message: message.into(),
    }
}

/// `"07:30"` → 450.
fn parse_hhmm(field: &str, text: &str) -> Result<Minute, CalendarError> {
    let (h, m) = text
        .split_once(':')
        .ok_or_else(|| calendar_error(field, format!("{text:?} is not HH:MM")))?;
    let h: i64 = h
        .parse()
        .map_err(|_| calendar_error(field, format!("{text:?} is not HH:MM")))?;
    let m: i64 = m
        .parse()
        .map_err(|_| calendar_error(field, format!("{text:?} is not HH:MM")))?;
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || h * 60 + m > 1440 {
        return Err(calendar_error(
            field,
            format!("{text:?} is not a time of day"),
        ));
    }
    Ok(h * 60 + m)
}

fn parse_date(field: &str, text: &str) -> Result<Date, CalendarError> {
    Date::parse_iso(text)
        .ok_or_else(|| calendar_error(field, format!("{text:?} is not a YYYY-MM-DD date")))
}

/// 0 = Monday … 6 = Sunday.
fn weekday(date: Date) -> usize {
    // 1970-01-01 was a Thursday (3).
    (date.days_since_epoch() + 3).rem_euclid(7) as usize
}

/// The offices' working time, ready to count with.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkCalendar {
    offset_minutes: i32,
    /// Opening spans of a working day, in minutes of the day.
    hours: Vec<(Minute, Minute)>,
    weekdays: [bool; 7],
    cutoff: Minute,
    holidays: BTreeSet<Date>,
    make_up: BTreeSet<Date>,
    years: BTreeSet<i32>,
    lunar_new_year: BTreeMap<i32, Date>,
}

impl WorkCalendar {
    /// Checks and prepares the pack's calendar.
    ///
    /// # Errors
    /// A [`CalendarError`] naming the field: a time that is not `HH:MM`, spans out of order, an
    /// unknown weekday, a date that does not exist or lies outside its year, a year that is not
    /// a number.
    pub fn new(source: &CalendarSource) -> Result<WorkCalendar, CalendarError> {
        let mut hours = Vec::new();
        for (i, [open, close]) in source.office_hours.iter().enumerate() {
            let field = format!("office_hours[{i}]");
            let (open, close) = (parse_hhmm(&field, open)?, parse_hhmm(&field, close)?);
            if open >= close || hours.last().is_some_and(|&(_, end)| end > open) {
                return Err(calendar_error(
                    field,
                    "spans must be in order and not overlap",
                ));
            }
            hours.push((open, close));
        }
        if hours.is_empty() {
            return Err(calendar_error("office_hours", "no opening hours"));
        }
        let mut weekdays = [false; 7];
        for day in &source.working_weekdays {
            let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|d| d == day)
                .ok_or_else(|| {
                    calendar_error("working_weekdays", format!("{day:?} is not mon … sun"))
                })?;
            weekdays[i] = true;
        }
        let mut calendar = WorkCalendar {
            offset_minutes: source.utc_offset_minutes,
            hours,
            weekdays,
            cutoff: parse_hhmm("same_day_cutoff", &source.same_day_cutoff)?,
            holidays: BTreeSet::new(),
            make_up: BTreeSet::new(),
            years: BTreeSet::new(),
            lunar_new_year: BTreeMap::new(),
        };
        for (year_text, year) in &source.years {
            let number: i32 = year_text
                .parse()
                .map_err(|_| calendar_error("years", format!("{year_text:?} is not a year")))?;
            let in_year = |field: String, text: &str| -> Result<Date, CalendarError> {
                let date = parse_date(&field, text)?;
                // A span may reach into the next year only by days of Tết; dates are checked to
                // be near their year so a typo in the year is caught.
                if (date.year - number).abs() > 1 {
                    return Err(calendar_error(field, format!("{text} is not in {number}")));
                }
                Ok(date)
            };
            let base = format!("years.{year_text}");
            calendar.lunar_new_year.insert(
                number,
                in_year(format!("{base}.lunar_new_year"), &year.lunar_new_year)?,
            );
            for (i, span) in year.holidays.iter().enumerate() {
                let field = format!("{base}.holidays[{i}]");
                let from = in_year(format!("{field}.from"), &span.from)?;
                let to = in_year(format!("{field}.to"), &span.to)?;
                if to < from || to.days_since_epoch() - from.days_since_epoch() > 15 {
                    return Err(calendar_error(
                        field,
                        "a span runs forwards, 16 days at most",
                    ));
                }
                for day in from.days_since_epoch()..=to.days_since_epoch() {
                    calendar.holidays.insert(Date::from_days_since_epoch(day));
                }
            }
            for (i, day) in year.make_up_days.iter().enumerate() {
                let field = format!("{base}.make_up_days[{i}]");
                let date = in_year(field.clone(), day)?;
                if calendar.weekdays[weekday(date)] {
                    return Err(calendar_error(
                        field,
                        format!("{day} is a working day anyway"),
                    ));
                }
                calendar.make_up.insert(date);
            }
            calendar.years.insert(number);
        }
        Ok(calendar)
    }

    /// Whether the calendar knows the holidays of `year`; outside the years it knows, only
    /// weekends are days off.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The first day of the lunar year in `year`, if the calendar has it.
    pub fn lunar_new_year(&self, year: i32) -> Option<Date> {
        self.lunar_new_year.get(&year).copied()
    }

    /// Whether the offices work on `date`.
    pub fn is_working_day(&self, date: Date) -> bool {
        self.make_up.contains(&date)
            || (self.weekdays[weekday(date)] && !self.holidays.contains(&date))
    }

    /// Office minutes in one working day (7 h 30 min for 07:30–11:30 and 13:30–17:00).
    pub fn minutes_per_day(&self) -> i64 {
        self.hours.iter().map(|(a, b)| b - a).sum()
    }

    /// The local date and minute of the day of an instant.
    fn local(&self, at_ms: i64) -> (Date, Minute) {
        let local_ms = at_ms + i64::from(self.offset_minutes) * MINUTE_MS;
        let day = local_ms.div_euclid(DAY_MS);
        (
            Date::from_days_since_epoch(day),
            local_ms.rem_euclid(DAY_MS) / MINUTE_MS,
        )
    }

    fn instant(&self, date: Date, minute: Minute) -> i64 {
        date.start_ms(self.offset_minutes) + minute * MINUTE_MS
    }

    /// Office minutes from `from_ms` to `to_ms` (0 when `to_ms` is not later). Seconds inside
    /// a minute are dropped.
    pub fn working_minutes_between(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        let (from_day, from_min) = self.local(from_ms);
        let (to_day, to_min) = self.local(to_ms);
        let mut total = 0;
        let mut day = from_day.days_since_epoch();
        let last = to_day.days_since_epoch();
        while day <= last {
            let date = Date::from_days_since_epoch(day);
            if self.is_working_day(date) {
                let lo = if day == from_day.days_since_epoch() {
                    from_min
                } else {
                    0
                };
                let hi = if day == last { to_min } else { 1440 };
                total += self
                    .hours
                    .iter()
                    .map(|&(a, b)| (b.min(hi) - a.max(lo)).max(0))
                    .sum::<i64>();
            }
            day += 1;
        }
        total
    }

    /// The instant `minutes` office minutes after `from_ms`. Landing exactly on a closing time
    /// gives that closing time (not the next opening); 0 minutes gives `from_ms` itself.
    pub fn add_working_minutes(&self, from_ms: i64, minutes: i64) -> i64 {
        if minutes <= 0 {
            return from_ms;
        }
        let (mut date, mut minute) = self.local(from_ms);
        let mut left = minutes;
        // Every working day holds at least one minute, and a year has working days: the loop
        // ends. The bound guards a calendar that closes every day.
        for _ in 0..(minutes / self.minutes_per_day().max(1) + 400) * 2 {
            if self.is_working_day(date) {
                for &(open, close) in &self.hours {
                    let start = open.max(minute);
                    if start >= close {
                        continue;
                    }
                    let here = close - start;
                    if left <= here {
                        return self.instant(date, start + left);
                    }
                    left -= here;
                }
            }
            date = Date::from_days_since_epoch(date.days_since_epoch() + 1);
            minute = 0;
        }
        i64::MAX
    }

    /// The closing time of the first working day at or after `date`.
    fn closing_on_or_after(&self, date: Date) -> i64 {
        let mut day = date.days_since_epoch();
        while !self.is_working_day(Date::from_days_since_epoch(day)) {
            day += 1;
        }
        let close = self.hours.last().map_or(0, |&(_, close)| close);
        self.instant(Date::from_days_since_epoch(day), close)
    }

    /// When a dossier received at `received_ms` is due, for a procedure of `working_days`.
    pub fn due_at(&self, received_ms: i64, working_days: u32) -> i64 {
        if working_days == 0 {
            let (date, minute) = self.local(received_ms);
            let open_today = self.is_working_day(date)
                && minute < self.cutoff
                && self.hours.last().is_some_and(|&(_, close)| minute < close);
            return if open_today {
                self.closing_on_or_after(date)
            } else {
                self.closing_on_or_after(Date::from_days_since_epoch(date.days_since_epoch() + 1))
            };
        }
        self.add_working_minutes(
            received_ms,
            i64::from(working_days) * self.minutes_per_day(),
        )
    }

    /// A local date and time as ms since the epoch (for tests and for staff typing a new date).
    pub fn at(&self, date: Date, hour: u8, minute: u8) -> i64 {
        self.instant(date, i64::from(hour) * 60 + i64::from(minute))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> WorkCalendar {
        let source: CalendarSource =
            serde_json::from_str(include_str!("../../assets/cities/my-tho/calendar.json"))
                .expect("the pack's calendar parses");
        WorkCalendar::new(&source).expect("the pack's calendar is valid")
    }

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::new(y, m, day).expect("a real date")
    }

    #[test]
    fn weekdays_are_counted_from_a_known_monday() {
        assert_eq!(weekday(d(2026, 11, 30)), 0, "30/11/2026 is a Monday");
        assert_eq!(
            weekday(d(2026, 2, 17)),
            1,
            "Tết Bính Ngọ falls on a Tuesday"
        );
    }

    #[test]
    fn due_dates_across_weekends_and_tet() {
        let cal = calendar();
        let at = |date: Date, h, m| cal.at(date, h, m);
        // (received, working days, due, why)
        let table = [
            (
                at(d(2026, 11, 30), 10, 0),
                3,
                at(d(2026, 12, 3), 10, 0),
                "Monday 10:00 + 3 days: Thursday 10:00",
            ),
            (
                at(d(2026, 12, 4), 16, 0),
                1,
                at(d(2026, 12, 7), 16, 0),
                "Friday afternoon + 1 day: over the weekend to Monday",
            ),
            (
                at(d(2026, 12, 5), 9, 0),
                3,
                at(d(2026, 12, 9), 17, 0),
                "received on a Saturday: counts from Monday's opening, due Wednesday's closing",
            ),
            (
                at(d(2026, 12, 1), 12, 0),
                1,
                at(d(2026, 12, 2), 11, 30),
                "received in the lunch break: counts from 13:30, so due at the next noon closing",
            ),
            (
                at(d(2026, 12, 1), 18, 0),
                1,
                at(d(2026, 12, 2), 17, 0),
                "received after closing: the whole next day",
            ),
            (
                at(d(2026, 2, 12), 9, 0),
                3,
                at(d(2026, 2, 24), 9, 0),
                "Thursday before Tết Bính Ngọ (off 14–22/02/2026) + 3 days: Fri 13, Mon 23, Tue 24",
            ),
            (
                at(d(2026, 2, 13), 8, 0),
                1,
                at(d(2026, 2, 23), 8, 0),
                "the last working day before Tết + 1 day: the first day after",
            ),
            (
                at(d(2026, 2, 16), 9, 0),
                2,
                at(d(2026, 2, 24), 17, 0),
                "received during Tết: counts from Monday 23/02",
            ),
            (
                at(d(2026, 1, 9), 9, 0),
                1,
                at(d(2026, 1, 10), 9, 0),
                "the Saturday 10/01/2026 is worked in exchange for Friday 02/01",
            ),
            (
                at(d(2025, 12, 31), 9, 0),
                1,
                at(d(2026, 1, 5), 9, 0),
                "New Year (01/01) and its bridge day (02/01) are off",
            ),
            (
                at(d(2026, 12, 1), 10, 0),
                0,
                at(d(2026, 12, 1), 17, 0),
                "same day before 15:00: today's closing",
            ),
            (
                at(d(2026, 12, 1), 15, 30),
                0,
                at(d(2026, 12, 2), 17, 0),
                "same day after the 15:00 cut-off: the next working day",
            ),
            (
                at(d(2026, 12, 4), 15, 30),
                0,
                at(d(2026, 12, 7), 17, 0),
                "same day on a Friday after 15:00: Monday",
            ),
        ];
        for (received, days, due, why) in table {
            assert_eq!(
                cal.due_at(received, days),
                due,
                "{why}: got {:?}",
                cal.local(cal.due_at(received, days))
            );
        }
    }

    #[test]
    fn working_minutes_count_only_office_hours() {
        let cal = calendar();
        let day = cal.minutes_per_day();
        assert_eq!(day, 450, "07:30–11:30 and 13:30–17:00");
        let monday = cal.at(d(2026, 11, 30), 7, 0);
        let next_monday = cal.at(d(2026, 12, 7), 7, 0);
        assert_eq!(cal.working_minutes_between(monday, next_monday), 5 * day);
        assert_eq!(cal.working_minutes_between(next_monday, monday), 0);
        // Across Tết: 13/02 (Fri) and 23/02 (Mon) only.
        let before = cal.at(d(2026, 2, 13), 0, 0);
        let after = cal.at(d(2026, 2, 24), 0, 0);
        assert_eq!(cal.working_minutes_between(before, after), 2 * day);
        // Adding what was counted lands where counting stopped (on office time).
        let from = cal.at(d(2026, 12, 2), 9, 15);
        for minutes in [1, 200, 240, 450, 451, 2_000, 10_000] {
            let to = cal.add_working_minutes(from, minutes);
            assert_eq!(
                cal.working_minutes_between(from, to),
                minutes,
                "{minutes} minutes"
            );
        }
    }

    #[test]
    fn the_calendar_refuses_what_it_cannot_use() {
        let good: CalendarSource =
            serde_json::from_str(include_str!("../../assets/cities/my-tho/calendar.json"))
                .expect("parses");
        let mut bad = good.clone();
        bad.office_hours[0][0] = "7h30".into();
        assert_eq!(
            WorkCalendar::new(&bad).unwrap_err().field,
            "office_hours[0]"
        );
        let mut bad = good.clone();
        bad.working_weekdays.push("funday".into());
        assert_eq!(
            WorkCalendar::new(&bad).unwrap_err().field,
            "working_weekdays"
        );
        let mut bad = good.clone();
        let year = bad.years.get_mut("2026").expect("2026 is in the pack");
        year.make_up_days.push("2026-12-02".into());
        assert_eq!(
            WorkCalendar::new(&bad).unwrap_err().field,
            "years.2026.make_up_days[1]",
            "a Wednesday cannot be a make-up day"
        );
        let mut bad = good;
        let year = bad.years.get_mut("2026").expect("2026 is in the pack");
        year.holidays[0].to = "2026-02-30".into();
        assert_eq!(
            WorkCalendar::new(&bad).unwrap_err().field,
            "years.2026.holidays[0].to"
        );
    }

    #[test]
    fn the_pack_knows_the_lunar_new_year() {
        let cal = calendar();
        assert_eq!(cal.lunar_new_year(2026), Some(d(2026, 2, 17)));
        assert!(cal.covers(2026) && cal.covers(2027));
        assert!(!cal.is_working_day(d(2026, 2, 17)));
        assert!(cal.is_working_day(d(2026, 1, 10)), "a make-up Saturday");
        assert!(!cal.is_working_day(d(2026, 1, 2)), "its bridge day");
    }
}
