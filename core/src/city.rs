//! The city pack: the reference data a city ships (places, wifi, stations, departments,
//! report categories, procedures), its file format and its validation.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::sync::Entity;
use crate::text::Localized;

/// WGS84 longitude and latitude in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    pub lon: f64,
    pub lat: f64,
}

/// A postal address in the units in force since 1 July 2025, with the old ward kept because
/// people still use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    pub street: String,
    pub ward: String,
    pub ward_before_2025: Option<String>,
    pub province: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CityInfo {
    pub id: String,
    pub version: String,
    pub name: Localized,
    pub province: Localized,
    pub former_province: Localized,
    /// `[lon, lat]` of the city centre.
    pub center: [f64; 2],
    /// `[min_lon, min_lat, max_lon, max_lat]`: the area the city serves.
    pub bbox: [f64; 4],
    pub timezone: String,
    pub wifi_session_minutes: u32,
    pub report_handling_working_days: u32,
    pub attribution: String,
    /// The file name, in the city pack's folder, of a street-level PMTiles pack in
    /// Protomaps' basemap schema that the gateway offers for download; none when the city has
    /// no street extract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_pack: Option<String>,
    /// A vector tile source (`https://…/{z}/{x}/{y}`, Protomaps' schema) whose tiles the app
    /// keeps as the resident views them; the gateway's street pack when not set. Only name a
    /// server whose terms allow apps to cache what they show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tile_source: Option<String>,
}

impl CityInfo {
    pub fn center(&self) -> Position {
        Position {
            lon: self.center[0],
            lat: self.center[1],
        }
    }

    pub fn contains(&self, p: Position) -> bool {
        let [min_lon, min_lat, max_lon, max_lat] = self.bbox;
        (min_lon..=max_lon).contains(&p.lon) && (min_lat..=max_lat).contains(&p.lat)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    Attraction,
    Lodging,
    Food,
    Market,
    Temple,
    Tour,
    Ferry,
}

impl PlaceKind {
    pub const ALL: [PlaceKind; 7] = [
        PlaceKind::Attraction,
        PlaceKind::Lodging,
        PlaceKind::Food,
        PlaceKind::Market,
        PlaceKind::Temple,
        PlaceKind::Tour,
        PlaceKind::Ferry,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PlaceKind::Attraction => "attraction",
            PlaceKind::Lodging => "lodging",
            PlaceKind::Food => "food",
            PlaceKind::Market => "market",
            PlaceKind::Temple => "temple",
            PlaceKind::Tour => "tour",
            PlaceKind::Ferry => "ferry",
        }
    }

    /// The translation key of the kind's name.
    pub fn message_key(self) -> &'static str {
        match self {
            PlaceKind::Attraction => "kind-attraction",
            PlaceKind::Lodging => "kind-lodging",
            PlaceKind::Food => "kind-food",
            PlaceKind::Market => "kind-market",
            PlaceKind::Temple => "kind-temple",
            PlaceKind::Tour => "kind-tour",
            PlaceKind::Ferry => "kind-ferry",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Place {
    pub id: String,
    pub kind: PlaceKind,
    pub name: Localized,
    pub description: Localized,
    pub address: Address,
    /// `osm` (© OpenStreetMap contributors) or `manual`.
    pub source: String,
    pub position: Position,
    /// Opening hours in OpenStreetMap's `opening_hours` syntax (`Mo-Su 06:00-10:00`), where
    /// known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<String>,
    /// A phone number as the place publishes it, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    TouristSite,
    Stop,
    School,
    PublicSpace,
}

impl SiteKind {
    pub const ALL: [SiteKind; 4] = [
        SiteKind::TouristSite,
        SiteKind::Stop,
        SiteKind::School,
        SiteKind::PublicSpace,
    ];

    /// The translation key of the kind of site.
    pub fn message_key(self) -> &'static str {
        match self {
            SiteKind::TouristSite => "site-tourist_site",
            SiteKind::Stop => "site-stop",
            SiteKind::School => "site-school",
            SiteKind::PublicSpace => "site-public_space",
        }
    }
}

/// A free public wifi hotspot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hotspot {
    pub id: String,
    pub name: Localized,
    pub site_kind: SiteKind,
    pub ssid: String,
    pub session_minutes: u32,
    pub address: Address,
    pub position: Position,
}

/// A quantity a monitoring station measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Parameter {
    pub code: String,
    /// The unit as shown to people (`g/L`, `°C`; empty for pH).
    pub unit: String,
    pub name: Localized,
    /// The unit's code in UCUM (`g/L`, `[pH]`, `Cel`): SensorThings' `unitOfMeasurement`.
    pub ucum: String,
    /// A URI defining the quantity: SensorThings' ObservedProperty `definition`.
    pub definition: String,
    /// The physically possible values `[min, max]` in `unit`; the gateway refuses any other.
    pub valid_range: [f64; 2],
}

/// A river monitoring station (salinity, pH, water temperature).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Station {
    pub id: String,
    pub name: Localized,
    pub river: Localized,
    pub km_from_mouth: f64,
    pub address: Address,
    pub parameters: Vec<Parameter>,
    /// Shortest and longest time between two readings, in minutes.
    pub update_interval_minutes: [u32; 2],
    /// The first day the station measured (`YYYY-MM-DD`, Vietnam time): readings timed before
    /// it are refused.
    pub in_service_since: String,
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Department {
    pub id: String,
    pub name: Localized,
    /// `report_handling`, `public_service` or `both`.
    pub kind: String,
}

/// A kind of field issue a resident can report, and the department that handles it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportCategory {
    pub code: String,
    pub name: Localized,
    pub department: String,
    pub description: Localized,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnlineLevel {
    /// Fully online ("toàn trình").
    Full,
    /// Partly online ("một phần"): the result is collected in person.
    Partial,
}

impl OnlineLevel {
    pub const ALL: [OnlineLevel; 2] = [OnlineLevel::Full, OnlineLevel::Partial];

    pub fn message_key(self) -> &'static str {
        match self {
            OnlineLevel::Full => "online-full",
            OnlineLevel::Partial => "online-partial",
        }
    }
}

/// An online public-service procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Procedure {
    pub id: String,
    pub name: Localized,
    pub department: String,
    pub fee_vnd: u64,
    pub fee_note: Option<Localized>,
    pub processing_days: u32,
    pub online_level: OnlineLevel,
    pub field: Localized,
    /// The documents the procedure asks for, as the one-stop shop lists them.
    pub documents: Vec<Localized>,
}

/// The files of a city pack, as text.
#[derive(Debug, Clone, Copy)]
pub struct PackSources<'a> {
    pub city: &'a str,
    pub places: &'a str,
    pub wifi: &'a str,
    pub stations: &'a str,
    pub departments: &'a str,
    pub categories: &'a str,
    pub procedures: &'a str,
    pub salinity: &'a str,
    pub forms: &'a str,
    pub wards: &'a str,
    pub calendar: &'a str,
}

/// File names inside a city pack folder.
pub mod files {
    pub const CITY: &str = "city.json";
    pub const PLACES: &str = "places.geojson";
    pub const WIFI: &str = "wifi.geojson";
    pub const STATIONS: &str = "stations.geojson";
    pub const DEPARTMENTS: &str = "departments.json";
    pub const CATEGORIES: &str = "categories.json";
    pub const PROCEDURES: &str = "procedures.json";
    pub const SALINITY: &str = "salinity.json";
    pub const FORMS: &str = "forms.json";
    pub const WARDS: &str = "wards.json";
    pub const CALENDAR: &str = "calendar.json";
}

impl<'a> PackSources<'a> {
    /// Every file of a pack, in the order `from_texts` takes them.
    pub const FILES: [&'static str; 11] = [
        files::CITY,
        files::PLACES,
        files::WIFI,
        files::STATIONS,
        files::DEPARTMENTS,
        files::CATEGORIES,
        files::PROCEDURES,
        files::SALINITY,
        files::FORMS,
        files::WARDS,
        files::CALENDAR,
    ];

    /// The texts of the files named in `FILES`, in that order.
    pub fn from_texts(texts: [&'a str; 11]) -> PackSources<'a> {
        let [
            city,
            places,
            wifi,
            stations,
            departments,
            categories,
            procedures,
            salinity,
            forms,
            wards,
            calendar,
        ] = texts;
        PackSources {
            city,
            places,
            wifi,
            stations,
            departments,
            categories,
            procedures,
            salinity,
            forms,
            wards,
            calendar,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PackError {
    #[error("{file}: {field}: {message}")]
    Parse {
        file: &'static str,
        field: String,
        message: String,
    },
    #[error("{file}: {id}: {message}")]
    Invalid {
        file: &'static str,
        id: String,
        message: String,
    },
}

/// A whole, validated city pack.
#[derive(Debug, Clone, PartialEq)]
pub struct CityPack {
    pub city: CityInfo,
    pub places: Vec<Place>,
    pub hotspots: Vec<Hotspot>,
    pub stations: Vec<Station>,
    pub departments: Vec<Department>,
    pub categories: Vec<ReportCategory>,
    pub procedures: Vec<Procedure>,
    /// Salinity limits per use of the water, with their sources.
    pub salinity: crate::salinity::SalinityGuide,
    /// The application forms of the procedures that can be applied for online.
    pub forms: Vec<crate::form::FormSource>,
    /// The province's wards and communes (for addresses in forms).
    pub wards: crate::form::Wards,
    /// Office hours and public holidays, for due dates.
    pub calendar: crate::worktime::CalendarSource,
}

#[derive(Deserialize)]
struct FeatureCollection<P> {
    features: Vec<Feature<P>>,
}

#[derive(Deserialize)]
struct Feature<P> {
    geometry: PointGeometry,
    properties: P,
}

#[derive(Deserialize)]
struct PointGeometry {
    #[serde(rename = "type")]
    kind: String,
    coordinates: [f64; 2],
}

#[derive(Deserialize)]
struct PlaceProperties {
    id: String,
    kind: PlaceKind,
    name: Localized,
    description: Localized,
    address: Address,
    source: String,
    #[serde(default)]
    opening_hours: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Deserialize)]
struct HotspotProperties {
    id: String,
    name: Localized,
    site_kind: SiteKind,
    ssid: String,
    session_minutes: u32,
    address: Address,
}

#[derive(Deserialize)]
struct StationProperties {
    id: String,
    name: Localized,
    river: Localized,
    km_from_mouth: f64,
    address: Address,
    parameters: Vec<Parameter>,
    update_interval_minutes: [u32; 2],
    in_service_since: String,
}

fn parse<T: DeserializeOwned>(file: &'static str, text: &str) -> Result<T, PackError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| PackError::Parse {
        file,
        field: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

fn points<P: DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<Vec<(P, Position)>, PackError> {
    let collection: FeatureCollection<P> = parse(file, text)?;
    collection
        .features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            if f.geometry.kind != "Point" {
                return Err(PackError::Parse {
                    file,
                    field: format!("features[{i}].geometry.type"),
                    message: format!("expected Point, found {}", f.geometry.kind),
                });
            }
            let [lon, lat] = f.geometry.coordinates;
            Ok((f.properties, Position { lon, lat }))
        })
        .collect()
}

impl CityPack {
    /// Parses and validates a pack; the error names the file and the field or id at fault.
    pub fn parse(src: PackSources<'_>) -> Result<CityPack, PackError> {
        use files::{
            CATEGORIES as categories_f, CITY as city_f, DEPARTMENTS as departments_f,
            PLACES as places_f, PROCEDURES as procedures_f, STATIONS as stations_f, WIFI as wifi_f,
        };
        let pack = CityPack {
            city: parse(city_f, src.city)?,
            places: points::<PlaceProperties>(places_f, src.places)?
                .into_iter()
                .map(|(p, position)| Place {
                    id: p.id,
                    kind: p.kind,
                    name: p.name,
                    description: p.description,
                    address: p.address,
                    source: p.source,
                    position,
                    opening_hours: p.opening_hours,
                    phone: p.phone,
                })
                .collect(),
            hotspots: points::<HotspotProperties>(wifi_f, src.wifi)?
                .into_iter()
                .map(|(h, position)| Hotspot {
                    id: h.id,
                    name: h.name,
                    site_kind: h.site_kind,
                    ssid: h.ssid,
                    session_minutes: h.session_minutes,
                    address: h.address,
                    position,
                })
                .collect(),
            stations: points::<StationProperties>(stations_f, src.stations)?
                .into_iter()
                .map(|(s, position)| Station {
                    id: s.id,
                    name: s.name,
                    river: s.river,
                    km_from_mouth: s.km_from_mouth,
                    address: s.address,
                    parameters: s.parameters,
                    update_interval_minutes: s.update_interval_minutes,
                    in_service_since: s.in_service_since,
                    position,
                })
                .collect(),
            departments: parse(departments_f, src.departments)?,
            categories: parse(categories_f, src.categories)?,
            procedures: parse(procedures_f, src.procedures)?,
            salinity: parse(files::SALINITY, src.salinity)?,
            forms: parse(files::FORMS, src.forms)?,
            wards: parse(files::WARDS, src.wards)?,
            calendar: parse(files::CALENDAR, src.calendar)?,
        };
        pack.validate()?;
        Ok(pack)
    }

    fn validate(&self) -> Result<(), PackError> {
        use files::{
            CATEGORIES as categories_f, DEPARTMENTS as departments_f, PLACES as places_f,
            PROCEDURES as procedures_f, STATIONS as stations_f, WIFI as wifi_f,
        };
        let invalid = |file: &'static str, id: &str, message: String| PackError::Invalid {
            file,
            id: id.to_owned(),
            message,
        };
        // The street pack is a file beside city.json: a plain name, never a path.
        if let Some(name) = &self.city.street_pack {
            let plain = !name.is_empty()
                && !name.starts_with('.')
                && !name.contains(['/', '\\', ':'])
                && name.ends_with(".pmtiles");
            if !plain {
                return Err(invalid(
                    files::CITY,
                    "street_pack",
                    format!("{name:?} must be a file name ending in .pmtiles, beside city.json"),
                ));
            }
        }
        let located = self
            .places
            .iter()
            .map(|p| (places_f, &p.id, &p.name, p.position))
            .chain(
                self.hotspots
                    .iter()
                    .map(|h| (wifi_f, &h.id, &h.name, h.position)),
            )
            .chain(
                self.stations
                    .iter()
                    .map(|s| (stations_f, &s.id, &s.name, s.position)),
            );
        let mut seen = HashSet::new();
        for (file, id, name, position) in located {
            if !seen.insert((file, id.as_str())) {
                return Err(invalid(file, id, "duplicate id".into()));
            }
            if !self.city.contains(position) {
                return Err(invalid(
                    file,
                    id,
                    format!("position {position:?} outside bbox"),
                ));
            }
            if !name.is_complete() {
                return Err(invalid(file, id, "name needs both vi and en".into()));
            }
        }
        let mut quantities: std::collections::HashMap<&str, &Parameter> =
            std::collections::HashMap::new();
        for s in &self.stations {
            if crate::civil::Date::parse_iso(&s.in_service_since).is_none() {
                return Err(invalid(
                    stations_f,
                    &s.id,
                    format!(
                        "in_service_since {:?} is not a YYYY-MM-DD date",
                        s.in_service_since
                    ),
                ));
            }
            for p in &s.parameters {
                let [min, max] = p.valid_range;
                if !(min.is_finite() && max.is_finite() && min < max) {
                    return Err(invalid(
                        stations_f,
                        &s.id,
                        format!("{}: valid_range must be [min, max] with min < max", p.code),
                    ));
                }
                // A quantity is one ObservedProperty: every station must describe it alike.
                let first = *quantities.entry(&p.code).or_insert(p);
                if (
                    &first.unit,
                    &first.ucum,
                    &first.definition,
                    first.valid_range,
                ) != (&p.unit, &p.ucum, &p.definition, p.valid_range)
                {
                    return Err(invalid(
                        stations_f,
                        &s.id,
                        format!(
                            "{}: unit, ucum, definition or valid_range differ from another station's",
                            p.code
                        ),
                    ));
                }
            }
        }
        let departments: HashSet<&str> = self.departments.iter().map(|d| d.id.as_str()).collect();
        if departments.len() != self.departments.len() {
            return Err(invalid(departments_f, "", "duplicate department id".into()));
        }
        for c in &self.categories {
            if !departments.contains(c.department.as_str()) {
                return Err(invalid(categories_f, &c.code, "unknown department".into()));
            }
        }
        for p in &self.procedures {
            if !departments.contains(p.department.as_str()) {
                return Err(invalid(procedures_f, &p.id, "unknown department".into()));
            }
        }
        self.salinity
            .validate()
            .map_err(|(id, message)| invalid(files::SALINITY, &id, message))?;
        let mut with_form = HashSet::new();
        for form in &self.forms {
            if !self.procedures.iter().any(|p| p.id == form.procedure) {
                return Err(invalid(
                    files::FORMS,
                    &form.procedure,
                    "unknown procedure".into(),
                ));
            }
            if !with_form.insert(form.procedure.as_str()) {
                return Err(invalid(
                    files::FORMS,
                    &form.procedure,
                    "a second form".into(),
                ));
            }
            crate::form::Form::compile(form)
                .map_err(|e| invalid(files::FORMS, &form.procedure, e.to_string()))?;
        }
        let mut codes = HashSet::new();
        for ward in &self.wards.units {
            if !codes.insert(ward.code.as_str()) {
                return Err(invalid(files::WARDS, &ward.code, "duplicate code".into()));
            }
        }
        crate::worktime::WorkCalendar::new(&self.calendar)
            .map_err(|e| invalid(files::CALENDAR, &e.field, e.message))?;
        Ok(())
    }

    /// The compiled forms by procedure id (the pack is validated, so every form compiles).
    pub fn compiled_forms(&self) -> crate::form::Forms {
        self.forms
            .iter()
            .filter_map(|f| Some((f.procedure.clone(), crate::form::Form::compile(f).ok()?)))
            .collect()
    }

    /// The working-time calendar (the pack is validated, so it is usable).
    pub fn work_calendar(
        &self,
    ) -> Result<crate::worktime::WorkCalendar, crate::worktime::CalendarError> {
        crate::worktime::WorkCalendar::new(&self.calendar)
    }

    /// Every record of the pack as a sync entity, in a stable order.
    pub fn entities(&self) -> Vec<Entity> {
        std::iter::once(Entity::City(self.city.clone()))
            .chain(self.places.iter().cloned().map(Entity::Place))
            .chain(self.hotspots.iter().cloned().map(Entity::Hotspot))
            .chain(self.stations.iter().cloned().map(Entity::Station))
            .chain(self.departments.iter().cloned().map(Entity::Department))
            .chain(self.categories.iter().cloned().map(Entity::Category))
            .chain(self.procedures.iter().cloned().map(Entity::Procedure))
            .chain(std::iter::once(Entity::SalinityGuide(
                self.salinity.clone(),
            )))
            .chain(self.forms.iter().cloned().map(Entity::Form))
            .chain(std::iter::once(Entity::Wards(self.wards.clone())))
            .collect()
    }
}

/// The default city pack (Mỹ Tho / Tiền Giang), bundled so a first start needs no network.
pub fn default_pack_sources() -> PackSources<'static> {
    PackSources {
        city: include_str!("../../assets/cities/my-tho/city.json"),
        places: include_str!("../../assets/cities/my-tho/places.geojson"),
        wifi: include_str!("../../assets/cities/my-tho/wifi.geojson"),
        stations: include_str!("../../assets/cities/my-tho/stations.geojson"),
        departments: include_str!("../../assets/cities/my-tho/departments.json"),
        categories: include_str!("../../assets/cities/my-tho/categories.json"),
        procedures: include_str!("../../assets/cities/my-tho/procedures.json"),
        salinity: include_str!("../../assets/cities/my-tho/salinity.json"),
        forms: include_str!("../../assets/cities/my-tho/forms.json"),
        wards: include_str!("../../assets/cities/my-tho/wards.json"),
        calendar: include_str!("../../assets/cities/my-tho/calendar.json"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pack_is_complete() {
        let pack = CityPack::parse(default_pack_sources()).expect("default pack parses");
        assert!(
            pack.places.len() >= 40,
            "at least 40 places, got {}",
            pack.places.len()
        );
        for kind in PlaceKind::ALL {
            let n = pack.places.iter().filter(|p| p.kind == kind).count();
            assert!(n >= 3, "at least 3 places of kind {kind:?}, got {n}");
        }
        assert_eq!(
            pack.hotspots.len(),
            25,
            "the seeds name 25 free wifi points"
        );
        assert!(
            pack.hotspots.iter().all(|h| h.session_minutes == 20),
            "sessions last 20 minutes"
        );
        assert!(
            pack.stations.len() >= 3,
            "Mỹ Tho, Xuân Hòa and Xoài Hột stations"
        );
        assert!(pack.procedures.len() >= 10, "at least 10 procedures");
        for code in ["littering", "pavement_encroachment", "tree_trimming"] {
            assert!(
                pack.categories.iter().any(|c| c.code == code),
                "category {code} from the seeds"
            );
        }
        assert!(
            pack.city.contains(pack.city.center()),
            "the centre lies in the city"
        );
    }

    #[test]
    fn a_bad_field_is_named_with_its_file_and_path() {
        let mut src = default_pack_sources();
        let broken = src
            .wifi
            .replacen("\"session_minutes\": 20", "\"session_minutes\": \"x\"", 1);
        src.wifi = &broken;
        let err = CityPack::parse(src).expect_err("a string is not a number");
        let text = err.to_string();
        assert!(
            text.starts_with("wifi.geojson: features[0].properties.session_minutes"),
            "{text}"
        );
    }

    #[test]
    fn a_place_outside_the_city_is_refused() {
        let mut src = default_pack_sources();
        let city: CityInfo = serde_json::from_str(src.city).expect("city.json");
        let tiny = CityInfo {
            bbox: [0.0, 0.0, 1.0, 1.0],
            center: [0.5, 0.5],
            ..city
        };
        let tiny = serde_json::to_string(&tiny).expect("serialises");
        src.city = &tiny;
        let err = CityPack::parse(src).expect_err("nothing lies inside the tiny box");
        assert!(matches!(err, PackError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("outside bbox"), "{err}");
    }

    #[test]
    fn a_street_pack_is_a_file_beside_city_json() {
        let city: CityInfo = serde_json::from_str(default_pack_sources().city).expect("city.json");
        for (name, ok) in [
            ("streets.pmtiles", true),
            ("../secrets.pmtiles", false),
            ("/etc/passwd", false),
            ("streets.zip", false),
        ] {
            let with = CityInfo {
                street_pack: Some(name.into()),
                ..city.clone()
            };
            let text = serde_json::to_string(&with).expect("serialises");
            let mut src = default_pack_sources();
            src.city = &text;
            let parsed = CityPack::parse(src);
            assert_eq!(parsed.is_ok(), ok, "{name}: {parsed:?}");
        }
    }
}
