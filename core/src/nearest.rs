//! "Near me": the k nearest of many points (places, hotspots) from an R-tree (`rstar`), not a
//! scan. Points are kept as unit vectors in 3-D: the straight-line (chord) distance between
//! two of them grows exactly with the great-circle distance, so the tree's nearest are the
//! nearest on the Earth, at any latitude and across the antimeridian.

use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::Position;

/// The points of an index: a unit vector, with the caller's key and the position it came from.
type Point<K> = GeomWithData<[f64; 3], (K, Position)>;

/// A position as a unit vector (x towards 0° E on the equator, z towards the north pole).
fn unit(p: Position) -> [f64; 3] {
    let (lat, lon) = (p.lat.to_radians(), p.lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// An index of keyed positions for nearest queries.
pub struct NearIndex<K> {
    tree: RTree<Point<K>>,
}

impl<K: Clone> NearIndex<K> {
    /// Builds the index in one go (bulk loading: O(n log n)).
    pub fn new(items: impl IntoIterator<Item = (K, Position)>) -> NearIndex<K> {
        let points = items
            .into_iter()
            .map(|(key, at)| GeomWithData::new(unit(at), (key, at)))
            .collect();
        NearIndex {
            tree: RTree::bulk_load(points),
        }
    }

    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The `k` nearest keys to `from`, nearest first, each with its great-circle distance in
    /// metres ([`crate::geodesy::distance_m`]).
    pub fn nearest(&self, from: Position, k: usize) -> Vec<(K, f64)> {
        self.nearest_iter(from).take(k).collect()
    }

    /// Every key, nearest to `from` first, with its distance in metres; lazy, so taking the
    /// first few after a filter costs only what it reads.
    pub fn nearest_iter(&self, from: Position) -> impl Iterator<Item = (K, f64)> + '_ {
        let origin = unit(from);
        self.tree.nearest_neighbor_iter(&origin).map(move |point| {
            let (key, at) = &point.data;
            (key.clone(), crate::geodesy::distance_m(from, *at))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn position() -> impl Strategy<Value = Position> {
        prop_oneof![
            // Around Mỹ Tho, where most of the city's points are.
            (106.2..106.5, 10.2..10.5).prop_map(|(lon, lat)| Position { lon, lat }),
            // Anywhere, poles and the antimeridian included.
            (-180.0..180.0, -90.0..90.0).prop_map(|(lon, lat)| Position { lon, lat }),
        ]
    }

    proptest! {
        /// The index's k nearest are the brute-force k nearest (by distance: points at the
        /// same distance may come in either order).
        #[test]
        fn nearest_k_matches_a_brute_force_scan(
            points in prop::collection::vec(position(), 0..300),
            from in position(),
            k in 0_usize..20,
        ) {
            let index = NearIndex::new(points.iter().copied().enumerate());
            let got: Vec<f64> = index.nearest(from, k).into_iter().map(|(_, d)| d).collect();
            let mut all: Vec<f64> = points.iter().map(|p| crate::geodesy::distance_m(from, *p)).collect();
            all.sort_by(f64::total_cmp);
            all.truncate(k);
            prop_assert_eq!(got.len(), all.len());
            for (g, b) in got.iter().zip(&all) {
                prop_assert!((g - b).abs() <= 1e-3 + b * 1e-9, "{} m against {} m", g, b);
            }
        }
    }

    #[test]
    fn the_nearest_hotspot_of_two_is_the_nearer_one() {
        let index = NearIndex::new([
            (
                "far",
                Position {
                    lon: 106.40,
                    lat: 10.36,
                },
            ),
            (
                "near",
                Position {
                    lon: 106.366,
                    lat: 10.356,
                },
            ),
        ]);
        let from = Position {
            lon: 106.365,
            lat: 10.356,
        };
        let found = index.nearest(from, 1);
        assert_eq!(found[0].0, "near");
        assert!(
            (found[0].1 - 109.0).abs() < 5.0,
            "about 109 m: {}",
            found[0].1
        );
        assert_eq!(index.nearest(from, 5).len(), 2);
    }
}
