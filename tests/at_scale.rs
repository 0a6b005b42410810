//! Search and "near me" on any city pack: the stress pack (about 87 700 real points) in a real
//! store gives the same nearest as a brute-force scan and finds places by any spelling.
//! Speed is measured by `cargo xtask bench`, not here.

use anyhow::{Result, ensure};
use citizen_core::Position;
use citizen_core::geodesy::distance_m;
use citizen_core::views::MapGroup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stress_pack_answers_nearest_and_search_like_a_full_scan() -> Result<()> {
    let pack = citizen_e2e::stress::pack()?;
    ensure!(
        pack.places.len() > 84_000 && pack.hotspots.len() > 3_000,
        "about 87 700 points"
    );
    let dir = tempfile::tempdir()?;
    let store = citizen_client::Store::open(&dir.path().join("stress.db")).await?;
    store.bootstrap(&pack).await?;

    // Nearest: the store's answer is the scan's, in Vietnam and in New York.
    let everything: Vec<(String, Position, bool)> = pack
        .places
        .iter()
        .map(|p| (p.id.clone(), p.position, false))
        .chain(
            pack.hotspots
                .iter()
                .map(|h| (h.id.clone(), h.position, true)),
        )
        .collect();
    for from in [
        Position {
            lon: 106.36,
            lat: 10.36,
        },
        Position {
            lon: 105.85,
            lat: 21.03,
        },
        Position {
            lon: -73.99,
            lat: 40.73,
        },
    ] {
        for (groups, wifi_only) in [(vec![], false), (vec![MapGroup::Wifi], true)] {
            let got = store.nearby(from, &groups, 10).await?;
            let mut scan: Vec<(&String, f64)> = everything
                .iter()
                .filter(|(_, _, wifi)| !wifi_only || *wifi)
                .map(|(id, at, _)| (id, distance_m(from, *at)))
                .collect();
            scan.sort_by(|a, b| a.1.total_cmp(&b.1));
            ensure!(got.len() == 10, "ten found");
            for (i, found) in got.iter().enumerate() {
                let d = found.distance_m.unwrap_or(f64::NAN);
                ensure!(
                    (d - scan[i].1).abs() < 0.01,
                    "{from:?} #{i}: {} at {d} m, the scan has {} at {} m",
                    found.id,
                    scan[i].0,
                    scan[i].1
                );
            }
        }
    }

    // Search: a name with Vietnamese marks is found typed plain, and ranked first.
    let target = pack
        .places
        .iter()
        .find(|p| p.name.vi.starts_with("Chợ ") && p.name.vi.split_whitespace().count() == 3)
        .expect("a market named Chợ X Y");
    let plain = citizen_core::search::fold(&target.name.vi);
    let found = store.search(&plain, Some(target.position), 10).await?;
    ensure!(
        found.first().is_some_and(|f| f.id == target.id),
        "{plain:?} finds {:?} first: {:?}",
        target.name.vi,
        found.iter().map(|f| &f.name.vi).collect::<Vec<_>>()
    );
    store.close().await;
    Ok(())
}
