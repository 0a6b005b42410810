//! The SensorThings API's part of the gateway's OpenAPI 3.1 document. Its resources are
//! served by one handler that reads the resource path (see [`super::get`]), so they are
//! described here from the same model ([`Set`]) rather than by per-handler annotations.

use serde_json::{Value, json};

use super::PREFIX;
use super::create::{MAX_BATCH, MAX_CLOCK_SKEW_MS};
use super::model::Set;
use super::query::{DEFAULT_TOP, MAX_EXPAND_DEPTH, MAX_TOP};

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorBody"}}}})
}

fn query_options(collection: bool) -> Vec<Value> {
    let param = |name: &str, schema: Value, description: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description});
    let mut out = vec![
        param(
            "$select",
            json!({"type": "string"}),
            "Comma-separated properties and navigation properties to return (§9.3.3.4).",
        ),
        param(
            "$expand",
            json!({"type": "string"}),
            &format!(
                "Navigation properties to include inline, with their own options in parentheses, at most {MAX_EXPAND_DEPTH} levels deep (§9.3.2.1)."
            ),
        ),
    ];
    if collection {
        out.extend([
            param("$top", json!({"type": "integer", "minimum": 0, "maximum": MAX_TOP}), &format!("Entities per page; {DEFAULT_TOP} when absent.")),
            param("$skip", json!({"type": "integer", "minimum": 0}), "Entities to skip before the page."),
            param("$count", json!({"type": "boolean"}), "Include @iot.count: the entities matching $filter, whatever the page."),
            param("$orderby", json!({"type": "string"}), "Comma-separated expressions, each optionally followed by asc or desc."),
            param("$filter", json!({"type": "string", "maxLength": super::filter::MAX_LEN}), "An OData expression (§9.3.3.5): comparison and logical operators, arithmetic, paths such as Datastream/@iot.id, ISO 8601 times, and the functions substringof, contains, startswith, endswith, length, indexof, substring, tolower, toupper, trim, concat, year, month, day, hour, minute, second, now, round, floor, ceiling, geo.distance, geo.intersects, st_within, st_intersects, st_contains, st_disjoint."),
            param("$skiptoken", json!({"type": "string"}), "Set by @iot.nextLink: where the next page starts."),
        ]);
    }
    out
}

fn get_operation(summary: &str, collection: bool, id_param: bool) -> Value {
    let mut parameters = query_options(collection);
    if id_param {
        parameters.push(json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}}));
    }
    let schema = if collection {
        json!({"$ref": "#/components/schemas/StaCollection"})
    } else {
        json!({"$ref": "#/components/schemas/StaEntity"})
    };
    json!({
        "tags": ["sensorthings"],
        "summary": summary,
        "parameters": parameters,
        "responses": {
            "200": {"description": "The entities, with @iot.id, @iot.selfLink and navigation links", "content": {"application/json": {"schema": schema}}},
            "400": error("A query option is wrong; `field` names it"),
            "404": error("No such entity"),
            "501": error("A SensorThings query option this service does not serve"),
        }
    })
}

fn post_responses() -> Value {
    json!({
        "400": error("A member is missing or wrong; `field` names it (in a data array, the row too)"),
        "401": error("No station token, or an unknown one"),
        "403": error("The token is not for the station of the Datastream"),
        "404": error("No such Datastream in the path"),
        "413": error("Too many observations in one request"),
    })
}

/// Adds the SensorThings paths and their schemas to `doc`.
pub fn add_paths(doc: &mut Value) {
    let mut paths = serde_json::Map::new();
    paths.insert(
        PREFIX.into(),
        json!({"get": {
            "tags": ["sensorthings"],
            "summary": "Service root: the entity sets and the conformance classes served",
            "responses": {"200": {"description": "Entity sets with their absolute URLs, and serverSettings", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StaServiceRoot"}}}}}
        }}),
    );
    for set in Set::ALL {
        let name = set.name();
        let mut collection =
            json!({"get": get_operation(&format!("{name}, a page at a time"), true, false)});
        if set == Set::Observations {
            collection["post"] = create_one(false);
        }
        paths.insert(format!("{PREFIX}/{name}"), collection);
        paths.insert(
            format!("{PREFIX}/{name}({{id}})"),
            json!({"get": get_operation(&format!("One of the {name}"), false, true)}),
        );
        for nav in set.navigations() {
            if nav.many {
                let mut item = json!({"get": get_operation(&format!("The {} of one of the {name}", nav.name), true, true)});
                if set == Set::Datastreams && nav.name == "Observations" {
                    item["post"] = create_one(true);
                }
                paths.insert(format!("{PREFIX}/{name}({{id}})/{}", nav.name), item);
            }
        }
    }
    paths.insert(
        format!("{PREFIX}/CreateObservations"),
        json!({"post": {
            "tags": ["sensorthings"],
            "summary": "Observations of one or more Datastreams in the data-array format (§13.2)",
            "description": format!("At most {MAX_BATCH} observations per request. Rows that pass are stored; each rejected row gets an error string in its place in the answer. When no row passes, the answer is 400 and nothing is stored."),
            "security": [{"station_token": []}, {"station_basic": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/StaDataArray"}}}}},
            "responses": {
                "201": {"description": "Per row, in order: the new Observation's self link, or an error string", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}}},
            }
        }}),
    );
    if let Some(p) = paths
        .get_mut(&format!("{PREFIX}/CreateObservations"))
        .and_then(|v| v["post"]["responses"].as_object_mut())
        && let Value::Object(more) = post_responses()
    {
        p.extend(more);
    }
    if let Some(Value::Object(all)) = doc.get_mut("paths") {
        all.extend(paths);
    }
    let schemas = json!({
        "StaServiceRoot": {"type": "object", "required": ["value", "serverSettings"], "properties": {
            "value": {"type": "array", "items": {"type": "object", "required": ["name", "url"], "properties": {"name": {"type": "string"}, "url": {"type": "string", "format": "uri"}}}},
            "serverSettings": {"type": "object", "required": ["conformance"], "properties": {"conformance": {"type": "array", "items": {"type": "string"}}}}
        }},
        "StaEntity": {"type": "object", "required": ["@iot.id", "@iot.selfLink"], "properties": {
            "@iot.id": {"type": "integer"}, "@iot.selfLink": {"type": "string", "format": "uri"}
        }, "additionalProperties": true},
        "StaCollection": {"type": "object", "required": ["value"], "properties": {
            "value": {"type": "array", "items": {"$ref": "#/components/schemas/StaEntity"}},
            "@iot.count": {"type": "integer", "minimum": 0},
            "@iot.nextLink": {"type": "string", "format": "uri"}
        }},
        "StaLink": {"type": "object", "required": ["@iot.id"], "properties": {"@iot.id": {"type": "integer"}}},
        "StaObservation": {"type": "object", "required": ["phenomenonTime", "result"], "properties": {
            "phenomenonTime": {"type": "string", "description": format!("ISO 8601 instant with an offset, not more than {} minutes ahead of the gateway's clock, not before the station was in service", MAX_CLOCK_SKEW_MS / 60_000)},
            "resultTime": {"type": ["string", "null"]},
            "result": {"type": "number", "description": "Within the physically possible range of the Datastream's ObservedProperty (salinity 0–45 g/L, pH 0–14, water temperature 0–50 °C)"},
            "parameters": {"type": ["object", "null"], "description": "Kept as sent; {\"simulated\": true} marks a simulated value"},
            "Datastream": {"$ref": "#/components/schemas/StaLink"},
            "FeatureOfInterest": {"$ref": "#/components/schemas/StaLink"}
        }},
        "StaDataArray": {"type": "object", "required": ["Datastream", "components", "dataArray"], "properties": {
            "Datastream": {"$ref": "#/components/schemas/StaLink"},
            "components": {"type": "array", "items": {"type": "string", "enum": ["phenomenonTime", "resultTime", "result", "parameters", "FeatureOfInterest/id"]}},
            "dataArray": {"type": "array", "items": {"type": "array"}}
        }},
    });
    if let Some(Value::Object(all)) = doc.pointer_mut("/components/schemas")
        && let Value::Object(more) = schemas
    {
        all.extend(more);
    }
    if let Some(Value::Object(schemes)) = doc.pointer_mut("/components/securitySchemes") {
        schemes.insert(
            "station_token".into(),
            json!({"type": "http", "scheme": "bearer", "description": "A station's token (citizen-server admin create-station-token)"}),
        );
        schemes.insert(
            "station_basic".into(),
            json!({"type": "http", "scheme": "basic", "description": "The station's token as the password (any user name), as FROST's clients send it"}),
        );
    }
    if let Some(Value::Array(tags)) = doc.get_mut("tags") {
        tags.push(json!({"name": "sensorthings", "description": "OGC SensorThings API v1.1: the river monitoring stations and their observations"}));
    }
}

fn create_one(in_datastream: bool) -> Value {
    let mut op = json!({
        "tags": ["sensorthings"],
        "summary": if in_datastream { "One Observation of this Datastream" } else { "One Observation" },
        "security": [{"station_token": []}, {"station_basic": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StaObservation"}}}},
        "responses": {
            "201": {"description": "Created; the Location header is its self link", "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StaEntity"}}}},
        }
    });
    if in_datastream {
        op["parameters"] = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}}]);
    }
    if let (Some(r), Value::Object(more)) = (op["responses"].as_object_mut(), post_responses()) {
        r.extend(more);
    }
    op
}
