//! "Can I pump now, and if not, when?" — the rules that turn river salinity readings into a
//! plain verdict for one use of the water, the alerts a farmer subscribes to, the fresh-water
//! windows expected in the next 48 hours, and the figures of the trend.
//!
//! The thresholds are data of the city pack (`salinity.json`, each with its source); the
//! rules that apply them live here, once, for the app and the gateway. Salinity is in g/L
//! (‰, as the Vietnamese bulletins give it); times are ms since the Unix epoch.

use serde::{Deserialize, Serialize};

use crate::text::Localized;

/// Where a threshold comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Source {
    /// What the source says, in a line.
    pub says: Localized,
    /// The publication (a decree, a guideline, an article).
    pub reference: String,
}

/// A use of river water and its salinity limits.
///
/// The level is *safe* inside `safe`, *caution* inside `caution` (which holds `safe`), and
/// *do not pump* outside `caution`. Bounds are `[low, high)` in g/L.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalinityUse {
    pub id: String,
    pub name: Localized,
    /// What the verdicts mean for this use, in plain words.
    pub advice: Localized,
    pub safe: [f64; 2],
    pub caution: [f64; 2],
    /// For uses hurt by a sudden change (shrimp): the change in g/L against the reading 24
    /// hours before that makes it caution, and do not pump.
    #[serde(default)]
    pub change_24h: Option<[f64; 2]>,
    /// How far back inside a limit a value must come before an alert says it crossed back
    /// (g/L), so a value wobbling on the line does not alert at every reading.
    pub hysteresis: f64,
    pub sources: Vec<Source>,
}

/// The salinity guidance of a city pack (`salinity.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalinityGuide {
    /// A reading older than this is stale: shown as old, never as the river now, and never
    /// "safe". Minutes.
    pub stale_after_minutes: u32,
    pub uses: Vec<SalinityUse>,
}

impl SalinityGuide {
    pub fn stale_after_ms(&self) -> i64 {
        i64::from(self.stale_after_minutes) * 60_000
    }

    pub fn use_by_id(&self, id: &str) -> Option<&SalinityUse> {
        self.uses.iter().find(|u| u.id == id)
    }

    /// Checks the limits: ordered, nested, finite.
    ///
    /// # Errors
    /// The id of the use at fault and why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.stale_after_minutes == 0 {
            return Err(("stale_after_minutes".into(), "must be more than 0".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for u in &self.uses {
            let bad = |m: &str| Err((u.id.clone(), m.to_owned()));
            if !seen.insert(&u.id) {
                return bad("duplicate id");
            }
            let finite = [u.safe, u.caution]
                .iter()
                .flatten()
                .chain(u.change_24h.iter().flatten())
                .all(|x| x.is_finite() && *x >= 0.0);
            if !finite || !u.hysteresis.is_finite() || u.hysteresis < 0.0 {
                return bad("limits must be finite and not negative");
            }
            if !(u.caution[0] <= u.safe[0] && u.safe[0] < u.safe[1] && u.safe[1] <= u.caution[1]) {
                return bad("needs caution.low <= safe.low < safe.high <= caution.high");
            }
            if u.change_24h.is_some_and(|[c, d]| c >= d) {
                return bad("change_24h needs caution < do-not-pump");
            }
            if !u.name.is_complete() || !u.advice.is_complete() {
                return bad("name and advice need vi and en");
            }
            if u.sources.is_empty() {
                return bad("needs at least one source");
            }
        }
        Ok(())
    }
}

/// The answer to "can I pump now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Safe,
    Caution,
    DoNotPump,
    /// No current reading: the last one is stale, from the future, or there is none.
    Unknown,
}

impl Verdict {
    pub fn message_key(self) -> &'static str {
        match self {
            Verdict::Safe => "verdict-safe",
            Verdict::Caution => "verdict-caution",
            Verdict::DoNotPump => "verdict-do-not-pump",
            Verdict::Unknown => "verdict-unknown",
        }
    }
}

/// Why the verdict is what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The level is inside the safe range `[low, high)`.
    WithinSafe {
        low: f64,
        high: f64,
    },
    /// The level is inside the caution band but outside the safe range.
    Caution {
        low: f64,
        high: f64,
    },
    /// Saltier than the use bears.
    TooSalty {
        limit: f64,
    },
    /// Fresher than the use bears (shrimp).
    TooFresh {
        limit: f64,
    },
    /// The level moved by `change` g/L against the reading 24 hours before.
    SuddenChange {
        change: f64,
        limit: f64,
    },
    /// The newest reading is older than the stale limit.
    Stale {
        age_ms: i64,
    },
    /// The newest reading is dated after now: a clock is wrong.
    FromTheFuture,
    NoReading,
}

/// A reading the verdict is based on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub at_ms: i64,
    /// g/L.
    pub value: f64,
}

/// A verdict with what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// The newest reading, however old.
    pub reading: Option<Sample>,
    /// Its age at `now`, ms (negative: dated after now).
    pub age_ms: Option<i64>,
}

/// How much later than now a reading may be dated before a clock is blamed: 5 minutes.
pub const FUTURE_TOLERANCE_MS: i64 = 5 * 60_000;

/// The level's verdict alone (no staleness, no change).
pub fn level_verdict(u: &SalinityUse, value: f64) -> (Verdict, Reason) {
    let [safe_low, safe_high] = u.safe;
    let [caution_low, caution_high] = u.caution;
    if value >= safe_low && value < safe_high {
        (
            Verdict::Safe,
            Reason::WithinSafe {
                low: safe_low,
                high: safe_high,
            },
        )
    } else if value >= caution_low && value < caution_high {
        (
            Verdict::Caution,
            Reason::Caution {
                low: safe_low,
                high: safe_high,
            },
        )
    } else if value >= caution_high {
        (
            Verdict::DoNotPump,
            Reason::TooSalty {
                limit: caution_high,
            },
        )
    } else {
        (Verdict::DoNotPump, Reason::TooFresh { limit: caution_low })
    }
}

/// The verdict for use `u` from the newest reading `latest` and, for uses that mind sudden
/// changes, the reading about 24 hours before it (`day_before`, within ±1 hour). A stale
/// reading or one from the future never gives anything but [`Verdict::Unknown`].
pub fn assess(
    u: &SalinityUse,
    latest: Option<Sample>,
    day_before: Option<Sample>,
    now_ms: i64,
    stale_after_ms: i64,
) -> Assessment {
    let Some(reading) = latest else {
        return Assessment {
            verdict: Verdict::Unknown,
            reasons: vec![Reason::NoReading],
            reading: None,
            age_ms: None,
        };
    };
    let age_ms = now_ms - reading.at_ms;
    let unknown = |reason| Assessment {
        verdict: Verdict::Unknown,
        reasons: vec![reason],
        reading: Some(reading),
        age_ms: Some(age_ms),
    };
    if age_ms < -FUTURE_TOLERANCE_MS {
        return unknown(Reason::FromTheFuture);
    }
    if age_ms > stale_after_ms {
        return unknown(Reason::Stale { age_ms });
    }
    let (mut verdict, reason) = level_verdict(u, reading.value);
    let mut reasons = vec![reason];
    if let (Some([caution, do_not]), Some(before)) = (u.change_24h, day_before)
        && (reading.at_ms - before.at_ms - DAY_MS).abs() <= HOUR_MS
    {
        let change = (reading.value - before.value).abs();
        let by_change = if change >= do_not {
            Some((Verdict::DoNotPump, do_not))
        } else if change >= caution {
            Some((Verdict::Caution, caution))
        } else {
            None
        };
        if let Some((v, limit)) = by_change {
            verdict = verdict.max(v);
            reasons.push(Reason::SuddenChange { change, limit });
        }
    }
    Assessment {
        verdict,
        reasons,
        reading: Some(reading),
        age_ms: Some(age_ms),
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// What an alert subscription last told the farmer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// Nothing yet, or the water came back to safe.
    #[default]
    Clear,
    /// "Do not pump" was sent.
    DoNotPump,
}

/// The state of one subscription (station + use), kept across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct AlertState {
    pub level: AlertLevel,
    /// Whether a sudden-change alert was sent and has not re-armed yet.
    pub change_alerted: bool,
    /// The newest reading already considered.
    pub last_reading_ms: i64,
}

/// A notification to raise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// The water crossed into "do not pump".
    DoNotPump { value: f64, at_ms: i64 },
    /// After a "do not pump", the water is safe again: the fresh-water window.
    SafeAgain { value: f64, at_ms: i64 },
    /// The level moved by `change` g/L in about 24 hours (uses that mind it).
    SuddenChange { change: f64, at_ms: i64 },
}

/// Moves a subscription on by one reading (`day_before` as for [`assess`]); returns the new
/// state and the alert to raise, if any. With hysteresis: after "do not pump", "safe again"
/// needs the level back inside the safe range by the use's `hysteresis`; a sudden-change
/// alert re-arms once the change falls under its caution limit less `hysteresis`.
pub fn step_alert(
    u: &SalinityUse,
    state: AlertState,
    reading: Sample,
    day_before: Option<Sample>,
) -> (AlertState, Option<Alert>) {
    if reading.at_ms <= state.last_reading_ms {
        return (state, None);
    }
    let mut next = AlertState {
        last_reading_ms: reading.at_ms,
        ..state
    };
    let (level, _) = level_verdict(u, reading.value);
    let h = u.hysteresis;
    let well_inside_safe = reading.value >= u.safe[0] + h && reading.value < u.safe[1] - h;
    let mut alert = None;
    match state.level {
        AlertLevel::Clear if level == Verdict::DoNotPump => {
            next.level = AlertLevel::DoNotPump;
            alert = Some(Alert::DoNotPump {
                value: reading.value,
                at_ms: reading.at_ms,
            });
        }
        AlertLevel::DoNotPump if well_inside_safe => {
            next.level = AlertLevel::Clear;
            alert = Some(Alert::SafeAgain {
                value: reading.value,
                at_ms: reading.at_ms,
            });
        }
        _ => {}
    }
    if let (Some([caution, _]), Some(before)) = (u.change_24h, day_before)
        && (reading.at_ms - before.at_ms - DAY_MS).abs() <= HOUR_MS
    {
        let change = (reading.value - before.value).abs();
        if !state.change_alerted && change >= caution {
            next.change_alerted = true;
            // A level alert of the same reading says more; the change is not lost (the
            // screen shows it).
            if alert.is_none() {
                alert = Some(Alert::SuddenChange {
                    change,
                    at_ms: reading.at_ms,
                });
            }
        } else if state.change_alerted && change < caution - h {
            next.change_alerted = false;
        }
    }
    (next, alert)
}

/// The reading closest to `at_ms` within ±`tolerance_ms` in `series` (sorted by time).
pub fn near(series: &[Sample], at_ms: i64, tolerance_ms: i64) -> Option<Sample> {
    let i = series.partition_point(|s| s.at_ms < at_ms);
    [i.checked_sub(1), Some(i)]
        .into_iter()
        .flatten()
        .filter_map(|j| series.get(j))
        .filter(|s| (s.at_ms - at_ms).abs() <= tolerance_ms)
        .min_by_key(|s| (s.at_ms - at_ms).abs())
        .copied()
}

/// The reading to compare with for a sudden change: the one nearest 24 hours before `s`.
pub fn day_before(series: &[Sample], s: Sample) -> Option<Sample> {
    near(series, s.at_ms - DAY_MS, HOUR_MS)
}

// ---------------------------------------------------------------------------------------
// Trend

/// The highest reading of each local day (UTC+`offset_minutes`), oldest first:
/// (day start ms, maximum).
pub fn daily_maxima(series: &[Sample], offset_minutes: i32) -> Vec<(i64, f64)> {
    let shift = i64::from(offset_minutes) * 60_000;
    let mut out: Vec<(i64, f64)> = Vec::new();
    for s in series {
        let day = (s.at_ms + shift).div_euclid(DAY_MS) * DAY_MS - shift;
        match out.last_mut() {
            Some((d, max)) if *d == day => *max = max.max(s.value),
            _ => out.push((day, s.value)),
        }
    }
    out
}

/// The change of the newest reading against the reading nearest the same time `days` days
/// before (within an hour): (then, change in g/L). `None` where no such reading exists.
pub fn change_since(series: &[Sample], days: i64) -> Option<(Sample, f64)> {
    let latest = series.last()?;
    let then = near(series, latest.at_ms - days * DAY_MS, HOUR_MS)?;
    Some((then, latest.value - then.value))
}

/// Where the series has no reading for longer than `gap_ms`: (from, to) of each gap.
pub fn gaps(series: &[Sample], gap_ms: i64) -> Vec<(i64, i64)> {
    series
        .windows(2)
        .filter(|w| w[1].at_ms - w[0].at_ms > gap_ms)
        .map(|w| (w[0].at_ms, w[1].at_ms))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Forecast

/// The tidal constituents fitted (hours): the principal lunar and solar semi-diurnal (M2,
/// S2) and the lunar–solar and principal lunar diurnal (K1, O1) — the four largest in the
/// Mekong delta's mixed, mainly semi-diurnal tide (Nguyen et al. 2008, *Estuarine, Coastal
/// and Shelf Science*; any harmonic tide analysis, e.g. Pawlowicz et al. 2002, T_TIDE).
pub const TIDE_PERIODS_H: [f64; 4] = [12.4206, 12.0, 23.9345, 25.8193];

/// How sure an expected window is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// A stretch of time when salinity is expected inside the use's safe range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start_ms: i64,
    /// The last 10-minute slot expected inside (inclusive).
    pub end_ms: i64,
    /// The expected level furthest inside the range, g/L.
    pub best: f64,
    pub confidence: Confidence,
}

/// The fitted tide and what it expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Windows in the horizon when the level is expected under the limit, in order.
    pub windows: Vec<Window>,
    /// The typical error of the fit on the readings it was made from, g/L (RMS).
    pub rms_error: f64,
    /// Readings the fit used.
    pub samples: usize,
}

/// The fit of `series`: coefficients of [1, t, cos/sin of each constituent], t in days from
/// `origin_ms`. `None` when there are too few readings or they do not determine the fit.
#[derive(Debug, Clone, PartialEq)]
pub struct TideFit {
    origin_ms: i64,
    coefficients: Vec<f64>,
    pub rms_error: f64,
    pub samples: usize,
}

fn basis(t_ms: i64, origin_ms: i64) -> [f64; 10] {
    let hours = (t_ms - origin_ms) as f64 / HOUR_MS as f64;
    let mut row = [0.0; 10];
    row[0] = 1.0;
    row[1] = hours / 24.0;
    for (i, period) in TIDE_PERIODS_H.iter().enumerate() {
        let angle = std::f64::consts::TAU * hours / period;
        row[2 + 2 * i] = angle.cos();
        row[3 + 2 * i] = angle.sin();
    }
    row
}

/// Solves the symmetric positive-definite system `a x = b` (Cholesky). Written here: ten
/// unknowns once per forecast do not justify a linear-algebra crate in the app's WASM.
#[allow(
    clippy::needless_range_loop,
    reason = "a matrix factorisation reads best in the indices of its textbook form"
)]
fn solve_spd<const N: usize>(mut a: [[f64; N]; N], b: [f64; N]) -> Option<[f64; N]> {
    for j in 0..N {
        let mut d = a[j][j];
        for k in 0..j {
            d -= a[j][k] * a[j][k];
        }
        if d <= 1e-12 {
            return None;
        }
        let d = d.sqrt();
        a[j][j] = d;
        for i in (j + 1)..N {
            let mut s = a[i][j];
            for k in 0..j {
                s -= a[i][k] * a[j][k];
            }
            a[i][j] = s / d;
        }
    }
    let mut y = [0.0; N];
    for i in 0..N {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i][k] * y[k];
        }
        y[i] = s / a[i][i];
    }
    let mut x = [0.0; N];
    for i in (0..N).rev() {
        let mut s = y[i];
        for k in (i + 1)..N {
            s -= a[k][i] * x[k];
        }
        x[i] = s / a[i][i];
    }
    Some(x)
}

/// Readings a fit needs at least: two days at one an hour.
pub const MIN_FIT_SAMPLES: usize = 48;

impl TideFit {
    /// Least squares of the mean, a linear trend and the four constituents over `series`
    /// (the last 7 days of a station is what the app passes). Outliers (a fouled probe's
    /// spike) are dropped after a first fit: readings more than 4 RMS off, then refitted.
    pub fn fit(series: &[Sample]) -> Option<TideFit> {
        let origin_ms = series.last()?.at_ms;
        let first = Self::fit_once(series, origin_ms)?;
        let kept: Vec<Sample> = series
            .iter()
            .filter(|s| {
                (first.value_at(s.at_ms) - s.value).abs() <= 4.0 * first.rms_error.max(0.01)
            })
            .copied()
            .collect();
        if kept.len() == series.len() {
            return Some(first);
        }
        Self::fit_once(&kept, origin_ms)
    }

    fn fit_once(series: &[Sample], origin_ms: i64) -> Option<TideFit> {
        if series.len() < MIN_FIT_SAMPLES {
            return None;
        }
        let mut ata = [[0.0; 10]; 10];
        let mut atb = [0.0; 10];
        for s in series {
            let row = basis(s.at_ms, origin_ms);
            for i in 0..10 {
                atb[i] += row[i] * s.value;
                for j in 0..10 {
                    ata[i][j] += row[i] * row[j];
                }
            }
        }
        let coefficients = solve_spd(ata, atb)?.to_vec();
        let mut fit = TideFit {
            origin_ms,
            coefficients,
            rms_error: 0.0,
            samples: series.len(),
        };
        let sq: f64 = series
            .iter()
            .map(|s| (fit.value_at(s.at_ms) - s.value).powi(2))
            .sum();
        fit.rms_error = (sq / series.len() as f64).sqrt();
        Some(fit)
    }

    /// The fitted level at `t_ms`, g/L (never below 0).
    pub fn value_at(&self, t_ms: i64) -> f64 {
        let row = basis(t_ms, self.origin_ms);
        row.iter()
            .zip(&self.coefficients)
            .map(|(a, b)| a * b)
            .sum::<f64>()
            .max(0.0)
    }

    /// The windows in `[from_ms, from_ms + horizon_ms]` when the level is expected inside
    /// `range` (`[low, high)` g/L), on a 10-minute grid. A window whose best level is inside
    /// by twice the fit's error is high confidence, by once medium, otherwise low; confidence
    /// also falls a step for the second day.
    pub fn windows(&self, from_ms: i64, horizon_ms: i64, range: [f64; 2]) -> Vec<Window> {
        const STEP: i64 = 10 * 60_000;
        let margin_of = |v: f64| (v - range[0]).min(range[1] - v);
        let mut out: Vec<Window> = Vec::new();
        let mut open: Option<Window> = None;
        let mut t = from_ms;
        while t <= from_ms + horizon_ms {
            let v = self.value_at(t);
            if v >= range[0] && v < range[1] {
                let w = open.get_or_insert(Window {
                    start_ms: t,
                    end_ms: t,
                    best: v,
                    confidence: Confidence::Low,
                });
                w.end_ms = t;
                if margin_of(v) > margin_of(w.best) {
                    w.best = v;
                }
            } else if let Some(w) = open.take() {
                out.push(w);
            }
            t += STEP;
        }
        out.extend(open);
        for w in &mut out {
            let margin = margin_of(w.best);
            let mut c = if margin >= 2.0 * self.rms_error {
                Confidence::High
            } else if margin >= self.rms_error {
                Confidence::Medium
            } else {
                Confidence::Low
            };
            if w.start_ms - from_ms > DAY_MS {
                c = match c {
                    Confidence::High => Confidence::Medium,
                    _ => Confidence::Low,
                };
            }
            w.confidence = c;
        }
        out
    }
}

/// The windows when the level is expected inside `range` (the use's safe range) in the 48
/// hours after `now_ms`, from the readings of the 7 days before it. `None` when they are too
/// few to fit the tide.
pub fn forecast(series: &[Sample], now_ms: i64, range: [f64; 2]) -> Option<Forecast> {
    let week: Vec<Sample> = series
        .iter()
        .filter(|s| s.at_ms > now_ms - 7 * DAY_MS && s.at_ms <= now_ms)
        .copied()
        .collect();
    let fit = TideFit::fit(&week)?;
    Some(Forecast {
        windows: fit.windows(now_ms, 2 * DAY_MS, range),
        rms_error: fit.rms_error,
        samples: fit.samples,
    })
}

/// How a forecast did against what happened: of the readings of the 48 hours after `at_ms`,
/// the share where "inside the range" was predicted rightly (`hit_rate`), and the share of
/// those truly inside that a window covered (`fresh_found`). Both in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BackTest {
    pub hit_rate: f64,
    pub fresh_found: f64,
    pub slots: usize,
}

/// Forecasts from the readings before `at_ms` and scores it against the readings after.
pub fn back_test(series: &[Sample], at_ms: i64, range: [f64; 2]) -> Option<BackTest> {
    let past: Vec<Sample> = series
        .iter()
        .filter(|s| s.at_ms <= at_ms)
        .copied()
        .collect();
    let f = forecast(&past, at_ms, range)?;
    let future: Vec<&Sample> = series
        .iter()
        .filter(|s| s.at_ms > at_ms && s.at_ms <= at_ms + 2 * DAY_MS)
        .collect();
    if future.is_empty() {
        return None;
    }
    let predicted_fresh = |t: i64| {
        f.windows
            .iter()
            .any(|w| t >= w.start_ms && t < w.end_ms + 10 * 60_000)
    };
    let mut right = 0;
    let (mut fresh, mut fresh_found) = (0, 0);
    for s in &future {
        let actual = s.value >= range[0] && s.value < range[1];
        let predicted = predicted_fresh(s.at_ms);
        right += usize::from(actual == predicted);
        if actual {
            fresh += 1;
            fresh_found += usize::from(predicted);
        }
    }
    Some(BackTest {
        hit_rate: right as f64 / future.len() as f64,
        fresh_found: if fresh == 0 {
            1.0
        } else {
            fresh_found as f64 / fresh as f64
        },
        slots: future.len(),
    })
}

/// An alert subscription: a station, a use, and where its alerts stand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub station_id: String,
    pub use_id: String,
    pub state: AlertState,
}

/// A change against an earlier reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub then: Sample,
    /// Now minus then, g/L.
    pub change: f64,
}

/// Everything the salinity screen shows for a station and a use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalinityView {
    pub station_id: String,
    pub salinity_use: SalinityUse,
    pub assessment: Assessment,
    /// The newest reading is labelled simulated.
    pub simulated: bool,
    /// The readings of the last 24 hours and 7 days, oldest first.
    pub day: Vec<Sample>,
    pub week: Vec<Sample>,
    /// Stretches of the week without readings for longer than `gap_ms`.
    pub gaps: Vec<(i64, i64)>,
    /// How far apart two readings must be for the stretch between them to count as a gap:
    /// the stale limit, or two and a half of the station's usual steps when that is longer.
    pub gap_ms: i64,
    /// The highest reading of each of the last 7 local days: (day start, g/L).
    pub daily_max: Vec<(i64, f64)>,
    /// Against the reading nearest this time yesterday.
    pub since_yesterday: Option<Change>,
    /// The windows when the level is expected inside the use's safe range.
    pub forecast: Option<Forecast>,
    pub subscribed: bool,
    pub now_ms: i64,
    pub stale_after_ms: i64,
}

/// Vietnam's offset from UTC in minutes (UTC+7, no daylight saving): local days.
pub const VIETNAM_OFFSET_MINUTES: i32 = 7 * 60;

/// The screen's view from a station's salinity history (oldest first).
pub fn view(
    station_id: &str,
    u: &SalinityUse,
    history: &[Sample],
    now_ms: i64,
    stale_after_ms: i64,
    simulated: bool,
    subscribed: bool,
) -> SalinityView {
    let upto: Vec<Sample> = history
        .iter()
        .filter(|s| s.at_ms <= now_ms + FUTURE_TOLERANCE_MS)
        .copied()
        .collect();
    let latest = upto.last().copied();
    let before = latest.and_then(|l| day_before(&upto, l));
    let assessment = assess(u, latest, before, now_ms, stale_after_ms);
    let since = |ms: i64| -> Vec<Sample> {
        upto.iter()
            .filter(|s| s.at_ms > now_ms - ms)
            .copied()
            .collect()
    };
    let week = since(7 * DAY_MS);
    let mut steps: Vec<i64> = week.windows(2).map(|w| w[1].at_ms - w[0].at_ms).collect();
    steps.sort_unstable();
    let usual_step = steps.get(steps.len() / 2).copied().unwrap_or(0);
    let gap_ms = stale_after_ms.max(usual_step * 5 / 2);
    let mut gaps = gaps(&week, gap_ms);
    // The stretch from the newest reading to now, when it is longer than the limit.
    match latest {
        Some(l) if now_ms - l.at_ms > gap_ms => gaps.push((l.at_ms, now_ms)),
        None => gaps.push((now_ms - 7 * DAY_MS, now_ms)),
        _ => {}
    }
    let since_yesterday = change_since(&upto, 1).map(|(then, change)| Change { then, change });
    // A forecast from stale data would present the past's tide as today's: none then.
    let forecast = if assessment.verdict == Verdict::Unknown {
        None
    } else {
        forecast(&upto, now_ms, u.safe)
    };
    SalinityView {
        station_id: station_id.to_owned(),
        salinity_use: u.clone(),
        assessment,
        simulated,
        day: since(DAY_MS),
        daily_max: daily_maxima(&week, VIETNAM_OFFSET_MINUTES),
        week,
        gaps,
        gap_ms,
        since_yesterday,
        forecast,
        subscribed,
        now_ms,
        stale_after_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guide() -> SalinityGuide {
        serde_json::from_str(include_str!("../../assets/cities/my-tho/salinity.json"))
            .expect("the pack's salinity guide")
    }

    fn sample(at_ms: i64, value: f64) -> Sample {
        Sample { at_ms, value }
    }

    const NOW: i64 = 1_740_000_000_000;
    const STALE: i64 = 30 * 60_000;

    #[test]
    fn the_packs_guide_is_valid() {
        let g = guide();
        assert_eq!(g.validate(), Ok(()));
        for id in [
            "rice_sowing",
            "rice_tillering",
            "rice_booting_heading",
            "durian",
            "fruit_trees",
            "vegetables",
            "shrimp",
            "household",
        ] {
            assert!(g.use_by_id(id).is_some(), "{id}");
        }
    }

    #[test]
    fn verdicts_at_the_edges_of_every_limit() {
        let g = guide();
        let v = |id: &str, value: f64| {
            let u = g.use_by_id(id).expect("use");
            assess(u, Some(sample(NOW - 60_000, value)), None, NOW, STALE).verdict
        };
        use Verdict::{Caution, DoNotPump, Safe};
        // (use, value g/L, verdict): MARD: no sowing above 3 g/L; booting/heading only as an
        // emergency below 2; 4 harmful to rice and fruit trees; SOFRI: durian below 0.5,
        // other fruit trees below 1; FAO-29 bands for vegetables; WHO taste for household.
        let table: &[(&str, f64, Verdict)] = &[
            ("rice_sowing", 0.0, Safe),
            ("rice_sowing", 0.999, Safe),
            ("rice_sowing", 1.0, Caution),
            ("rice_sowing", 2.999, Caution),
            ("rice_sowing", 3.0, DoNotPump),
            ("rice_tillering", 0.99, Safe),
            ("rice_tillering", 3.99, Caution),
            ("rice_tillering", 4.0, DoNotPump),
            ("rice_booting_heading", 0.99, Safe),
            ("rice_booting_heading", 1.0, Caution),
            ("rice_booting_heading", 1.999, Caution),
            ("rice_booting_heading", 2.0, DoNotPump),
            ("durian", 0.49, Safe),
            ("durian", 0.5, Caution),
            ("durian", 1.0, DoNotPump),
            ("fruit_trees", 0.99, Safe),
            ("fruit_trees", 1.0, Caution),
            ("fruit_trees", 4.0, DoNotPump),
            ("vegetables", 0.44, Safe),
            ("vegetables", 0.45, Caution),
            ("vegetables", 1.92, DoNotPump),
            ("household", 0.59, Safe),
            ("household", 0.6, Caution),
            ("household", 1.0, DoNotPump),
            ("shrimp", 4.99, DoNotPump),
            ("shrimp", 5.0, Caution),
            ("shrimp", 10.0, Safe),
            ("shrimp", 24.99, Safe),
            ("shrimp", 25.0, Caution),
            ("shrimp", 35.0, DoNotPump),
        ];
        for (id, value, expected) in table {
            assert_eq!(v(id, *value), *expected, "{id} at {value} g/L");
        }
    }

    #[test]
    fn a_stale_or_future_or_missing_reading_is_never_safe() {
        let g = guide();
        for u in &g.uses {
            let fresh_enough = u.safe[0] + (u.safe[1] - u.safe[0]) / 2.0;
            let ok = assess(u, Some(sample(NOW - STALE, fresh_enough)), None, NOW, STALE);
            assert_eq!(
                ok.verdict,
                Verdict::Safe,
                "{}: at the limit it is still current",
                u.id
            );
            let old = assess(
                u,
                Some(sample(NOW - STALE - 1, fresh_enough)),
                None,
                NOW,
                STALE,
            );
            assert_eq!(old.verdict, Verdict::Unknown, "{}", u.id);
            assert_eq!(old.reasons, vec![Reason::Stale { age_ms: STALE + 1 }]);
            let ahead = assess(
                u,
                Some(sample(NOW + 6 * 60_000, fresh_enough)),
                None,
                NOW,
                STALE,
            );
            assert_eq!(ahead.verdict, Verdict::Unknown);
            assert_eq!(assess(u, None, None, NOW, STALE).verdict, Verdict::Unknown);
        }
    }

    #[test]
    fn shrimp_mind_a_sudden_change_as_much_as_the_level() {
        let g = guide();
        let shrimp = g.use_by_id("shrimp").expect("shrimp");
        let [caution, do_not] = shrimp.change_24h.expect("a change rule");
        let at = |before: f64, now: f64, hours: i64| {
            assess(
                shrimp,
                Some(sample(NOW, now)),
                Some(sample(NOW - hours * HOUR_MS, before)),
                NOW,
                STALE,
            )
        };
        assert_eq!(at(15.0, 15.0 + caution - 0.01, 24).verdict, Verdict::Safe);
        assert_eq!(at(15.0, 15.0 + caution, 24).verdict, Verdict::Caution);
        let sharp = at(20.0, 20.0 - do_not, 24);
        assert_eq!(sharp.verdict, Verdict::DoNotPump);
        assert!(matches!(sharp.reasons[1], Reason::SuddenChange { .. }));
        // A reading 30 hours before is no day-before: the change is not judged.
        assert_eq!(at(20.0, 20.0 - do_not, 30).verdict, Verdict::Safe);
    }

    #[test]
    fn alerts_fire_once_each_way_and_a_wobble_on_the_line_is_quiet() {
        let g = guide();
        let u = g.use_by_id("rice_booting_heading").expect("use");
        let mut state = AlertState::default();
        let mut alerts = Vec::new();
        // Rising past 2 g/L, wobbling on it, falling to 1 (caution), wobbling on 1, then fresh.
        let values = [
            0.5, 1.2, 1.9, 2.05, 1.97, 2.02, 1.98, 2.1, 1.5, 1.02, 0.98, 1.01, 0.97, 0.85, 0.9,
            0.99, 1.03, 0.8, 2.2,
        ];
        for (i, v) in values.iter().enumerate() {
            let (next, alert) = step_alert(u, state, sample(NOW + i as i64 * 600_000, *v), None);
            state = next;
            alerts.extend(alert.map(|a| (i, a)));
        }
        let kinds: Vec<(usize, &str)> = alerts
            .iter()
            .map(|(i, a)| {
                (
                    *i,
                    match a {
                        Alert::DoNotPump { .. } => "do-not-pump",
                        Alert::SafeAgain { .. } => "safe-again",
                        Alert::SuddenChange { .. } => "change",
                    },
                )
            })
            .collect();
        // Into "do not pump" at 2.05; back to safe only at 0.85 (1 − hysteresis 0.1); then
        // "do not pump" again at 2.2.
        assert_eq!(
            kinds,
            vec![(3, "do-not-pump"), (13, "safe-again"), (18, "do-not-pump")]
        );
        // A reading already considered changes nothing (a restart replays from the last one).
        let replay = step_alert(u, state, sample(NOW, 0.1), None);
        assert_eq!(replay, (state, None));
    }

    #[test]
    fn a_sudden_change_alerts_once_until_it_settles() {
        let g = guide();
        let u = g.use_by_id("shrimp").expect("shrimp");
        let [caution, _] = u.change_24h.expect("rule");
        let mut state = AlertState::default();
        let mut n = 0;
        for (i, change) in [
            0.0,
            caution + 0.5,
            caution + 1.0,
            caution - 0.01,
            caution - u.hysteresis - 0.1,
            caution + 0.2,
        ]
        .iter()
        .enumerate()
        {
            let t = NOW + i as i64 * HOUR_MS;
            let (next, alert) = step_alert(
                u,
                state,
                sample(t, 15.0 + change),
                Some(sample(t - DAY_MS, 15.0)),
            );
            state = next;
            n += usize::from(matches!(alert, Some(Alert::SuddenChange { .. })));
        }
        assert_eq!(n, 2, "once, re-armed when settled, then once more");
    }

    /// A tide like the Tiền river's: mean, trend, M2, S2, K1, O1.
    fn river(t_ms: i64) -> f64 {
        let h = t_ms as f64 / HOUR_MS as f64;
        let tau = std::f64::consts::TAU;
        (1.4 * (1.0
            + 0.4 * (tau * h / 12.4206).sin()
            + 0.12 * (tau * h / 12.0 + 1.0).sin()
            + 0.15 * (tau * h / 23.9345 + 2.0).sin()
            + 0.08 * (tau * h / 25.8193 + 3.0).sin())
            + 0.01 * (t_ms - NOW) as f64 / DAY_MS as f64)
            .max(0.0)
    }

    #[test]
    fn the_fit_recovers_a_clean_tide_and_ignores_a_spike() {
        let mut series: Vec<Sample> = (0..7 * 144)
            .map(|i| {
                let t = NOW - 7 * DAY_MS + i * 600_000;
                sample(t, river(t))
            })
            .collect();
        series[500].value *= 3.0;
        let fit = TideFit::fit(&series).expect("fit");
        assert!(fit.rms_error < 0.01, "rms {}", fit.rms_error);
        for hours in [1, 7, 23, 47] {
            let t = NOW + hours * HOUR_MS;
            assert!((fit.value_at(t) - river(t)).abs() < 0.03, "{hours} h ahead");
        }
        let f = forecast(&series, NOW, [0.0, 1.2]).expect("forecast");
        assert!(!f.windows.is_empty());
        assert!(
            f.windows
                .iter()
                .all(|w| w.start_ms >= NOW && w.end_ms <= NOW + 2 * DAY_MS)
        );
        assert!(
            f.windows
                .iter()
                .all(|w| river(w.start_ms + (w.end_ms - w.start_ms) / 2) < 1.2)
        );
    }

    #[test]
    fn too_few_readings_give_no_forecast() {
        let few: Vec<Sample> = (0..20)
            .map(|i| sample(NOW - i * HOUR_MS, 1.0))
            .rev()
            .collect();
        assert_eq!(forecast(&few, NOW, [0.0, 1.0]), None);
        assert_eq!(forecast(&[], NOW, [0.0, 1.0]), None);
    }

    #[test]
    fn gaps_are_longer_than_the_stale_limit_or_the_usual_step() {
        let g = guide();
        let u = g.use_by_id("rice_sowing").expect("use");
        // Every 10 minutes for two days, with a 3-hour hole; the stale limit is 20 s (a test's).
        let series: Vec<Sample> = (0..288)
            .filter(|i| !(100..118).contains(i))
            .map(|i| sample(NOW - (287 - i) * 600_000, 0.5))
            .collect();
        let v = view("s", u, &series, NOW, 20_000, false, false);
        assert_eq!(v.gap_ms, 25 * 60_000, "two and a half steps");
        assert_eq!(v.gaps.len(), 1, "{:?}", v.gaps);
        let v = view("s", u, &series, NOW, 4 * 3_600_000, false, false);
        assert!(v.gaps.is_empty(), "a 3-hour hole is within a 4-hour limit");
    }

    #[test]
    fn trend_figures() {
        let series: Vec<Sample> = (0..3 * 24)
            .map(|h| sample(NOW - (71 - h) * HOUR_MS, h as f64))
            .collect();
        let (then, change) = change_since(&series, 1).expect("yesterday");
        assert_eq!(then.at_ms, NOW - DAY_MS);
        assert_eq!(change, 24.0);
        assert_eq!(change_since(&series, 365), None, "no data a year ago");
        let maxima = daily_maxima(&series, 7 * 60);
        assert!(maxima.windows(2).all(|w| w[1].0 - w[0].0 == DAY_MS));
        assert_eq!(maxima.last().map(|m| m.1), Some(71.0));
        let holey = vec![
            sample(0, 1.0),
            sample(600_000, 1.0),
            sample(5 * HOUR_MS, 1.0),
        ];
        assert_eq!(gaps(&holey, 30 * 60_000), vec![(600_000, 5 * HOUR_MS)]);
    }
}
