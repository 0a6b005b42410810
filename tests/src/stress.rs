//! The stress pack: the Mỹ Tho pack with its places and hotspots replaced by about 87 700
//! real points (84 382 OpenStreetMap points across Vietnam and 3 348 New York City wifi
//! hotspots, `assets/stress`), for the at-scale test and the benchmarks.

use std::io::Read as _;

use anyhow::{Context as _, Result};
use citizen_core::{Address, CityPack, Hotspot, Localized, Place, PlaceKind, Position, SiteKind};

use crate::root;

fn gunzip(name: &str) -> Result<Vec<u8>> {
    let path = root().join("assets/stress").join(name);
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(&path).with_context(|| path.display().to_string())?,
    )
    .read_to_end(&mut out)?;
    Ok(out)
}

/// The kind of place an OSM `key=value` tag makes.
fn kind_of(category: &str) -> PlaceKind {
    match category {
        "amenity=restaurant" | "amenity=cafe" | "amenity=fast_food" | "amenity=food_court"
        | "amenity=bar" | "amenity=pub" | "amenity=ice_cream" => PlaceKind::Food,
        "tourism=hotel"
        | "tourism=motel"
        | "tourism=guest_house"
        | "tourism=hostel"
        | "tourism=apartment"
        | "tourism=camp_site" => PlaceKind::Lodging,
        "amenity=marketplace" => PlaceKind::Market,
        "amenity=place_of_worship" => PlaceKind::Temple,
        "amenity=ferry_terminal" => PlaceKind::Ferry,
        c if c.starts_with("shop=") => PlaceKind::Market,
        _ => PlaceKind::Attraction,
    }
}

fn text(vi: &str, en: &str) -> Localized {
    Localized {
        vi: vi.to_owned(),
        en: if en.is_empty() { vi } else { en }.to_owned(),
    }
}

/// The stress pack's places (from OSM).
pub fn places() -> Result<Vec<Place>> {
    let bytes = gunzip("osm_poi_vietnam_84k.csv.gz")?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let mut places = Vec::new();
    for row in reader.records() {
        let row = row?;
        let field = |i: usize| row.get(i).unwrap_or_default();
        let (Ok(lon), Ok(lat)) = (field(1).parse::<f64>(), field(2).parse::<f64>()) else {
            continue;
        };
        let category = field(3);
        let name = if field(4).is_empty() {
            category
        } else {
            field(4)
        };
        places.push(Place {
            id: format!("osm-node-{}", field(0)),
            kind: kind_of(category),
            name: text(name, field(5)),
            description: text(category, category),
            address: Address {
                street: field(6).to_owned(),
                ward: field(7).to_owned(),
                ward_before_2025: None,
                province: String::new(),
            },
            source: "osm".into(),
            position: Position { lon, lat },
            opening_hours: Some(field(8).to_owned()).filter(|h| !h.is_empty()),
            phone: None,
        });
    }
    Ok(places)
}

/// The stress pack's hotspots (New York City's).
pub fn hotspots() -> Result<Vec<Hotspot>> {
    let bytes = gunzip("nyc_wifi_2017.csv.gz")?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(id), Some(name), Some(location), Some(lat), Some(lon), Some(ssid), Some(city)) = (
        column("OBJECTID"),
        column("NAME"),
        column("LOCATION"),
        column("LAT"),
        column("LON"),
        column("SSID"),
        column("CITY"),
    ) else {
        anyhow::bail!("nyc_wifi_2017.csv: columns missing");
    };
    let mut hotspots = Vec::new();
    for row in reader.records() {
        let row = row?;
        let field = |i: usize| row.get(i).unwrap_or_default();
        let (Ok(lat), Ok(lon)) = (field(lat).parse::<f64>(), field(lon).parse::<f64>()) else {
            continue;
        };
        hotspots.push(Hotspot {
            id: format!("nyc-wifi-{}", field(id)),
            name: text(field(name), field(name)),
            site_kind: SiteKind::PublicSpace,
            ssid: field(ssid).to_owned(),
            session_minutes: 60,
            address: Address {
                street: field(location).to_owned(),
                ward: field(city).to_owned(),
                ward_before_2025: None,
                province: "New York".into(),
            },
            position: Position { lon, lat },
        });
    }
    Ok(hotspots)
}

/// The Mỹ Tho pack with the stress points in place of its own, and a box around the world.
pub fn pack() -> Result<CityPack> {
    let mut pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    pack.places = places()?;
    pack.hotspots = hotspots()?;
    pack.city.id = "stress".into();
    pack.city.version = format!("stress-{}-{}", pack.places.len(), pack.hotspots.len());
    pack.city.bbox = [-180.0, -85.0, 180.0, 85.0];
    Ok(pack)
}
