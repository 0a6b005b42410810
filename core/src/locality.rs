//! Where a position is, in words a resident uses: the post-2025 ward and the nearest known
//! place, from the city pack's places (the pack has no ward boundaries).

use serde::{Deserialize, Serialize};

use crate::city::{Place, Position};
use crate::geodesy::distance_m;
use crate::text::Localized;

/// A ward to pick from a list when no map can be shown, placed at its places' centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WardChoice {
    pub name: String,
    pub position: Position,
}

/// What a position is near.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Locality {
    pub ward: String,
    pub street: String,
    pub near: Localized,
    pub distance_m: f64,
}

/// Places farther than this from a position say nothing about its ward.
pub const LOCALITY_RADIUS_M: f64 = 3_000.0;

/// The wards the pack's places lie in, each at the mean position of its places, by name.
pub fn wards(places: &[Place]) -> Vec<WardChoice> {
    let mut sums: Vec<(String, f64, f64, f64)> = Vec::new();
    for p in places {
        match sums.iter_mut().find(|(w, ..)| *w == p.address.ward) {
            Some((_, lon, lat, n)) => {
                *lon += p.position.lon;
                *lat += p.position.lat;
                *n += 1.0;
            }
            None => sums.push((p.address.ward.clone(), p.position.lon, p.position.lat, 1.0)),
        }
    }
    let mut wards: Vec<WardChoice> = sums
        .into_iter()
        .map(|(name, lon, lat, n)| WardChoice {
            name,
            position: Position {
                lon: lon / n,
                lat: lat / n,
            },
        })
        .collect();
    wards.sort_by(|a, b| a.name.cmp(&b.name));
    wards
}

/// The ward and nearest place of a position, when a place is within `LOCALITY_RADIUS_M`.
pub fn locate(places: &[Place], at: Position) -> Option<Locality> {
    places
        .iter()
        .map(|p| (p, distance_m(p.position, at)))
        .filter(|(_, d)| *d <= LOCALITY_RADIUS_M)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, d)| Locality {
            ward: p.address.ward.clone(),
            street: p.address.street.clone(),
            near: p.name.clone(),
            distance_m: d,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::{CityPack, default_pack_sources};

    #[test]
    fn wards_and_localities_come_from_the_pack() {
        let pack = CityPack::parse(default_pack_sources()).expect("pack");
        let wards = wards(&pack.places);
        assert!(wards.len() >= 3, "the pack spans several wards: {wards:?}");
        assert!(
            wards.windows(2).all(|w| w[0].name < w[1].name),
            "sorted and unique"
        );
        for ward in &wards {
            assert!(
                pack.city.contains(ward.position),
                "{ward:?} inside the city"
            );
        }
        let place = &pack.places[0];
        let found = locate(&pack.places, place.position).expect("a place locates itself");
        assert_eq!(found.ward, place.address.ward);
        assert!(found.distance_m < 1.0);
        let far = Position {
            lon: 105.85,
            lat: 21.03,
        };
        assert_eq!(locate(&pack.places, far), None, "nothing near Hà Nội");
    }
}
