//! What the app's screens show, computed from the store's records: nearest hotspots, a
//! station's latest values and their age, the sync state.

use serde::{Deserialize, Serialize};

use crate::city::{CityInfo, Hotspot, Parameter, Position, Station};
use crate::geodesy::distance_m;
use crate::sync::Reading;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotspotNear {
    pub hotspot: Hotspot,
    pub distance_m: f64,
}

/// The `limit` hotspots nearest to `from`, nearest first.
pub fn nearest_hotspots(hotspots: Vec<Hotspot>, from: Position, limit: usize) -> Vec<HotspotNear> {
    let mut near: Vec<HotspotNear> = hotspots
        .into_iter()
        .map(|hotspot| HotspotNear {
            distance_m: distance_m(from, hotspot.position),
            hotspot,
        })
        .collect();
    near.sort_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then_with(|| a.hotspot.id.cmp(&b.hotspot.id))
    });
    near.truncate(limit);
    near
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestValue {
    pub parameter: Parameter,
    pub reading: Option<Reading>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationStatus {
    pub station: Station,
    pub latest: Vec<LatestValue>,
}

/// How far in the future a reading may seem before the clocks are to blame: 5 minutes, in ms.
pub const FUTURE_TOLERANCE_MS: i64 = 5 * 60_000;

/// Whether a reading can be shown as the river's state now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    Current,
    /// Older than two of the station's longest update intervals.
    Stale,
    /// Dated after now (beyond [`FUTURE_TOLERANCE_MS`]): a clock is wrong, so its age is
    /// unknown. Never shown as current.
    FromTheFuture,
}

impl StationStatus {
    /// A reading is stale once it is older than `stale_after_ms` (the city's salinity guide
    /// says 30 minutes; the app's configuration may say otherwise): the farmer must not take
    /// it for the river's state now.
    pub fn is_stale(reading: &Reading, now_ms: i64, stale_after_ms: i64) -> bool {
        now_ms - reading.observed_at_ms > stale_after_ms
    }

    /// Whether `reading` is current at `now_ms` (the gateway's time, see
    /// [`SyncStatus::gateway_now`]) with readings stale after `stale_after_ms`.
    pub fn freshness(reading: &Reading, now_ms: i64, stale_after_ms: i64) -> Freshness {
        if reading.observed_at_ms > now_ms + FUTURE_TOLERANCE_MS {
            Freshness::FromTheFuture
        } else if Self::is_stale(reading, now_ms, stale_after_ms) {
            Freshness::Stale
        } else {
            Freshness::Current
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Never reached the gateway: showing the bundled city pack.
    NeverSynced,
    Syncing,
    Synced,
    Offline,
}

/// What kept the last sync from reaching the city's gateway, so the app can say what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncProblem {
    /// No answer: no signal, or the gateway is down.
    Unreachable,
    /// Something between answered instead of the gateway, with a web page or a redirect: a
    /// public wifi's sign-in page.
    SignInPage,
    /// The gateway serves another city than the app's.
    OtherCity,
    /// The gateway answered with an error.
    Gateway,
    /// The gateway refused one operation (a 4xx answer): it will not be taken as it is. Only
    /// an outbox operation has this problem, never the sync as a whole.
    Refused,
    /// The store on this device failed.
    Storage,
    /// The device's storage is full: nothing more can be saved until space is freed.
    StorageFull,
}

impl SyncProblem {
    pub fn code(self) -> &'static str {
        match self {
            SyncProblem::Unreachable => "unreachable",
            SyncProblem::SignInPage => "sign_in_page",
            SyncProblem::OtherCity => "other_city",
            SyncProblem::Gateway => "gateway",
            SyncProblem::Refused => "refused",
            SyncProblem::Storage => "storage",
            SyncProblem::StorageFull => "storage_full",
        }
    }

    pub fn from_code(code: &str) -> Option<SyncProblem> {
        [
            SyncProblem::Unreachable,
            SyncProblem::SignInPage,
            SyncProblem::OtherCity,
            SyncProblem::Gateway,
            SyncProblem::Refused,
            SyncProblem::Storage,
            SyncProblem::StorageFull,
        ]
        .into_iter()
        .find(|p| p.code() == code)
    }

    /// The translation key of what the status line says, and what to do.
    pub fn message_key(self) -> &'static str {
        match self {
            SyncProblem::Unreachable => "sync-offline",
            SyncProblem::SignInPage => "sync-sign-in",
            SyncProblem::OtherCity => "sync-other-city",
            SyncProblem::Gateway | SyncProblem::Refused => "sync-gateway-error",
            SyncProblem::Storage => "sync-storage-error",
            SyncProblem::StorageFull => "sync-storage-full",
        }
    }

    /// The translation key of what a waiting report's line says about its last attempt, and
    /// what to do.
    pub fn delivery_key(self) -> &'static str {
        match self {
            SyncProblem::Unreachable => "report-problem-unreachable",
            SyncProblem::SignInPage => "report-problem-sign-in",
            SyncProblem::OtherCity => "report-problem-other-city",
            SyncProblem::Gateway => "report-problem-gateway",
            SyncProblem::Refused => "report-problem-refused",
            SyncProblem::Storage => "report-problem-storage",
            SyncProblem::StorageFull => "report-problem-storage-full",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub state: SyncState,
    pub last_success_ms: Option<i64>,
    /// Since when the gateway has been out of reach.
    pub offline_since_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Grows whenever synced data changed the store, so screens know to reload.
    pub data_version: i64,
    /// How far the gateway's clock is ahead of this device's, in ms (negative when behind),
    /// as measured at the last sync; 0 before any.
    #[serde(default)]
    pub clock_offset_ms: i64,
    /// What kept the last sync from the gateway, while offline.
    #[serde(default)]
    pub problem: Option<SyncProblem>,
}

impl SyncState {
    /// What the status line says. Once a request has failed, it says offline (with since
    /// when) until a request succeeds, also while a retry is under way: a gateway that
    /// accepts connections and never answers must not read as "syncing…" for ever.
    pub fn of(
        pulling: bool,
        offline_since_ms: Option<i64>,
        last_success_ms: Option<i64>,
    ) -> SyncState {
        if offline_since_ms.is_some() {
            SyncState::Offline
        } else if pulling {
            SyncState::Syncing
        } else if last_success_ms.is_some() {
            SyncState::Synced
        } else {
            SyncState::NeverSynced
        }
    }
}

impl SyncStatus {
    /// The gateway's time when this device's clock says `device_now_ms`: what every age and
    /// staleness is measured against, so a phone whose clock is days off does not show an
    /// old reading as fresh.
    pub fn gateway_now(&self, device_now_ms: i64) -> i64 {
        device_now_ms.saturating_add(self.clock_offset_ms)
    }
}

/// The home screen's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub city: CityInfo,
    pub places: u32,
    pub hotspots: u32,
    pub stations: u32,
    pub procedures: u32,
}

/// Minutes between a reading and now, never negative.
pub fn age_minutes(observed_at_ms: i64, now_ms: i64) -> i64 {
    (now_ms - observed_at_ms).max(0) / 60_000
}

/// What was recovered from a damaged store, as the resident is told it. Counts are rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Salvaged {
    /// The damaged file's new name, next to the store (kept for support; never read again).
    pub damaged_file: String,
    /// Reports not yet sent, back in the outbox.
    pub unsent_reports: u32,
    /// "Me too"s not yet sent, back in the outbox.
    pub unsent_supports: u32,
    /// Reports already sent, back in "my reports" (their handling returns with the sync).
    pub sent_reports: u32,
    pub drafts: u32,
    pub photos: u32,
    /// Photos a report or draft named that could not be read: the report goes without them.
    pub photos_lost: u32,
    /// Applications for public services not yet sent, back in the outbox (with moves on
    /// dossiers waiting to be sent).
    #[serde(default)]
    pub unsent_applications: u32,
    /// Documents attached to applications, drafts or supplements.
    #[serde(default)]
    pub documents: u32,
}

/// What a search result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundKind {
    Place,
    Hotspot,
    Station,
    Procedure,
    Category,
}

impl FoundKind {
    pub fn code(self) -> &'static str {
        match self {
            FoundKind::Place => "place",
            FoundKind::Hotspot => "hotspot",
            FoundKind::Station => "station",
            FoundKind::Procedure => "procedure",
            FoundKind::Category => "category",
        }
    }

    /// The translation key of what the result is ("a free wifi point" …).
    pub fn message_key(self) -> &'static str {
        match self {
            FoundKind::Place => "found-place",
            FoundKind::Hotspot => "found-hotspot",
            FoundKind::Station => "found-station",
            FoundKind::Procedure => "found-procedure",
            FoundKind::Category => "found-category",
        }
    }
}

/// One search result: what it is, its id among its kind, its name, and how far it is from
/// where the search was made (metres), when it has a place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    pub kind: FoundKind,
    pub id: String,
    pub name: crate::text::Localized,
    pub distance_m: Option<f64>,
}

/// A walking pace for "walking time": 1.2 m/s, the design walking speed of the Highway
/// Capacity Manual (TRB, 2010), chapter 4.
pub const WALKING_M_PER_S: f64 = 1.2;

/// Minutes to walk `metres` at [`WALKING_M_PER_S`], rounded up, at least 1.
pub fn walking_minutes(metres: f64) -> u32 {
    ((metres / WALKING_M_PER_S / 60.0).ceil() as u32).max(1)
}

/// The details of a place or a hotspot, as its sheet shows them. `distance_m` (metres) and
/// `walking_minutes` are measured from where the search was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Details {
    pub kind: FoundKind,
    pub id: String,
    pub name: crate::text::Localized,
    /// What kind of place it is, as a translation key.
    pub kind_key: String,
    pub description: Option<crate::text::Localized>,
    /// Street, ward or commune (post-2025) and province.
    pub address: crate::city::Address,
    /// A hotspot's network name and its session limit in minutes.
    pub ssid: Option<String>,
    pub session_minutes: Option<u32>,
    /// A place's opening hours (OpenStreetMap's syntax) and phone, where known.
    #[serde(default)]
    pub opening_hours: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    pub position: crate::Position,
    pub distance_m: Option<f64>,
    pub walking_minutes: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::{Address, SiteKind};
    use crate::text::Localized;

    fn hotspot(id: &str, lon: f64, lat: f64) -> Hotspot {
        Hotspot {
            id: id.into(),
            name: Localized {
                vi: id.into(),
                en: id.into(),
            },
            site_kind: SiteKind::TouristSite,
            ssid: "Free".into(),
            session_minutes: 20,
            address: Address {
                street: String::new(),
                ward: "Phường Mỹ Tho".into(),
                ward_before_2025: None,
                province: "Đồng Tháp".into(),
            },
            position: Position { lon, lat },
        }
    }

    #[test]
    fn walking_time_is_rounded_up_at_1_2_metres_a_second() {
        assert_eq!(walking_minutes(0.0), 1);
        assert_eq!(walking_minutes(72.0), 1);
        assert_eq!(walking_minutes(73.0), 2);
        assert_eq!(walking_minutes(1_440.0), 20);
    }

    #[test]
    fn nearest_hotspots_come_first_and_the_list_is_cut() {
        let from = Position {
            lon: 106.36,
            lat: 10.35,
        };
        let list = vec![
            hotspot("far", 106.40, 10.40),
            hotspot("near", 106.361, 10.351),
            hotspot("mid", 106.37, 10.36),
        ];
        let near = nearest_hotspots(list, from, 2);
        let ids: Vec<&str> = near.iter().map(|n| n.hotspot.id.as_str()).collect();
        assert_eq!(
            ids,
            ["near", "mid"],
            "sorted by distance and cut to the limit"
        );
        assert!(near[0].distance_m < near[1].distance_m);
    }

    #[test]
    fn a_reading_from_the_future_is_never_current() {
        let pack = crate::city::CityPack::parse(crate::city::default_pack_sources()).expect("pack");
        let status = StationStatus {
            station: pack.stations[0].clone(),
            latest: vec![],
        };
        let now = 1_795_143_600_000;
        let at = |observed_at_ms| Reading {
            station_id: "s".into(),
            parameter: "salinity".into(),
            observed_at_ms,
            value: 1.0,
            simulated: false,
        };
        let _ = &status;
        let limit = 30 * 60_000;
        let table = [
            (now, Freshness::Current),
            (now + FUTURE_TOLERANCE_MS, Freshness::Current),
            (now + FUTURE_TOLERANCE_MS + 1, Freshness::FromTheFuture),
            (now + 3 * 3_600_000, Freshness::FromTheFuture),
            (now - limit, Freshness::Current),
            (now - limit - 1, Freshness::Stale),
        ];
        for (observed, expected) in table {
            assert_eq!(
                StationStatus::freshness(&at(observed), now, limit),
                expected,
                "{}",
                observed - now
            );
        }
    }

    #[test]
    fn a_failed_request_reads_offline_until_one_succeeds() {
        use SyncState::*;
        let table = [
            (false, None, None, NeverSynced),
            (true, None, None, Syncing),
            (true, None, Some(5), Syncing),
            (false, None, Some(5), Synced),
            (false, Some(7), Some(5), Offline),
            (true, Some(7), Some(5), Offline),
            (true, Some(7), None, Offline),
        ];
        for (pulling, offline, success, state) in table {
            assert_eq!(
                SyncState::of(pulling, offline, success),
                state,
                "pulling {pulling}, offline since {offline:?}, synced at {success:?}"
            );
        }
    }

    #[test]
    fn ages_are_measured_on_the_gateway_s_clock() {
        let status = SyncStatus {
            state: SyncState::Synced,
            last_success_ms: None,
            offline_since_ms: None,
            last_error: None,
            data_version: 0,
            clock_offset_ms: 2 * 86_400_000,
            problem: None,
        };
        assert_eq!(
            status.gateway_now(1_000),
            1_000 + 2 * 86_400_000,
            "a phone two days behind"
        );
    }

    #[test]
    fn readings_older_than_the_limit_are_stale() {
        let pack = crate::city::CityPack::parse(crate::city::default_pack_sources()).expect("pack");
        let limit = pack.salinity.stale_after_ms();
        assert_eq!(limit, 30 * 60_000, "Mỹ Tho's guide: 30 minutes");
        let now = 1_000_000_000_000;
        let reading = |age_min: i64| Reading {
            station_id: pack.stations[0].id.clone(),
            parameter: "salinity".into(),
            observed_at_ms: now - age_min * 60_000,
            value: 1.4,
            simulated: true,
        };
        assert!(
            !StationStatus::is_stale(&reading(30), now, limit),
            "30 minutes old is current"
        );
        assert!(
            StationStatus::is_stale(&reading(31), now, limit),
            "31 minutes old is stale"
        );
        assert_eq!(age_minutes(now - 90_000, now), 1);
        assert_eq!(
            age_minutes(now + 90_000, now),
            0,
            "clock skew never shows negative ages"
        );
    }
}

/// How long ago something happened, in the unit a person would say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    JustNow,
    Minutes(i64),
    Hours(i64),
    Days(i64),
}

impl Age {
    pub fn between(then_ms: i64, now_ms: i64) -> Age {
        match age_minutes(then_ms, now_ms) {
            0 => Age::JustNow,
            m @ 1..=59 => Age::Minutes(m),
            m if m < 48 * 60 => Age::Hours(m / 60),
            m => Age::Days(m / (24 * 60)),
        }
    }
}

#[cfg(test)]
mod age_tests {
    use super::Age;

    #[test]
    fn ages_use_the_unit_a_person_would() {
        let now = 10_000_000_000;
        let table = [
            (30_000, Age::JustNow),
            (5 * 60_000, Age::Minutes(5)),
            (59 * 60_000, Age::Minutes(59)),
            (60 * 60_000, Age::Hours(1)),
            (47 * 3_600_000, Age::Hours(47)),
            (72 * 3_600_000, Age::Days(3)),
        ];
        for (ago, age) in table {
            assert_eq!(Age::between(now - ago, now), age, "{ago} ms ago");
        }
    }
}

/// The layers of the map screen the resident turns on and off: the kinds of place grouped
/// as a visitor looks for them, and the free wifi points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapGroup {
    Sights,
    Lodging,
    Food,
    /// Markets and temples/pagodas.
    Markets,
    /// Boat tours and ferries.
    Tours,
    Wifi,
}

impl MapGroup {
    pub const ALL: [MapGroup; 6] = [
        MapGroup::Sights,
        MapGroup::Lodging,
        MapGroup::Food,
        MapGroup::Markets,
        MapGroup::Tours,
        MapGroup::Wifi,
    ];

    /// The group a kind of place is shown in.
    pub fn of(kind: crate::PlaceKind) -> MapGroup {
        use crate::PlaceKind as K;
        match kind {
            K::Attraction => MapGroup::Sights,
            K::Lodging => MapGroup::Lodging,
            K::Food => MapGroup::Food,
            K::Market | K::Temple => MapGroup::Markets,
            K::Tour | K::Ferry => MapGroup::Tours,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            MapGroup::Sights => "sights",
            MapGroup::Lodging => "lodging",
            MapGroup::Food => "food",
            MapGroup::Markets => "markets",
            MapGroup::Tours => "tours",
            MapGroup::Wifi => "wifi",
        }
    }

    /// The translation key of the layer's name.
    pub fn message_key(self) -> &'static str {
        match self {
            MapGroup::Sights => "map-group-sights",
            MapGroup::Lodging => "map-group-lodging",
            MapGroup::Food => "map-group-food",
            MapGroup::Markets => "map-group-markets",
            MapGroup::Tours => "map-group-tours",
            MapGroup::Wifi => "map-group-wifi",
        }
    }
}

/// One point on the map screen: a place or a hotspot, with the layer it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapPoint {
    pub kind: FoundKind,
    pub id: String,
    pub group: MapGroup,
    pub name: crate::text::Localized,
    pub position: Position,
}

/// Where distances are measured from: the device's position when the resident has one, else
/// the city centre.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    pub position: Position,
    /// True when `position` is the resident's own; false for the city centre.
    pub mine: bool,
}

/// A device position the resident set or the platform gave: WGS 84 degrees, with where it
/// came from and when (ms since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DevicePosition {
    pub position: Position,
    pub source: crate::report::PositionSource,
    pub at_ms: i64,
}

/// Checks a position's numbers: finite, latitude −90…90, longitude −180…180; the error
/// names the field (`lat` or `lon`).
pub fn check_position(p: Position) -> Result<Position, crate::AppError> {
    if !p.lat.is_finite() || !(-90.0..=90.0).contains(&p.lat) {
        return Err(crate::AppError::new(
            crate::ErrorCode::InvalidInput,
            "lat: latitude must be a number between -90 and 90",
        ));
    }
    if !p.lon.is_finite() || !(-180.0..=180.0).contains(&p.lon) {
        return Err(crate::AppError::new(
            crate::ErrorCode::InvalidInput,
            "lon: longitude must be a number between -180 and 180",
        ));
    }
    Ok(p)
}

/// The compass bearing from `from` to `to`, in degrees clockwise from true north (0–360),
/// on the great circle (initial bearing; Sinnott, "Virtues of the Haversine", 1984).
pub fn bearing_deg(from: Position, to: Position) -> f64 {
    let (p1, p2) = (from.lat.to_radians(), to.lat.to_radians());
    let dl = (to.lon - from.lon).to_radians();
    let y = dl.sin() * p2.cos();
    let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
    (y.atan2(x).to_degrees() + 360.0) % 360.0
}

/// The eight-point compass name of a bearing (translation key `compass-n` … `compass-nw`).
pub fn compass_key(bearing: f64) -> &'static str {
    const KEYS: [&str; 8] = [
        "compass-n",
        "compass-ne",
        "compass-e",
        "compass-se",
        "compass-s",
        "compass-sw",
        "compass-w",
        "compass-nw",
    ];
    KEYS[((bearing.rem_euclid(360.0) + 22.5) / 45.0) as usize % 8]
}

#[cfg(test)]
mod map_tests {
    use super::*;

    fn at(lon: f64, lat: f64) -> Position {
        Position { lon, lat }
    }

    #[test]
    fn bearings_point_the_right_way() {
        let my_tho = at(106.36, 10.35);
        assert!(bearing_deg(my_tho, at(106.36, 10.40)).abs() < 0.01); // due north
        assert!((bearing_deg(my_tho, at(106.40, 10.35)) - 90.0).abs() < 0.1);
        assert!((bearing_deg(my_tho, at(106.36, 10.30)) - 180.0).abs() < 0.01);
        assert!((bearing_deg(my_tho, at(106.30, 10.35)) - 270.0).abs() < 0.1);
        assert_eq!(
            compass_key(bearing_deg(my_tho, at(106.40, 10.39))),
            "compass-ne"
        );
        assert_eq!(compass_key(359.0), "compass-n");
        assert_eq!(compass_key(200.0), "compass-s");
        assert_eq!(compass_key(-45.0), "compass-nw");
    }

    #[test]
    fn positions_out_of_range_name_their_field() {
        assert!(check_position(at(106.36, 10.35)).is_ok());
        let lat = check_position(at(106.36, 91.0)).expect_err("lat");
        assert!(lat.message.starts_with("lat:"), "{}", lat.message);
        let lon = check_position(at(f64::NAN, 10.0)).expect_err("lon");
        assert!(lon.message.starts_with("lon:"), "{}", lon.message);
        assert!(check_position(at(181.0, 0.0)).is_err());
    }

    #[test]
    fn every_kind_of_place_has_a_layer() {
        for kind in crate::PlaceKind::ALL {
            assert_ne!(MapGroup::of(kind), MapGroup::Wifi);
        }
        assert_eq!(MapGroup::of(crate::PlaceKind::Temple), MapGroup::Markets);
        assert_eq!(MapGroup::of(crate::PlaceKind::Ferry), MapGroup::Tours);
    }
}

/// The link that hands directions to the platform's maps app: a `geo:` URI (RFC 5870, with
/// Android's `q` parameter so a pin shows) on Android, else OpenStreetMap's walking
/// directions from `from` (or the destination alone when there is no start).
pub fn directions_link(from: Option<Position>, to: Position, android: bool) -> String {
    let (lat, lon) = (to.lat, to.lon);
    if android {
        return format!("geo:{lat:.6},{lon:.6}?q={lat:.6},{lon:.6}");
    }
    match from {
        Some(f) => format!(
            "https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot&route={:.6}%2C{:.6}%3B{lat:.6}%2C{lon:.6}",
            f.lat, f.lon
        ),
        None => format!(
            "https://www.openstreetmap.org/directions?to={lat:.6}%2C{lon:.6}#map=17/{lat:.6}/{lon:.6}"
        ),
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn directions_go_to_the_platform_or_to_openstreetmap() {
        let from = Position {
            lon: 106.36,
            lat: 10.35,
        };
        let to = Position {
            lon: 106.3425,
            lat: 10.3701,
        };
        assert_eq!(
            directions_link(Some(from), to, true),
            "geo:10.370100,106.342500?q=10.370100,106.342500"
        );
        let osm = directions_link(Some(from), to, false);
        assert!(osm.starts_with("https://www.openstreetmap.org/directions?"));
        assert!(
            osm.contains("route=10.350000%2C106.360000%3B10.370100%2C106.342500"),
            "{osm}"
        );
        assert!(directions_link(None, to, false).contains("to=10.370100%2C106.342500"));
    }
}

/// The street-level map a gateway offers (`GET /api/v1/map/street-pack`): a PMTiles file
/// in Protomaps' basemap schema, fetched from `url` (relative to the gateway; byte ranges
/// allowed, so a broken download resumes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreetPackOffer {
    /// Size of the file in bytes.
    pub bytes: u64,
    /// SHA-256 of the whole file, lower-case hex: the download is checked against it.
    pub sha256: String,
    /// Path of the file on the gateway.
    pub url: String,
}

/// Where the device stands with the street-level map: shown on the map screen.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StreetPackStatus {
    /// Installed on the device and drawn.
    pub installed: bool,
    /// What the gateway offers, when it was reached and offers one.
    pub offer: Option<StreetPackOffer>,
    /// A download is running.
    pub downloading: bool,
    /// Bytes on the device so far, of `total`.
    pub done: u64,
    pub total: u64,
    /// Why the last download stopped (unreachable, checksum mismatch…), for the screen.
    pub problem: Option<String>,
}

/// `points` as a GeoJSON FeatureCollection (RFC 7946) of Points whose properties are `kind`
/// (`place`, `hotspot`), `id`, `group` ([`MapGroup::code`]), `name_vi` and `name_en`: what the
/// map's point layers draw.
pub fn points_geojson<'a>(points: impl IntoIterator<Item = &'a MapPoint>) -> String {
    #[derive(Serialize)]
    struct Properties<'p> {
        kind: &'static str,
        id: &'p str,
        group: &'static str,
        name_vi: &'p str,
        name_en: &'p str,
    }
    #[derive(Serialize)]
    struct Geometry {
        #[serde(rename = "type")]
        kind: &'static str,
        coordinates: [f64; 2],
    }
    #[derive(Serialize)]
    struct Feature<'p> {
        #[serde(rename = "type")]
        kind: &'static str,
        properties: Properties<'p>,
        geometry: Geometry,
    }
    let mut out = String::from(r#"{"type":"FeatureCollection","features":["#);
    for (i, p) in points.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let feature = Feature {
            kind: "Feature",
            properties: Properties {
                kind: p.kind.code(),
                id: &p.id,
                group: p.group.code(),
                name_vi: &p.name.vi,
                name_en: &p.name.en,
            },
            geometry: Geometry {
                kind: "Point",
                coordinates: [p.position.lon, p.position.lat],
            },
        };
        if let Ok(text) = serde_json::to_string(&feature) {
            out.push_str(&text);
        }
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod geojson_tests {
    use super::*;

    #[test]
    fn points_are_geojson_features() {
        let point = MapPoint {
            kind: FoundKind::Hotspot,
            id: "wifi-01".into(),
            group: MapGroup::Wifi,
            name: crate::text::Localized {
                vi: "Công viên \"Tết\"".into(),
                en: "Park".into(),
            },
            position: Position {
                lon: 106.36,
                lat: 10.35,
            },
        };
        let text = points_geojson([&point, &point]);
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(parsed["type"], "FeatureCollection");
        let feature = &parsed["features"][1];
        assert_eq!(
            feature["geometry"]["coordinates"],
            serde_json::json!([106.36, 10.35])
        );
        assert_eq!(feature["properties"]["group"], "wifi");
        assert_eq!(feature["properties"]["kind"], "hotspot");
        assert_eq!(feature["properties"]["name_vi"], "Công viên \"Tết\"");
        assert_eq!(
            points_geojson([]),
            r#"{"type":"FeatureCollection","features":[]}"#
        );
    }
}
