//! The map, drawn by MapLibre GL JS (vendored into the app's assets, no CDN) behind a small
//! typed interface. Styles stay in the MapLibre style spec, so a Rust renderer can take over
//! when one is ready. Where WebGL2 or the library is missing, `PinMap::new` says so and the
//! screen offers a list instead: never a blank map.

use citizen_core::Position;
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

    #[wasm_bindgen(js_namespace = maplibregl, js_name = Marker)]
    type JsMarker;
    #[wasm_bindgen(constructor, js_namespace = maplibregl, js_class = "Marker")]
    fn new() -> JsMarker;
    #[wasm_bindgen(method, js_name = setLngLat)]
    fn set_lng_lat(this: &JsMarker, lng_lat: &JsValue) -> JsMarker;
    #[wasm_bindgen(method, js_name = addTo)]
    fn add_to(this: &JsMarker, map: &JsMap) -> JsMarker;

    #[wasm_bindgen(js_namespace = maplibregl, js_name = setWorkerUrl)]
    fn set_worker_url(url: &str);
}

/// Why no map can be drawn here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoMap {
    /// The web view has no WebGL2.
    NoWebGl2,
    /// MapLibre GL JS did not load.
    NoLibrary,
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

fn lng_lat(p: Position) -> JsValue {
    js_sys::Array::of2(&JsValue::from_f64(p.lon), &JsValue::from_f64(p.lat)).into()
}

/// The map's look: a plain ground, the city's area, and its known places as dots. No tiles,
/// so it works offline from the city pack alone.
fn style(bbox: [f64; 4], places: &[Position]) -> String {
    let [w, s, e, n] = bbox;
    let points: Vec<String> = places
        .iter()
        .map(|p| {
            format!(
                r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{},{}]}}}}"#,
                p.lon, p.lat
            )
        })
        .collect();
    format!(
        r##"{{"version":8,"sources":{{
            "area":{{"type":"geojson","data":{{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}}}}},
            "places":{{"type":"geojson","data":{{"type":"FeatureCollection","features":[{points}]}}}}
        }},"layers":[
            {{"id":"ground","type":"background","paint":{{"background-color":"#dfe9e2"}}}},
            {{"id":"area","type":"fill","source":"area","paint":{{"fill-color":"#f6f4ee","fill-outline-color":"#2f6b4f"}}}},
            {{"id":"places","type":"circle","source":"places","paint":{{"circle-radius":4,"circle-color":"#2f6b4f","circle-stroke-width":1,"circle-stroke-color":"#ffffff"}}}}
        ]}}"##,
        points = points.join(",")
    )
}

/// A map on which the resident places a pin.
pub struct PinMap {
    map: JsMap,
    marker: Option<JsMarker>,
    _on_click: Closure<dyn FnMut(JsValue)>,
}

impl PinMap {
    /// Draws the map into the element `container_id`; `on_pick` hears each tap's position.
    pub fn new(
        container_id: &str,
        bbox: [f64; 4],
        center: Position,
        places: &[Position],
        on_pick: impl Fn(Position) + 'static,
    ) -> Result<PinMap, NoMap> {
        if !webgl2_available() {
            return Err(NoMap::NoWebGl2);
        }
        if !library_loaded() {
            return Err(NoMap::NoLibrary);
        }
        // The CSP build runs its worker from the app's own files, not from a blob: URL.
        set_worker_url("maplibre/maplibre-gl-csp-worker.js");
        let style = js_sys::JSON::parse(&style(bbox, places))
            .map_err(|e| NoMap::Failed(format!("{e:?}")))?;
        let options = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| {
            let _ = js_sys::Reflect::set(&options, &JsValue::from_str(k), v);
        };
        set("container", &JsValue::from_str(container_id));
        set("style", &style);
        set("center", &lng_lat(center));
        set("zoom", &JsValue::from_f64(13.0));
        set("attributionControl", &JsValue::FALSE);
        let map = JsMap::new(&options).map_err(|e| NoMap::Failed(format!("{e:?}")))?;
        let on_click = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let at = js_sys::Reflect::get(&event, &JsValue::from_str("lngLat")).ok();
            let number = |key: &str| {
                at.as_ref()
                    .and_then(|a| js_sys::Reflect::get(a, &JsValue::from_str(key)).ok())
                    .and_then(|v| v.as_f64())
            };
            if let (Some(lon), Some(lat)) = (number("lng"), number("lat")) {
                on_pick(Position { lon, lat });
            }
        });
        map.on("click", &on_click);
        Ok(PinMap {
            map,
            marker: None,
            _on_click: on_click,
        })
    }

    /// Shows the pin at `at` and brings it into view.
    pub fn set_pin(&mut self, at: Position) {
        match &self.marker {
            Some(marker) => {
                marker.set_lng_lat(&lng_lat(at));
            }
            // A marker needs its position before it joins the map.
            None => {
                let marker = JsMarker::new().set_lng_lat(&lng_lat(at)).add_to(&self.map);
                self.marker = Some(marker);
            }
        }
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str("center"), &lng_lat(at));
        self.map.ease_to(&options);
    }
}

impl Drop for PinMap {
    fn drop(&mut self) {
        self.map.remove();
    }
}
