//! The bundled coarse basemap, as `cargo xtask setup` builds it, answers the map's requests.

mod common;

use std::path::PathBuf;

use citizen_client::basemap::Basemap;

fn basemap_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/basemap");
    assert!(
        dir.join("coarse.pmtiles").exists(),
        "the basemap is built by `cargo xtask setup`"
    );
    dir
}

#[tokio::test]
async fn the_river_at_my_tho_is_in_the_tiles() {
    let map = Basemap::open(&basemap_dir()).await.expect("opens");
    let (x, y) = common::tile_at(12, 106.36, 10.33);
    let answer = map
        .answer("map://localhost", &format!("/tiles/12/{x}/{y}.mvt"))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/x-protobuf");
    // Uncompressed MVT: the layer names are plain bytes in it.
    let has = |name: &[u8]| answer.body.windows(name.len()).any(|w| w == name);
    assert!(has(b"water"), "the Tiền river is water");
    assert!(has(b"earth"), "its banks and island are land");
    // Far out at sea, past every source: no tile, and no error.
    let (x, y) = common::tile_at(12, 120.0, 5.0);
    let answer = map
        .answer("map://localhost", &format!("/tiles/12/{x}/{y}.mvt"))
        .await;
    assert_eq!(answer.status, 204);
    let info = map.info().await;
    assert!(info.coarse);
    assert!(info.bounds[0] < 106.36 && 106.36 < info.bounds[2]);
}

#[tokio::test]
async fn the_style_points_at_the_scheme_it_was_asked_on() {
    let map = Basemap::open(&basemap_dir()).await.expect("opens");
    for (path, earth) in [("/style/light.json", true), ("/style/dark.json", true)] {
        let answer = map.answer("http://map.localhost", path).await;
        assert_eq!(answer.status, 200, "{path}");
        let style: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
        assert_eq!(style["version"], 8);
        assert_eq!(
            style["glyphs"],
            "http://map.localhost/fonts/{fontstack}/{range}.pbf"
        );
        assert_eq!(
            style["sources"]["basemap"]["tiles"][0],
            "http://map.localhost/tiles/{z}/{x}/{y}.mvt"
        );
        let layers = style["layers"].as_array().expect("layers");
        assert_eq!(
            layers.iter().any(|l| l["source-layer"] == "earth"),
            earth,
            "{path}"
        );
        assert!(layers.iter().any(|l| l["source-layer"] == "water"));
        // Labels use the fonts the app carries and nothing else.
        let text = answer.body.iter().map(|&b| b as char).collect::<String>();
        assert!(!text.contains("Noto Sans Medium"));
        assert!(!text.contains("https://"), "no URL leaves the device");
    }
    assert_eq!(
        map.answer("map://localhost", "/style/other.json")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn vietnamese_letters_have_glyphs() {
    let map = Basemap::open(&basemap_dir()).await.expect("opens");
    // ỹ, ạ, ố… live in Latin Extended Additional (U+1E00–U+1EFF); đ, ơ, ư in 256–511.
    for range in ["0-255", "256-511", "7680-7935"] {
        let answer = map
            .answer(
                "map://localhost",
                &format!("/fonts/Noto%20Sans%20Regular/{range}.pbf"),
            )
            .await;
        assert_eq!(answer.status, 200);
        assert!(
            answer.body.len() > 1000,
            "{range}: {} bytes",
            answer.body.len()
        );
    }
    // A stack of two: the first that has the range answers.
    let answer = map
        .answer(
            "map://localhost",
            "/fonts/Nope,Noto%20Sans%20Bold/0-255.pbf",
        )
        .await;
    assert!(answer.body.len() > 1000);
    // Outside every font (CJK here): an empty range, not an error.
    let answer = map
        .answer(
            "map://localhost",
            "/fonts/Noto%20Sans%20Regular/19968-20223.pbf",
        )
        .await;
    assert_eq!((answer.status, answer.body.len()), (200, 0));
    // Paths cannot leave the fonts folder.
    for path in [
        "/fonts/..%2F..%2Fstyle/light.json",
        "/fonts/../0-255.pbf",
        "/fonts/Noto%20Sans%20Regular/..%2Fx.pbf",
    ] {
        let answer = map.answer("map://localhost", path).await;
        assert!(answer.status >= 400 || answer.body.is_empty(), "{path}");
    }
}

#[tokio::test]
async fn the_sprite_has_every_icon_the_coarse_style_names() {
    let map = Basemap::open(&basemap_dir()).await.expect("opens");
    let style = map.answer("map://localhost", "/style/light.json").await;
    let style: serde_json::Value = serde_json::from_slice(&style.body).expect("JSON");
    assert_eq!(style["sprite"], "map://localhost/sprites/sprite");
    for scale in ["", "@2x"] {
        let index = map
            .answer("map://localhost", &format!("/sprites/sprite{scale}.json"))
            .await;
        assert_eq!(index.status, 200);
        let index: serde_json::Value = serde_json::from_slice(&index.body).expect("JSON");
        for icon in ["townspot", "capital", "arrow", "generic_shield-3char"] {
            assert!(
                index[icon]["width"].as_u64().is_some_and(|w| w > 0),
                "{icon} in sprite{scale}"
            );
        }
        let png = map
            .answer("map://localhost", &format!("/sprites/sprite{scale}.png"))
            .await;
        assert_eq!((png.status, png.content_type), (200, "image/png"));
        assert!(png.body.starts_with(b"\x89PNG"));
    }
    let outside = map
        .answer("map://localhost", "/sprites/../style/light.json")
        .await;
    assert_eq!(outside.status, 404);
}
