//! The map, drawn by MapLibre GL JS (vendored into the app's assets, no CDN) behind a small
//! typed interface. The basemap comes from the shell's `map:` scheme (offline tiles, glyphs
//! and a style in the MapLibre style spec); the city's points, the resident's position and
//! the line to a destination are GeoJSON sources added to that style. Where WebGL2, the
//! library or the basemap is missing, the constructors say so and the screen offers a list
//! instead: never a blank map.

use citizen_core::Position;
use serde_json::{Value, json};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = maplibregl, js_name = Map)]
    type JsMap;
    #[wasm_bindgen(constructor, catch, js_namespace = maplibregl, js_class = "Map")]
    fn new(options: &JsValue) -> Result<JsMap, JsValue>;
    #[wasm_bindgen(method)]
    fn on(this: &JsMap, event: &str, handler: &Closure<dyn FnMut(JsValue)>);
    #[wasm_bindgen(method)]
    fn remove(this: &JsMap);
    #[wasm_bindgen(method, js_name = easeTo)]
    fn ease_to(this: &JsMap, options: &JsValue);
    #[wasm_bindgen(method, js_name = fitBounds)]
    fn fit_bounds(this: &JsMap, bounds: &JsValue, options: &JsValue);
    #[wasm_bindgen(method, js_name = getCenter)]
    fn get_center(this: &JsMap) -> JsValue;
    #[wasm_bindgen(method, js_name = getZoom)]
    fn get_zoom(this: &JsMap) -> f64;
    #[wasm_bindgen(method, js_name = getSource)]
    fn get_source(this: &JsMap, id: &str) -> JsValue;
    #[wasm_bindgen(method, catch, js_name = setLayoutProperty)]
    fn set_layout_property(
        this: &JsMap,
        layer: &str,
        name: &str,
        value: &JsValue,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method)]
    fn once(this: &JsMap, event: &str, handler: &js_sys::Function);
    #[wasm_bindgen(method, js_name = queryRenderedFeatures)]
    fn query_rendered_features(this: &JsMap, point: &JsValue, options: &JsValue) -> js_sys::Array;
    #[wasm_bindgen(method, js_name = addControl)]
    fn add_control(this: &JsMap, control: &JsValue, position: &str);

    #[wasm_bindgen(js_namespace = maplibregl, js_name = AttributionControl)]
    type JsAttribution;
    #[wasm_bindgen(constructor, js_namespace = maplibregl, js_class = "AttributionControl")]
    fn new(options: &JsValue) -> JsAttribution;

    #[wasm_bindgen(js_namespace = maplibregl, js_name = NavigationControl)]
    type JsNavigation;
    #[wasm_bindgen(constructor, js_namespace = maplibregl, js_class = "NavigationControl")]
    fn new(options: &JsValue) -> JsNavigation;

    #[wasm_bindgen(js_namespace = maplibregl, js_name = setWorkerUrl)]
    fn set_worker_url(url: &str);

    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = convertFileSrc)]
    fn convert_file_src(path: &str, protocol: &str) -> String;
}

/// Why no map can be drawn here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoMap {
    /// The web view has no WebGL2.
    NoWebGl2,
    /// MapLibre GL JS did not load.
    NoLibrary,
    /// The offline basemap is not installed or unreadable.
    NoBasemap(String),
    /// MapLibre refused to start.
    Failed(String),
}

/// Whether this web view can draw with WebGL2.
pub fn webgl2_available() -> bool {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return false;
    };
    let Ok(canvas) = document.create_element("canvas") else {
        return false;
    };
    let Ok(canvas) = canvas.dyn_into::<web_sys::HtmlCanvasElement>() else {
        return false;
    };
    matches!(canvas.get_context("webgl2"), Ok(Some(_)))
}

/// Loads MapLibre GL JS from the app's own files the first time a map is needed, so app
/// start does not pay for parsing it.
pub async fn load_library() -> Result<(), NoMap> {
    if library_loaded() {
        return Ok(());
    }
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or(NoMap::NoLibrary)?;
    let script = document
        .create_element("script")
        .map_err(|_| NoMap::NoLibrary)?;
    let _ = script.set_attribute("src", "maplibre/maplibre-gl-csp.js");
    let loaded = js_sys::Promise::new(&mut |resolve, reject| {
        let _ = script.add_event_listener_with_callback("load", &resolve);
        let _ = script.add_event_listener_with_callback("error", &reject);
    });
    document
        .head()
        .ok_or(NoMap::NoLibrary)?
        .append_child(&script)
        .map_err(|_| NoMap::NoLibrary)?;
    wasm_bindgen_futures::JsFuture::from(loaded)
        .await
        .map_err(|_| NoMap::NoLibrary)?;
    if library_loaded() {
        Ok(())
    } else {
        Err(NoMap::NoLibrary)
    }
}

fn library_loaded() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("maplibregl"))
        .is_ok_and(|v| !v.is_undefined())
}

/// The origin of the shell's `map:` scheme on this platform (`map://localhost` on Linux and
/// macOS, `http://map.localhost` on Windows and Android).
fn basemap_origin() -> String {
    convert_file_src("", "map").trim_end_matches('/').to_owned()
}

/// Whether the page is in the dark colour scheme.
fn prefers_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

/// Fetches the basemap's style (light or dark as the system is) from the shell.
async fn basemap_style() -> Result<Value, NoMap> {
    let flavor = if prefers_dark() { "dark" } else { "light" };
    let url = format!("{}/style/{flavor}.json", basemap_origin());
    let window = web_sys::window().ok_or(NoMap::NoLibrary)?;
    let fail = |e: JsValue| NoMap::NoBasemap(format!("{url}: {e:?}"));
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&url))
        .await
        .map_err(fail)?;
    let response: web_sys::Response = response.dyn_into().map_err(fail)?;
    if !response.ok() {
        return Err(NoMap::NoBasemap(format!("{url}: {}", response.status())));
    }
    let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(fail)?)
        .await
        .map_err(fail)?;
    serde_json::from_str(&text.as_string().unwrap_or_default())
        .map_err(|e| NoMap::NoBasemap(format!("{url}: {e}")))
}

fn lng_lat(p: Position) -> Value {
    json!([p.lon, p.lat])
}

fn to_js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

fn empty_collection() -> Value {
    json!({"type": "FeatureCollection", "features": []})
}

/// Colours of the point layers, one per [`citizen_core::views::MapGroup`] code; chosen to
/// stay apart for the common colour-vision deficiencies (Okabe & Ito, 2008).
const GROUP_COLOURS: [(&str, &str); 6] = [
    ("sights", "#d55e00"),
    ("lodging", "#0072b2"),
    ("food", "#e69f00"),
    ("markets", "#cc79a7"),
    ("tours", "#009e73"),
    ("wifi", "#56b4e9"),
];

/// The layers drawn over the basemap: the destination line, clusters of points with their
/// count, single points coloured by group with their name from zoom 14, the resident's
/// position, and the report pin.
fn overlay_layers(lang: &str) -> Vec<Value> {
    let mut colour = vec![json!("match"), json!(["get", "group"])];
    for (group, hex) in GROUP_COLOURS {
        colour.push(json!(group));
        colour.push(json!(hex));
    }
    colour.push(json!("#555555"));
    let name_field = format!("name_{lang}");
    vec![
        json!({"id": "route", "type": "line", "source": "route",
               "layout": {"line-cap": "round"},
               "paint": {"line-color": "#1d4ed8", "line-width": 4, "line-dasharray": [2, 1.5]}}),
        json!({"id": "clusters", "type": "circle", "source": "points",
               "filter": ["has", "point_count"],
               "paint": {"circle-color": "#2f6b4f", "circle-opacity": 0.9,
                         "circle-stroke-width": 2, "circle-stroke-color": "#ffffff",
                         "circle-radius": ["step", ["get", "point_count"], 14, 10, 18, 100, 24, 1000, 30]}}),
        json!({"id": "cluster-count", "type": "symbol", "source": "points",
               "filter": ["has", "point_count"],
               "layout": {"text-field": ["get", "point_count_abbreviated"],
                          "text-font": ["Noto Sans Bold"], "text-size": 13,
                          "text-allow-overlap": true},
               "paint": {"text-color": "#ffffff"}}),
        json!({"id": "points", "type": "circle", "source": "points",
               "filter": ["!", ["has", "point_count"]],
               "paint": {"circle-color": colour, "circle-radius": 7,
                         "circle-stroke-width": 2, "circle-stroke-color": "#ffffff"}}),
        json!({"id": "point-names", "type": "symbol", "source": "points", "minzoom": 14,
               "filter": ["!", ["has", "point_count"]],
               "layout": {"text-field": ["get", name_field], "text-font": ["Noto Sans Regular"],
                          "text-size": 12, "text-offset": [0, 1.1], "text-anchor": "top",
                          "text-optional": true},
               "paint": {"text-color": "#1f2933", "text-halo-color": "#ffffff", "text-halo-width": 1.5}}),
        json!({"id": "me-halo", "type": "circle", "source": "me",
               "paint": {"circle-radius": 14, "circle-color": "#1d4ed8", "circle-opacity": 0.2}}),
        json!({"id": "me", "type": "circle", "source": "me",
               "paint": {"circle-radius": 7, "circle-color": "#1d4ed8",
                         "circle-stroke-width": 3, "circle-stroke-color": "#ffffff"}}),
        json!({"id": "pin", "type": "circle", "source": "pin",
               "paint": {"circle-radius": 9, "circle-color": "#b91c1c",
                         "circle-stroke-width": 3, "circle-stroke-color": "#ffffff"}}),
    ]
}

/// What a tap on the map hit.
#[derive(Debug, Clone, PartialEq)]
pub enum Tap {
    /// A place or hotspot: its kind code (`place`, `hotspot`) and id, tapped at `at`.
    Point {
        kind: String,
        id: String,
        at: Position,
    },
    /// A cluster: the map zooms in on it by itself.
    Cluster,
    /// The ground, at this position.
    Ground(Position),
}

/// Where the map starts and how far it may go.
pub struct View {
    pub center: Position,
    pub zoom: f64,
    /// West, south, east, north: the map cannot be dragged away from the data.
    pub bounds: Option<[f64; 4]>,
}

/// A map of the city on the offline basemap, with the city's points, the resident's
/// position and a line to a destination.
pub struct CityMap {
    map: JsMap,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl CityMap {
    /// Draws the map into the element `container_id`; `on_tap` hears each tap. `lang` is
    /// the code (`vi`, `en`) of the points' names. Loads MapLibre and the basemap first.
    pub async fn new(
        container_id: &str,
        view: View,
        lang: &str,
        on_tap: impl Fn(Tap) + 'static,
    ) -> Result<CityMap, NoMap> {
        if !webgl2_available() {
            return Err(NoMap::NoWebGl2);
        }
        load_library().await?;
        let mut style = basemap_style().await?;
        let started = js_sys::Date::now();
        // The CSP build runs its worker from the app's own files, not from a blob: URL.
        set_worker_url("maplibre/maplibre-gl-csp-worker.js");
        if let Some(sources) = style["sources"].as_object_mut() {
            sources.insert(
                "points".into(),
                json!({"type": "geojson", "data": empty_collection(), "cluster": true,
                       "clusterRadius": 40, "clusterMaxZoom": 15}),
            );
            for id in ["me", "route", "pin"] {
                sources.insert(
                    id.into(),
                    json!({"type": "geojson", "data": empty_collection()}),
                );
            }
        }
        if let Some(layers) = style["layers"].as_array_mut() {
            layers.extend(overlay_layers(lang));
        }
        let mut options = json!({
            "container": container_id,
            "style": style,
            "center": lng_lat(view.center),
            "zoom": view.zoom,
            "attributionControl": false,
            // Keeps the last frame readable, so a screenshot or a test can read its pixels.
            "canvasContextAttributes": {"preserveDrawingBuffer": true},
        });
        if let Some([w, s, e, n]) = view.bounds {
            // A margin around the data, so points at its edge are not at the screen's edge.
            options["maxBounds"] = json!([[w - 0.3, s - 0.3], [e + 0.3, n + 0.3]]);
        }
        let map = JsMap::new(&to_js(&options)).map_err(|e| NoMap::Failed(format!("{e:?}")))?;
        // Sources can take data only once the style is loaded.
        let loaded = js_sys::Promise::new(&mut |resolve, reject| {
            map.once("load", &resolve);
            map.once("error", &reject);
        });
        if let Err(error) = wasm_bindgen_futures::JsFuture::from(loaded).await {
            map.remove();
            return Err(NoMap::Failed(format!("{error:?}")));
        }
        // Every source of the drawn data is credited, always visible (not folded away).
        let attribution = JsAttribution::new(&to_js(&json!({"compact": false})));
        map.add_control(&attribution, "bottom-right");
        let navigation = JsNavigation::new(&to_js(&json!({"showCompass": false})));
        map.add_control(&navigation, "top-right");

        let container = container_id.to_owned();
        let on_first_frame = Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
            // Time from creating the map to its first complete frame, for the benchmarks.
            if let Some(element) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(&container))
                && element.get_attribute("data-first-frame-ms").is_none()
            {
                let ms = js_sys::Date::now() - started;
                let _ = element.set_attribute("data-first-frame-ms", &format!("{ms:.0}"));
            }
        });
        map.on("idle", &on_first_frame);

        let map_for_click: JsValue = map.clone();
        let on_click = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let map: &JsMap = map_for_click.unchecked_ref();
            let get = |v: &JsValue, key: &str| {
                js_sys::Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
            };
            let point = get(&event, "point");
            let hit = map.query_rendered_features(
                &point,
                &to_js(&json!({"layers": ["clusters", "points"]})),
            );
            let at = get(&event, "lngLat");
            let Some(at) = get(&at, "lng")
                .as_f64()
                .zip(get(&at, "lat").as_f64())
                .map(|(lon, lat)| Position { lon, lat })
            else {
                return;
            };
            if let Some(feature) = hit.iter().next() {
                let properties = get(&feature, "properties");
                if !get(&properties, "point_count").is_undefined() {
                    // Zoom in on the cluster until it falls apart.
                    let coordinates = get(&get(&feature, "geometry"), "coordinates");
                    let options = js_sys::Object::new();
                    let _ = js_sys::Reflect::set(&options, &"center".into(), &coordinates);
                    let zoom = (map.get_zoom() + 2.0).min(18.0);
                    let _ = js_sys::Reflect::set(&options, &"zoom".into(), &zoom.into());
                    map.ease_to(&options);
                    on_tap(Tap::Cluster);
                    return;
                }
                let kind = get(&properties, "kind").as_string().unwrap_or_default();
                let id = get(&properties, "id").as_string().unwrap_or_default();
                on_tap(Tap::Point { kind, id, at });
                return;
            }
            on_tap(Tap::Ground(at));
        });
        map.on("click", &on_click);
        Ok(CityMap {
            map,
            _handlers: vec![on_first_frame, on_click],
        })
    }

    fn set_data(&self, source: &str, data: &Value) {
        self.set_source_data(source, &to_js(data));
    }

    /// `setData` on a GeoJSON source: a GeoJSON object, or a URL to fetch it from.
    fn set_source_data(&self, source: &str, data: &JsValue) {
        let source = self.map.get_source(source);
        if source.is_undefined() || source.is_null() {
            return;
        }
        if let Ok(set) = js_sys::Reflect::get(&source, &JsValue::from_str("setData"))
            && let Ok(set) = set.dyn_into::<js_sys::Function>()
        {
            let _ = set.call1(&source, data);
        }
    }

    /// Shows the points of the GeoJSON text `collection` (features with `kind`, `id`,
    /// `group`, `name_vi`, `name_en`: [`citizen_core::views::points_geojson`]), clustered
    /// where dense.
    pub fn set_points(&self, collection: &str) {
        if let Ok(data) = js_sys::JSON::parse(collection) {
            self.set_source_data("points", &data);
        }
    }

    /// Shows the shell's points of the layers `groups` (`/points.geojson` on the `map:`
    /// scheme), fetched and clustered in MapLibre's worker; `version` changes the URL when
    /// the data changed.
    pub fn show_points(&self, groups: &[&str], version: i64) {
        let url = format!(
            "{}/points.geojson?groups={}&v={version}",
            basemap_origin(),
            groups.join(",")
        );
        self.set_source_data("points", &JsValue::from_str(&url));
    }

    /// Shows the resident's position, or none.
    pub fn set_me(&self, at: Option<Position>) {
        self.set_data("me", &point_collection(at));
    }

    /// Shows the report's pin, or none.
    pub fn set_pin(&self, at: Option<Position>) {
        self.set_data("pin", &point_collection(at));
    }

    /// Draws the straight line from `from` to `to` and brings both into view, or clears it.
    pub fn set_route(&self, route: Option<(Position, Position)>) {
        let data = match route {
            Some((from, to)) => {
                let bounds = json!([
                    [from.lon.min(to.lon), from.lat.min(to.lat)],
                    [from.lon.max(to.lon), from.lat.max(to.lat)]
                ]);
                self.map.fit_bounds(
                    &to_js(&bounds),
                    &to_js(&json!({"padding": 60, "maxZoom": 16})),
                );
                json!({"type": "FeatureCollection", "features": [{
                    "type": "Feature", "properties": {},
                    "geometry": {"type": "LineString", "coordinates": [lng_lat(from), lng_lat(to)]}
                }]})
            }
            None => empty_collection(),
        };
        self.set_data("route", &data);
    }

    /// Moves the view to `at` (at `zoom`, or the current zoom).
    pub fn ease_to(&self, at: Position, zoom: Option<f64>) {
        let mut options = json!({"center": lng_lat(at)});
        if let Some(zoom) = zoom {
            options["zoom"] = json!(zoom);
        }
        self.map.ease_to(&to_js(&options));
    }

    /// The position at the centre of the view.
    pub fn center(&self) -> Position {
        let c = self.map.get_center();
        let number = |k: &str| {
            js_sys::Reflect::get(&c, &JsValue::from_str(k))
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0)
        };
        Position {
            lon: number("lng"),
            lat: number("lat"),
        }
    }

    /// Switches the points' names to the language `lang` (`vi`, `en`).
    pub fn set_lang(&self, lang: &str) {
        let field = to_js(&json!(["get", format!("name_{lang}")]));
        if let Err(error) = self
            .map
            .set_layout_property("point-names", "text-field", &field)
        {
            leptos::logging::log!("map labels stay in the former language: {error:?}");
        }
    }
}

fn point_collection(at: Option<Position>) -> Value {
    match at {
        Some(p) => json!({"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {},
            "geometry": {"type": "Point", "coordinates": lng_lat(p)}
        }]}),
        None => empty_collection(),
    }
}

impl Drop for CityMap {
    fn drop(&mut self) {
        self.map.remove();
    }
}
