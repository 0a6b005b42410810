//! What search, the map and "near me" look things up in: built once per data version from
//! the store and kept in memory until a sync changes the data.
//!
//! - the search entries of places, hotspots, stations, procedures and report categories
//!   ([`citizen_core::search`]);
//! - an R-tree of every place and hotspot ([`citizen_core::nearest::NearIndex`]) for the k
//!   nearest, so "near me" is not a scan;
//! - the points of the map screen.

use citizen_core::Position;
use citizen_core::nearest::NearIndex;
use citizen_core::search::{Entry, SearchIndex};
use citizen_core::text::Localized;
use citizen_core::views::{FoundKind, MapGroup, MapPoint};

use crate::store::{Store, StoreError};

/// A search entry's key: what it is, its id, its name.
pub type Key = (FoundKind, String, Localized);

/// The indexes of one data version.
pub struct CityIndex {
    /// The store's `data_version` this was built from.
    pub version: i64,
    /// Every searchable thing, with an inverted index of its words.
    pub search: SearchIndex<Key>,
    /// Places and hotspots, keyed by their index in `points`.
    pub near: NearIndex<usize>,
    /// Places and hotspots as the map draws them.
    pub points: Vec<MapPoint>,
}

impl CityIndex {
    /// Reads everything from the store and builds the indexes.
    pub async fn build(store: &Store, version: i64) -> Result<CityIndex, StoreError> {
        let mut entries: Vec<Entry<Key>> = Vec::new();
        let mut points = Vec::new();
        for p in store.places(None).await? {
            let texts = [
                p.name.vi.as_str(),
                p.name.en.as_str(),
                p.address.street.as_str(),
                p.address.ward.as_str(),
            ];
            entries.push(Entry::new(
                (FoundKind::Place, p.id.clone(), p.name.clone()),
                texts,
                Some(p.position),
            ));
            points.push(MapPoint {
                kind: FoundKind::Place,
                id: p.id,
                group: MapGroup::of(p.kind),
                name: p.name,
                position: p.position,
            });
        }
        for h in store.hotspots().await? {
            let texts = [
                h.name.vi.as_str(),
                h.name.en.as_str(),
                h.ssid.as_str(),
                "wifi",
            ];
            entries.push(Entry::new(
                (FoundKind::Hotspot, h.id.clone(), h.name.clone()),
                texts,
                Some(h.position),
            ));
            points.push(MapPoint {
                kind: FoundKind::Hotspot,
                id: h.id,
                group: MapGroup::Wifi,
                name: h.name,
                position: h.position,
            });
        }
        for s in store.stations().await? {
            let texts = [s.name.vi.as_str(), s.name.en.as_str()];
            entries.push(Entry::new(
                (FoundKind::Station, s.id.clone(), s.name.clone()),
                texts,
                Some(s.position),
            ));
        }
        for p in store.procedures().await? {
            let texts = [p.name.vi.as_str(), p.name.en.as_str()];
            entries.push(Entry::new(
                (FoundKind::Procedure, p.id.clone(), p.name.clone()),
                texts,
                None,
            ));
        }
        for c in store.categories().await? {
            let texts = [c.name.vi.as_str(), c.name.en.as_str()];
            entries.push(Entry::new(
                (FoundKind::Category, c.code.clone(), c.name.clone()),
                texts,
                None,
            ));
        }
        let near = NearIndex::new(points.iter().enumerate().map(|(i, p)| (i, p.position)));
        Ok(CityIndex {
            version,
            search: SearchIndex::new(entries),
            near,
            points,
        })
    }

    /// The `limit` places and hotspots nearest to `from` whose layer is in `groups` (all
    /// when empty), nearest first, with their distance in metres.
    pub fn nearest(
        &self,
        from: Position,
        groups: &[MapGroup],
        limit: usize,
    ) -> Vec<(&MapPoint, f64)> {
        if groups.is_empty() {
            return self
                .near
                .nearest(from, limit)
                .into_iter()
                .map(|(i, d)| (&self.points[i], d))
                .collect();
        }
        // Walk outwards until enough of the wanted layers are found: the tree gives them in
        // order, so this stops as soon as `limit` match.
        self.near
            .nearest_iter(from)
            .filter(|(i, _)| groups.contains(&self.points[*i].group))
            .take(limit)
            .map(|(i, d)| (&self.points[i], d))
            .collect()
    }
}
