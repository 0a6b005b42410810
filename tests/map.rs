//! The map screen, in the real app under Xvfb with the gateway down: the bundled basemap is
//! drawn (checked on the canvas's pixels against GSHHG's own land and water), search finds
//! a place, a position set on the map is remembered and "wifi near me" measures from it, and
//! directions draw a line and offer a hand-off to a maps app.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use citizen_core::{CityPack, Position};
use citizen_e2e::{
    Display, Driver, binary, click, element, eventually, free_port, quit, root, text_of, wait_text,
};
use fantoccini::Client;
use fantoccini::actions::{InputSource as _, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use geo::{Contains as _, Coord, LineString, Point, Polygon};

/// One app at a time: two WebKit pages drawing maps in software on two cores starve each
/// other (a first frame or a download's progress window missed).
static ONE_APP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// MapLibre's world is 512 CSS pixels wide at zoom 0.
const TILE: f64 = 512.0;

/// Web Mercator: CSS pixels of `p` in a world `TILE · 2^zoom` wide.
fn world_px(p: Position, zoom: f64) -> (f64, f64) {
    let size = TILE * 2f64.powf(zoom);
    let x = (p.lon + 180.0) / 360.0 * size;
    let lat = p.lat.to_radians();
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * size;
    (x, y)
}

/// The inverse of [`world_px`].
fn world_position(x: f64, y: f64, zoom: f64) -> Position {
    let size = TILE * 2f64.powf(zoom);
    let lon = x / size * 360.0 - 180.0;
    let n = std::f64::consts::PI * (1.0 - 2.0 * y / size);
    Position {
        lon,
        lat: n.sinh().atan().to_degrees(),
    }
}

/// GSHHG's polygons of one file, with each feature's `class`.
fn polygons(file: &str) -> Result<Vec<(String, Polygon<f64>)>> {
    let path = root().join("assets/basemap/sources/gshhg").join(file);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let ring = |r: &serde_json::Value| -> LineString<f64> {
        r.as_array()
            .map(|points| {
                points
                    .iter()
                    .map(|p| Coord {
                        x: p[0].as_f64().unwrap_or_default(),
                        y: p[1].as_f64().unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_else(|| LineString::new(Vec::new()))
    };
    let mut out = Vec::new();
    for f in json["features"].as_array().context("features")? {
        let rings = f["geometry"]["coordinates"].as_array().context("rings")?;
        let exterior = ring(&rings[0]);
        let holes = rings[1..].iter().map(ring).collect();
        let class = f["properties"]["class"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        out.push((class, Polygon::new(exterior, holes)));
    }
    Ok(out)
}

/// The style's fill colours of water and land, as RGB.
fn style_colours() -> Result<([u8; 3], [u8; 3])> {
    let path = root().join("target/basemap/style/light.json");
    let style: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let rgb = |hex: &str| -> Result<[u8; 3]> {
        let hex = hex.trim_start_matches('#');
        ensure!(hex.len() == 6, "colour {hex}");
        Ok([
            u8::from_str_radix(&hex[0..2], 16)?,
            u8::from_str_radix(&hex[2..4], 16)?,
            u8::from_str_radix(&hex[4..6], 16)?,
        ])
    };
    Ok((
        rgb(style["water"].as_str().context("water")?)?,
        rgb(style["earth"].as_str().context("earth")?)?,
    ))
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 12)
}

/// The map canvas's size in CSS pixels, and the RGB of each CSS pixel in `at`, read back from
/// the WebGL canvas (the map keeps its drawing buffer).
async fn canvas_pixels(app: &Client, at: &[(f64, f64)]) -> Result<((f64, f64), Vec<[u8; 3]>)> {
    let points: Vec<serde_json::Value> =
        at.iter().map(|(x, y)| serde_json::json!([x, y])).collect();
    let answer = app
        .execute(
            "const canvas = document.querySelector('#city-map canvas');
             const ratio = canvas.width / canvas.clientWidth;
             const copy = document.createElement('canvas');
             copy.width = canvas.width; copy.height = canvas.height;
             const ctx = copy.getContext('2d');
             ctx.drawImage(canvas, 0, 0);
             const pixels = arguments[0].map(([x, y]) => {
               const d = ctx.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data;
               return [d[0], d[1], d[2]];
             });
             return [canvas.clientWidth, canvas.clientHeight, pixels];",
            vec![serde_json::Value::Array(points)],
        )
        .await?;
    let size = (
        answer[0].as_f64().context("width")?,
        answer[1].as_f64().context("height")?,
    );
    let pixels = answer[2]
        .as_array()
        .context("pixels")?
        .iter()
        .map(|p| [0, 1, 2].map(|i| p[i].as_u64().unwrap_or_default().min(255) as u8))
        .collect();
    Ok((size, pixels))
}

/// From the home screen to the map's first complete frame.
async fn open_map(app: &Client) -> Result<f64> {
    wait_text(app, "#home .city-name", "Mỹ Tho").await?;
    click(app, "#go-map").await?;
    first_frame(app).await
}

/// Waits until the map has drawn its first complete frame; returns how long that took (ms).
async fn first_frame(app: &Client) -> Result<f64> {
    eventually(Duration::from_secs(30), "the map's first frame", || async {
        let el = element(app, "#city-map").await?;
        Ok(el
            .attr("data-first-frame-ms")
            .await?
            .and_then(|ms| ms.parse::<f64>().ok()))
    })
    .await
}

/// What the canvas showed where GSHHG has water or land.
struct Pixels {
    probes: usize,
    waters: usize,
    right: usize,
    /// Probes on GSHHG's islands in the river, and how many of them show land.
    island_probes: usize,
    island_right: usize,
}

impl Pixels {
    fn share(&self) -> f64 {
        self.right as f64 / self.probes.max(1) as f64
    }
}

/// Reads the map canvas on a grid, with the map centred on `centre` at `zoom`, and compares
/// each pixel with the style's water or land colour where GSHHG says which it is; points
/// within 3 px of a shore are left out (antialiased edges).
async fn basemap_pixels(
    app: &Client,
    centre: Position,
    zoom: f64,
    land: &[(String, Polygon<f64>)],
    water: &[(String, Polygon<f64>)],
) -> Result<Pixels> {
    let (size, _) = canvas_pixels(app, &[]).await?;
    let (cx, cy) = world_px(centre, zoom);
    // Some((is water, is an island)) where GSHHG knows.
    let class_at = |x: f64, y: f64| {
        let p = world_position(cx - size.0 / 2.0 + x, cy - size.1 / 2.0 + y, zoom);
        let point = Point::new(p.lon, p.lat);
        if water.iter().any(|(_, poly)| poly.contains(&point)) {
            Some((true, false))
        } else {
            land.iter()
                .find(|(_, poly)| poly.contains(&point))
                .map(|(class, _)| (false, class == "island_in_lake"))
        }
    };
    let mut probes = Vec::new();
    let mut classes = Vec::new();
    let mut y = 20.0;
    while y < size.1 - 40.0 {
        let mut x = 20.0;
        while x < size.0 - 60.0 {
            let here = class_at(x, y);
            let around = [(-3.0, 0.0), (3.0, 0.0), (0.0, -3.0), (0.0, 3.0)]
                .iter()
                .all(|(dx, dy)| class_at(x + dx, y + dy) == here);
            if let Some(class) = here
                && around
            {
                probes.push((x, y));
                classes.push(class);
            }
            x += 12.0;
        }
        y += 12.0;
    }
    let (water_rgb, earth_rgb) = style_colours()?;
    let (_, pixels) = canvas_pixels(app, &probes).await?;
    let mut found = Pixels {
        probes: probes.len(),
        waters: classes.iter().filter(|(w, _)| *w).count(),
        right: 0,
        island_probes: classes.iter().filter(|(_, i)| *i).count(),
        island_right: 0,
    };
    for (((is_water, island), rgb), at) in classes.iter().zip(&pixels).zip(&probes) {
        let want = if *is_water { water_rgb } else { earth_rgb };
        if close(*rgb, want) {
            found.right += 1;
            if *island {
                found.island_right += 1;
            }
        } else if found.right < 5 {
            eprintln!("probe {at:?}: {rgb:?}, expected {want:?}");
        }
    }
    eprintln!(
        "map pixels at zoom {zoom}: {} of {} probes have the colour GSHHG says ({:.0} %), {} of {} on the island",
        found.right,
        found.probes,
        found.share() * 100.0,
        found.island_right,
        found.island_probes
    );
    Ok(found)
}

/// Ids with their distance from `from` in metres, nearest first: the brute-force answer.
fn by_distance<'a>(
    from: Position,
    points: impl Iterator<Item = (&'a String, Position)>,
) -> Vec<(String, f64)> {
    let mut all: Vec<(String, f64)> = points
        .map(|(id, at)| (id.clone(), citizen_core::geodesy::distance_m(from, at)))
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1));
    all
}

/// A screenshot with the map in the middle of the window, into `target/e2e/<name>`.
async fn map_screenshot(app: &Client, name: &str) -> Result<()> {
    app.execute(
        "document.getElementById('city-map').scrollIntoView({ block: 'center' })",
        vec![],
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let shots = root().join("target/e2e");
    std::fs::create_dir_all(&shots)?;
    std::fs::write(shots.join(name), app.screenshot().await?)?;
    Ok(())
}

fn start(display: &Display, data: &std::path::Path) -> Result<Driver> {
    // No gateway listens here: the map must come from the device alone.
    let nowhere = format!("http://127.0.0.1:{}", free_port()?);
    Driver::start(
        display,
        binary("citizen-app", "debug")?,
        &[
            ("CITIZEN_GATEWAY_URL", nowhere),
            ("CITIZEN_DATA_DIR", data.display().to_string()),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_map_draws_the_river_finds_places_and_measures_from_the_resident() -> Result<()>
{
    let _turn = ONE_APP.lock().await;
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("app");
    let display = Display::get()?;
    let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    let centre = pack.city.center();
    let shots = root().join("target/e2e");
    std::fs::create_dir_all(&shots)?;

    let driver = start(&display, &data)?;
    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "Mỹ Tho").await?;
    click(&app, "#go-map").await?;
    let ms = first_frame(&app).await?;
    eprintln!("map: first complete frame {ms:.0} ms after the map was created");
    wait_text(&app, "#map-coarse", "sơ lược").await?;
    let attribution = wait_text(&app, ".maplibregl-ctrl-attrib", "OpenStreetMap").await?;
    for credit in ["GSHHG", "Natural Earth", "Protomaps"] {
        ensure!(
            attribution.contains(credit),
            "the map credits {credit}: {attribution}"
        );
    }
    map_screenshot(&app, "map.png").await?;
    app.execute("window.scrollTo(0, 0)", vec![]).await?;

    // Hide the points so only the basemap shows, then read the canvas where GSHHG says
    // there is water or land.
    for group in ["sights", "lodging", "food", "markets", "tours", "wifi"] {
        click(&app, &format!("button.layer[data-group='{group}']")).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let zoom = 13.0;
    let land = polygons("gshhg_f_tiengiang_land.geojson")?;
    let water = polygons("gshhg_f_tiengiang_water.geojson")?;
    let near = basemap_pixels(&app, centre, zoom, &land, &water).await?;
    ensure!(
        near.waters >= 20 && near.probes - near.waters >= 20,
        "the view at Mỹ Tho holds both river and land ({} water of {} probes)",
        near.waters,
        near.probes
    );
    ensure!(
        near.share() > 0.9,
        "the canvas shows the river and its banks where GSHHG has them"
    );
    // Two steps out, the island in the river (GSHHG's one, probably Cồn Thới Sơn) is in
    // view: drawn as land amid the water.
    for _ in 0..2 {
        click(&app, ".maplibregl-ctrl-zoom-out").await?;
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let wide = basemap_pixels(&app, centre, zoom - 2.0, &land, &water).await?;
    ensure!(
        wide.island_probes >= 5 && wide.island_right * 10 >= wide.island_probes * 9,
        "the island is drawn as land: {} of {} probes",
        wide.island_right,
        wide.island_probes
    );
    ensure!(wide.share() > 0.9, "the wider view matches GSHHG too");
    for _ in 0..2 {
        click(&app, ".maplibregl-ctrl-zoom-in").await?;
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for group in ["sights", "lodging", "food", "markets", "tours", "wifi"] {
        click(&app, &format!("button.layer[data-group='{group}']")).await?;
    }

    // With no position, distances are from the city centre; the resident sets theirs by
    // tapping the map, north-east of the centre.
    wait_text(&app, "#position-note", "trung tâm").await?;
    click(&app, "#set-position").await?;
    let canvas = element(&app, "#city-map canvas").await?;
    let (dx, dy) = (90_i64, -70_i64);
    let tap = MouseActions::new("finger".into())
        .then(PointerAction::MoveToElement {
            element: canvas,
            duration: None,
            x: dx,
            y: dy,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    app.perform_actions(tap).await?;
    let note = wait_text(&app, "#position-note", "Vị trí của bạn").await?;
    let mine = position_in(&note).with_context(|| format!("a position in {note:?}"))?;
    let (cx, cy) = world_px(centre, zoom);
    let tapped = world_position(cx + dx as f64, cy + dy as f64, zoom);
    ensure!(
        citizen_core::geodesy::distance_m(mine, tapped) < 30.0,
        "the position is where the map was tapped: {mine:?} vs {tapped:?}"
    );
    std::fs::write(shots.join("map-position.png"), app.screenshot().await?)?;

    // "Wifi near me" now measures from there: the nearest hotspot by brute force is first.
    let hotspots = by_distance(mine, pack.hotspots.iter().map(|h| (&h.id, h.position)));
    click(&app, "#back").await?;
    click(&app, "#go-wifi").await?;
    element(&app, "#wifi-origin[data-mine='true']").await?;
    let first = element(&app, "#wifi-list li.hotspot").await?;
    let id = first.attr("data-id").await?.unwrap_or_default();
    let shown: f64 = first
        .attr("data-distance-m")
        .await?
        .and_then(|d| d.parse().ok())
        .context("distance")?;
    ensure!(
        id == hotspots[0].0,
        "nearest wifi first: {id}, expected {:?}",
        hotspots[0]
    );
    ensure!(
        (shown - hotspots[0].1).abs() < 1.0,
        "its distance: {shown} vs {}",
        hotspots[0].1
    );
    ensure!(
        (shown - centre_distance(&pack, &id)).abs() > 50.0,
        "the distance is not the one from the city centre"
    );

    // Search, offline, without accents; the details sheet measures from the resident and
    // offers directions.
    click(&app, "#back").await?;
    let search = element(&app, "#search").await?;
    search.send_keys("vinh trang").await?;
    wait_text(&app, "#search-results li.found", "Vĩnh Tràng").await?;
    click(&app, "#search-results li.found button").await?;
    wait_text(&app, "#details h2", "Vĩnh Tràng").await?;
    let place = pack
        .places
        .iter()
        .find(|p| p.name.vi.contains("Vĩnh Tràng"))
        .context("Vĩnh Tràng in the pack")?;
    let sheet = element(&app, "#details-distance").await?;
    let metres: f64 = sheet
        .attr("data-distance-m")
        .await?
        .and_then(|d| d.parse().ok())
        .context("distance")?;
    let expected = citizen_core::geodesy::distance_m(mine, place.position);
    ensure!(
        (metres - expected).abs() < 1.0,
        "sheet distance {metres} vs {expected}"
    );
    wait_text(&app, "#details-distance", "Cách bạn").await?;
    let link = element(&app, "#details-open-maps")
        .await?
        .attr("data-url")
        .await?
        .unwrap_or_default();
    ensure!(
        link.starts_with(
            "https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot&route="
        ),
        "hand-off link: {link}"
    );
    click(&app, "#details-directions").await?;
    let note = wait_text(&app, "#route-note", "Vĩnh Tràng").await?;
    ensure!(
        note.contains(" m ") && note.contains("về phía") && note.contains("phút"),
        "the line's note gives distance, direction and walking time: {note}"
    );
    first_frame(&app).await?;
    map_screenshot(&app, "map-route.png").await?;
    quit(app).await?;
    drop(driver);

    // After a restart the position is remembered.
    let driver = start(&display, &data)?;
    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "Mỹ Tho").await?;
    click(&app, "#go-map").await?;
    let again = wait_text(&app, "#position-note", "Vị trí của bạn").await?;
    ensure!(position_in(&again) == Some(mine), "remembered: {again}");
    // The nearest places are listed under the map.
    element(&app, "#near-list li").await?;

    // A web view without WebGL2: the list with distances takes the map's place.
    click(&app, "#back").await?;
    app.execute(
        "const original = HTMLCanvasElement.prototype.getContext;
         HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
           return kind === 'webgl2' ? null : original.call(this, kind, ...rest);
         };",
        vec![],
    )
    .await?;
    click(&app, "#go-map").await?;
    wait_text(&app, "#map-unavailable", "danh sách").await?;
    ensure!(
        text_of(&app, "#city-map").await?.is_none(),
        "no blank map box"
    );
    let nearest = element(&app, "#near-list li.found").await?;
    let id = nearest.attr("data-id").await?.unwrap_or_default();
    let everything = by_distance(
        mine,
        pack.places
            .iter()
            .map(|p| (&p.id, p.position))
            .chain(pack.hotspots.iter().map(|h| (&h.id, h.position))),
    );
    // A hotspot at a pagoda shares its position: any of the nearest may come first.
    let tied: Vec<&String> = everything
        .iter()
        .take_while(|(_, d)| *d < everything[0].1 + 1.0)
        .map(|(id, _)| id)
        .collect();
    ensure!(
        tied.contains(&&id),
        "nearest first in the list: {id}, expected one of {tied:?}"
    );
    wait_text(&app, "#near-list li.found .distance", " m").await?;
    quit(app).await?;
    Ok(())
}

/// The `lat, lon` pair written in the position note.
fn position_in(note: &str) -> Option<Position> {
    let numbers: Vec<f64> = note
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|w| w.trim_end_matches('.').parse::<f64>().ok())
        .filter(|n| n.abs() > 1.0)
        .collect();
    match numbers.as_slice() {
        [lat, lon, ..] => Some(Position {
            lon: *lon,
            lat: *lat,
        }),
        _ => None,
    }
}

fn centre_distance(pack: &CityPack, hotspot: &str) -> f64 {
    pack.hotspots
        .iter()
        .find(|h| h.id == hotspot)
        .map_or(0.0, |h| {
            citizen_core::geodesy::distance_m(pack.city.center(), h.position)
        })
}

/// Builds a street pack the way a city would (Protomaps' schema): GSHHG's land and water and
/// a grid of streets around `centre`, made by tippecanoe into `dir/streets.pmtiles`; returns
/// its size in bytes.
fn build_street_pack(dir: &std::path::Path, centre: Position) -> Result<u64> {
    let gshhg = root().join("assets/basemap/sources/gshhg");
    let mut roads = Vec::new();
    // Major streets every ~220 m and minor ones every ~30 m, over ±6 km: a pack of a few MB,
    // as a real city's is.
    for i in -300_i32..=300 {
        for (kind, step) in [("major_road", 0.002), ("minor_road", 0.0002)] {
            if kind == "major_road" && i.abs() > 30 {
                continue;
            }
            let d = f64::from(i) * step;
            for line in [
                [
                    [centre.lon + d, centre.lat - 0.06],
                    [centre.lon + d, centre.lat + 0.06],
                ],
                [
                    [centre.lon - 0.06, centre.lat + d],
                    [centre.lon + 0.06, centre.lat + d],
                ],
            ] {
                roads.push(serde_json::json!({"type": "Feature",
                    "properties": {"kind": kind, "kind_detail": "residential", "name": format!("Đường {i}")},
                    "geometry": {"type": "LineString", "coordinates": line}}));
            }
        }
    }
    let roads_file = dir.join("roads.geojson");
    std::fs::write(
        &roads_file,
        serde_json::to_vec(&serde_json::json!({"type": "FeatureCollection", "features": roads}))?,
    )?;
    let out = dir.join("streets.pmtiles");
    let status = std::process::Command::new(root().join("target/tools/python/bin/tippecanoe"))
        .arg("-o")
        .arg(&out)
        .args([
            "--force",
            "--quiet",
            "-Z10",
            "-z15",
            "--no-tile-size-limit",
            "--no-feature-limit",
        ])
        .arg("-L")
        .arg(format!(
            "earth:{}",
            gshhg.join("gshhg_f_tiengiang_land.geojson").display()
        ))
        .arg("-L")
        .arg(format!(
            "water:{}",
            gshhg.join("gshhg_f_tiengiang_water.geojson").display()
        ))
        .arg("-L")
        .arg(format!("roads:{}", roads_file.display()))
        .status()
        .context("tippecanoe (installed by cargo xtask setup)")?;
    ensure!(status.success(), "tippecanoe failed");
    Ok(std::fs::metadata(&out)?.len())
}

/// How many pixels of the map canvas are (nearly) white: the street pack's roads.
async fn white_pixels(app: &Client) -> Result<u64> {
    let count = app
        .execute(
            "const canvas = document.querySelector('#city-map canvas');
             const copy = document.createElement('canvas');
             copy.width = canvas.width; copy.height = canvas.height;
             const ctx = copy.getContext('2d');
             ctx.drawImage(canvas, 0, 0);
             const d = ctx.getImageData(0, 0, copy.width, copy.height).data;
             let white = 0;
             for (let i = 0; i < d.length; i += 4) {
               if (d[i] > 248 && d[i + 1] > 248 && d[i + 2] > 248) white++;
             }
             return white;",
            vec![],
        )
        .await?;
    count.as_u64().context("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_street_pack_downloads_with_progress_resumes_after_a_restart_and_draws_offline()
-> Result<()> {
    let _turn = ONE_APP.lock().await;
    let tmp = tempfile::tempdir()?;
    let pack_dir = tmp.path().join("pack");
    std::fs::create_dir_all(&pack_dir)?;
    for entry in std::fs::read_dir(root().join("assets/cities/my-tho"))? {
        let entry = entry?;
        std::fs::copy(entry.path(), pack_dir.join(entry.file_name()))?;
    }
    let pack = CityPack::parse(citizen_core::city::default_pack_sources())?;
    let bytes = build_street_pack(&pack_dir, pack.city.center())?;
    eprintln!("street pack: {bytes} bytes");
    let city_path = pack_dir.join("city.json");
    let mut city: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&city_path)?)?;
    city["street_pack"] = "streets.pmtiles".into();
    std::fs::write(&city_path, serde_json::to_vec_pretty(&city)?)?;

    let port = free_port()?;
    let mut gateway = citizen_e2e::GatewayProcess::start_with_pack(
        "debug",
        &tmp.path().join("gw.db"),
        port,
        &pack_dir,
    )?;
    let proxy = citizen_e2e::proxy::Proxy::start(([127, 0, 0, 1], port).into()).await?;
    // About ten seconds for the whole pack: time to stop the app half-way.
    let rate = (bytes / 10).max(20_000);
    let data = tmp.path().join("app");
    let display = Display::get()?;
    // No tile cache: the streets drawn at the end can only come from the installed pack.
    let env = |url: String| {
        vec![
            ("CITIZEN_GATEWAY_URL", url),
            ("CITIZEN_DATA_DIR", data.display().to_string()),
            ("CITIZEN_TILE_CACHE_MB", "0".to_owned()),
        ]
    };

    // First with no network: the coarse map alone.
    proxy.set_down(true);
    let driver = Driver::start(&display, binary("citizen-app", "debug")?, &env(proxy.url()))?;
    let app = driver.session().await?;
    open_map(&app).await?;
    let coarse_white = white_pixels(&app).await?;
    ensure!(
        text_of(&app, "#street-download").await?.is_none(),
        "no offer while offline"
    );
    // The network comes back: the app syncs, and the map screen learns of the street pack.
    proxy.set_down(false);
    proxy.throttle_down(0);
    eventually(Duration::from_secs(30), "synced", || async {
        let el = element(&app, "#sync-status").await?;
        Ok(el.attr("data-state").await?.filter(|s| s == "synced"))
    })
    .await?;
    proxy.throttle_down(rate);
    click(&app, "#back").await?;
    click(&app, "#go-map").await?;
    let offer = wait_text(&app, "#street-download", "MB").await?;
    eprintln!("offered: {offer}");
    click(&app, "#street-download").await?;
    // Progress shows, and the app is killed part-way.
    let (done, total) = eventually(Duration::from_secs(30), "download progress", || async {
        let Ok(bar) = app.find(fantoccini::Locator::Css("#street-progress")).await else {
            return Ok(None);
        };
        let value: u64 = bar
            .attr("value")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let max: u64 = bar
            .attr("max")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok((value > bytes / 5 && value < max).then_some((value, max)))
    })
    .await?;
    ensure!(
        total == bytes,
        "the bar's end is the pack's size: {total} vs {bytes}"
    );
    std::fs::write(
        root().join("target/e2e/map-street-download.png"),
        app.screenshot().await?,
    )?;
    // The system kills the app mid-download, as a phone does to an app in the background.
    citizen_e2e::kill_app(&data).await?;
    drop(app);
    drop(driver);
    let before_restart = proxy.sent_down();
    let part = std::fs::metadata(data.join("maps/streets.pmtiles.part"))?.len();
    eprintln!(
        "closed at {done} of {total} bytes shown; {part} on the device; {before_restart} bytes came down"
    );
    ensure!(
        part >= bytes / 5 && part < bytes,
        "the app stopped part-way: {part} of {bytes}"
    );

    // The restarted app carries on by itself from where it stopped, and installs the pack
    // (the home screen stays: no map tiles travel meanwhile). The bytes on the device never
    // shrink below what was there: nothing is fetched again from the start.
    let driver = Driver::start(&display, binary("citizen-app", "debug")?, &env(proxy.url()))?;
    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "Mỹ Tho").await?;
    let installed = data.join("maps/streets.pmtiles");
    let partial = data.join("maps/streets.pmtiles.part");
    let smallest = std::cell::Cell::new(part);
    eventually(
        Duration::from_secs(60),
        "the street pack installed",
        || async {
            if let Ok(meta) = std::fs::metadata(&partial) {
                smallest.set(smallest.get().min(meta.len()));
            }
            Ok(installed.exists().then_some(()))
        },
    )
    .await?;
    let smallest = smallest.get();
    let after_restart = proxy.sent_down() - before_restart;
    eprintln!(
        "after the restart: {after_restart} bytes came down for the {} missing; the partial file never went below {smallest} bytes",
        bytes - part
    );
    ensure!(
        smallest >= part,
        "resumed, not started again: the partial file fell from {part} to {smallest} bytes"
    );
    click(&app, "#go-map").await?;
    wait_text(&app, "#street-installed", "").await?;
    let installed = data.join("maps/streets.pmtiles");
    ensure!(
        std::fs::metadata(&installed)?.len() == bytes,
        "the whole pack is on the device"
    );
    ensure!(
        !data.join("maps/streets.pmtiles.part").exists(),
        "no partial file left"
    );
    quit(app).await?;
    drop(driver);

    // With the gateway gone, the streets are drawn from the device.
    gateway.stop();
    proxy.set_down(true);
    let driver = Driver::start(&display, binary("citizen-app", "debug")?, &env(proxy.url()))?;
    let app = driver.session().await?;
    open_map(&app).await?;
    wait_text(&app, "#street-installed", "").await?;
    ensure!(
        text_of(&app, "#map-coarse").await?.is_none(),
        "no 'coarse map' note any more"
    );
    let street_white = white_pixels(&app).await?;
    eprintln!(
        "white pixels: {coarse_white} on the coarse map, {street_white} with the street pack"
    );
    ensure!(
        street_white > coarse_white + 2_000,
        "the streets are drawn offline ({coarse_white} → {street_white} white pixels)"
    );
    map_screenshot(&app, "map-streets.png").await?;
    quit(app).await?;
    Ok(())
}
