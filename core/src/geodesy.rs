//! Distances on the Earth between positions of the city pack.

use geo::{Distance, Haversine, Point};

use crate::city::Position;

/// Great-circle distance in metres.
pub fn distance_m(a: Position, b: Position) -> f64 {
    Haversine.distance(Point::new(a.lon, a.lat), Point::new(b.lon, b.lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_between_two_known_points() {
        // Vĩnh Tràng pagoda to Lạc Hồng garden in Mỹ Tho: about 2.3 km apart.
        let pagoda = Position {
            lon: 106.3850,
            lat: 10.3620,
        };
        let garden = Position {
            lon: 106.3640,
            lat: 10.3517,
        };
        let d = distance_m(pagoda, garden);
        assert!((2_300.0..2_800.0).contains(&d), "unexpected distance {d}");
        assert!(
            distance_m(pagoda, pagoda).abs() < 1e-6,
            "a point is 0 m from itself"
        );
    }
}
