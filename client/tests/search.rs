//! One search box over everything the app lists, on the device, offline: the bundled pack in
//! a real store, found however a Vietnamese name is typed.

mod common;

use citizen_core::Position;
use citizen_core::views::FoundKind;
use common::device;
use unicode_normalization::UnicodeNormalization as _;

#[tokio::test]
async fn chua_vinh_trang_is_found_however_it_is_typed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = device(&dir.path().join("phone.db")).await;
    let nfd: String = "Chùa Vĩnh Tràng".nfd().collect();
    for query in [
        "vinh trang",
        "Vĩnh Tràng",
        "VINH TRANG",
        "chua vinh trang",
        nfd.as_str(),
        "vinh tr",
        "vinh trnag",
    ] {
        let found = store.search(query, None, 10).await.expect("search");
        assert_eq!(
            found.first().map(|f| (f.kind, f.id.as_str())),
            Some((FoundKind::Place, "mt-chua-vinh-trang")),
            "{query:?}: {found:?}"
        );
    }
}

#[tokio::test]
async fn one_box_finds_every_kind_and_nearer_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = device(&dir.path().join("phone.db")).await;
    let kinds = |found: &[citizen_core::views::Found]| -> Vec<FoundKind> {
        found.iter().map(|f| f.kind).collect()
    };
    // "đ" is typed as "d".
    let found = store.search("dong tam", None, 10).await.expect("search");
    assert!(
        found.iter().any(|f| f.name.vi.contains("Đồng Tâm")),
        "{found:?}"
    );
    let wifi = store.search("wifi", None, 500).await.expect("search");
    assert!(kinds(&wifi).contains(&FoundKind::Hotspot));
    assert!(!kinds(&store.search("khai sinh", None, 10).await.expect("search")).is_empty());
    // From a point, the nearer of equal matches comes first, with its distance.
    let from = Position {
        lon: 106.3650,
        lat: 10.3560,
    };
    let near = store.search("wifi", Some(from), 500).await.expect("search");
    let distances: Vec<f64> = near
        .iter()
        .filter(|f| f.kind == FoundKind::Hotspot)
        .map(|f| f.distance_m.expect("a hotspot has a place"))
        .collect();
    assert!(distances.len() > 1);
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert!(store.search("", None, 10).await.expect("search").is_empty());
}

#[tokio::test]
async fn a_result_opens_its_details_with_the_walk_to_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = device(&dir.path().join("phone.db")).await;
    let centre = common::pack().city.center();
    let pagoda = store
        .details(FoundKind::Place, "mt-chua-vinh-trang", Some(centre))
        .await
        .expect("details")
        .expect("the pagoda");
    assert!(pagoda.name.vi.contains("Vĩnh Tràng"));
    assert!(!pagoda.address.ward.is_empty(), "a post-2025 ward");
    let metres = pagoda.distance_m.expect("measured");
    assert!(metres > 0.0 && metres < 10_000.0, "{metres} m");
    assert_eq!(
        pagoda.walking_minutes,
        Some(citizen_core::views::walking_minutes(metres))
    );
    assert_eq!(pagoda.opening_hours, None, "not known for the pagoda");
    // Where OpenStreetMap has them, the opening hours come along.
    let pho = store
        .details(FoundKind::Place, "osm-node-10227734674", Some(centre))
        .await
        .expect("details")
        .expect("the phở shop");
    assert_eq!(pho.opening_hours.as_deref(), Some("Mo-Su 06:00-10:00"));
    let hotspot = store.hotspots().await.expect("hotspots").remove(0);
    let wifi = store
        .details(FoundKind::Hotspot, &hotspot.id, None)
        .await
        .expect("details")
        .expect("the hotspot");
    assert_eq!(wifi.ssid, Some(hotspot.ssid));
    assert_eq!(wifi.session_minutes, Some(hotspot.session_minutes));
    assert_eq!(wifi.distance_m, None, "nothing to measure from");
    assert_eq!(
        store
            .details(FoundKind::Place, "no-such-place", None)
            .await
            .expect("details"),
        None
    );
}
