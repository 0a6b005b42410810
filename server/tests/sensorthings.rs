//! The SensorThings API against hostile and mistaken input, and the one-store promise: an
//! observation posted through SensorThings is the reading the sync feed publishes, on either
//! instance of a gateway pair.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};

struct Sta {
    base: String,
    http: reqwest::Client,
    token: String,
    other_token: String,
    /// The token's station's Datastreams: (parameter, id).
    datastreams: Vec<(String, i64)>,
    other_datastream: i64,
}

impl Sta {
    async fn on(gw: &common::Gateway) -> Sta {
        let stations = gw.app_store.station_entities().await.expect("stations");
        let now = citizen_server::now_ms();
        let token = gw
            .app_store
            .create_station_token(&stations[0].station_id, "test", now)
            .await
            .expect("token")
            .expect("station");
        let other_token = gw
            .app_store
            .create_station_token(&stations[1].station_id, "test", now)
            .await
            .expect("token")
            .expect("station");
        Sta {
            base: format!("{}/sta/v1.1", gw.base),
            http: reqwest::Client::new(),
            token,
            other_token,
            datastreams: stations[0].datastreams.clone(),
            other_datastream: stations[1].datastreams[0].1,
        }
    }

    fn datastream(&self, parameter: &str) -> i64 {
        self.datastreams
            .iter()
            .find(|(p, _)| p == parameter)
            .map(|d| d.1)
            .expect("datastream")
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}/{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.header("content-type", "application/json").body(b);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn observations(&self) -> i64 {
        let (_, body) = self
            .send(
                reqwest::Method::GET,
                "Observations?$count=true&$top=0",
                None,
                None,
            )
            .await;
        body["@iot.count"].as_i64().expect("count")
    }
}

fn iso(ms: i64) -> String {
    citizen_server::sta::time::format_instant(ms)
}

/// A bad request: what it is, method, path, token, body, the status expected and the field
/// or words its error must name.
type Case<'a> = (
    &'a str,
    reqwest::Method,
    String,
    Option<&'a str>,
    Option<String>,
    u16,
    &'a str,
);

#[tokio::test]
async fn bad_input_is_refused_naming_the_problem_and_stores_nothing() {
    let gw = common::start().await;
    let sta = Sta::on(&gw).await;
    let salinity = sta.datastream("salinity");
    let ph = sta.datastream("ph");
    let now = citizen_server::now_ms();
    let t = iso(now - 600_000);
    let obs = |extra: Value| {
        let mut o =
            json!({"phenomenonTime": t, "result": 1.5, "Datastream": {"@iot.id": salinity}});
        if let (Some(o), Value::Object(extra)) = (o.as_object_mut(), extra) {
            for (k, v) in extra {
                if v.is_null() {
                    o.remove(&k);
                } else {
                    o.insert(k, v);
                }
            }
        }
        o.to_string()
    };
    let array = |components: Value, rows: Value| {
        json!([{"Datastream": {"@iot.id": salinity}, "components": components, "dataArray": rows}])
            .to_string()
    };
    let huge = {
        let rows: Vec<Value> = (0..100_000)
            .map(|i| json!([iso(now - 1_000 * i), 1.0]))
            .collect();
        array(json!(["phenomenonTime", "result"]), json!(rows))
    };
    let deep_expand = "Things?$expand=Datastreams($expand=Thing($expand=Datastreams($expand=Thing($expand=Datastreams($expand=Thing($expand=Datastreams($expand=Thing($expand=Datastreams($expand=Thing))))))))))";
    use reqwest::Method as M;
    let mine = Some(sta.token.as_str());
    let cases: Vec<Case<'_>> = vec![
        ("not JSON", M::POST, "Observations".into(), mine, Some("{\"result\": ".into()), 400, "body"),
        ("NaN is not JSON", M::POST, "Observations".into(), mine, Some(obs(json!({})).replace("1.5", "NaN")), 400, "body"),
        ("an array for one observation", M::POST, "Observations".into(), mine, Some("[]".into()), 400, "body"),
        ("no Datastream", M::POST, "Observations".into(), mine, Some(obs(json!({"Datastream": null}))), 400, "Datastream"),
        ("an unknown Datastream", M::POST, "Observations".into(), mine, Some(obs(json!({"Datastream": {"@iot.id": 999_999}}))), 400, "Datastream"),
        ("a Datastream created inline", M::POST, "Observations".into(), mine, Some(obs(json!({"Datastream": {"name": "new"}}))), 400, "Datastream"),
        ("a FeatureOfInterest created inline", M::POST, "Observations".into(), mine, Some(obs(json!({"FeatureOfInterest": {"name": "x", "feature": {}}}))), 400, "FeatureOfInterest"),
        ("an unknown FeatureOfInterest", M::POST, "Observations".into(), mine, Some(obs(json!({"FeatureOfInterest": {"@iot.id": 999_999}}))), 400, "FeatureOfInterest"),
        ("no token", M::POST, "Observations".into(), None, Some(obs(json!({}))), 401, "Authorization"),
        ("a wrong token", M::POST, "Observations".into(), Some("not-a-token"), Some(obs(json!({}))), 401, "Authorization"),
        ("another station's token", M::POST, "Observations".into(), Some(sta.other_token.as_str()), Some(obs(json!({}))), 403, "Authorization"),
        ("another station's Datastream", M::POST, "Observations".into(), mine, Some(obs(json!({"Datastream": {"@iot.id": sta.other_datastream}}))), 403, "Authorization"),
        ("a time without offset", M::POST, "Observations".into(), mine, Some(obs(json!({"phenomenonTime": "2026-11-30T08:00:00"}))), 400, "phenomenonTime"),
        ("a far-future time", M::POST, "Observations".into(), mine, Some(obs(json!({"phenomenonTime": iso(now + 86_400_000)}))), 400, "phenomenonTime"),
        ("a time before the station existed", M::POST, "Observations".into(), mine, Some(obs(json!({"phenomenonTime": "2019-05-01T00:00:00Z"}))), 400, "phenomenonTime"),
        ("an interval", M::POST, "Observations".into(), mine, Some(obs(json!({"phenomenonTime": format!("{t}/{t}")}))), 400, "phenomenonTime"),
        ("a time that is not a time", M::POST, "Observations".into(), mine, Some(obs(json!({"phenomenonTime": "yesterday"}))), 400, "phenomenonTime"),
        ("a resultTime without offset", M::POST, "Observations".into(), mine, Some(obs(json!({"resultTime": "2026-11-30 08:00"}))), 400, "resultTime"),
        ("NaN as a string", M::POST, "Observations".into(), mine, Some(obs(json!({"result": "NaN"}))), 400, "result"),
        ("a number as a string", M::POST, "Observations".into(), mine, Some(obs(json!({"result": "1.5"}))), 400, "result"),
        ("no result", M::POST, "Observations".into(), mine, Some(obs(json!({"result": null}))), 400, "result"),
        ("negative salinity", M::POST, "Observations".into(), mine, Some(obs(json!({"result": -0.1}))), 400, "result"),
        ("salinity above sea water's", M::POST, "Observations".into(), mine, Some(obs(json!({"result": 45.5}))), 400, "result"),
        ("pH 15", M::POST, format!("Datastreams({ph})/Observations"), mine, Some(json!({"phenomenonTime": t, "result": 15}).to_string()), 400, "result"),
        ("a member not stored", M::POST, "Observations".into(), mine, Some(obs(json!({"validTime": t}))), 400, "validTime"),
        ("parameters not an object", M::POST, "Observations".into(), mine, Some(obs(json!({"parameters": [1]}))), 400, "parameters"),
        ("a path Datastream other than the body's", M::POST, format!("Datastreams({ph})/Observations"), mine, Some(obs(json!({}))), 400, "Datastream"),
        ("creating a Thing", M::POST, "Things".into(), mine, Some("{\"name\": \"x\"}".into()), 405, "Things"),
        ("a dataArray that is an object", M::POST, "CreateObservations".into(), mine, Some(array(json!(["phenomenonTime", "result"]), json!({"a": 1}))), 400, "dataArray"),
        ("a row that is not an array", M::POST, "CreateObservations".into(), mine, Some(array(json!(["phenomenonTime", "result"]), json!([5]))), 400, "dataArray[0]"),
        ("components without result", M::POST, "CreateObservations".into(), mine, Some(array(json!(["phenomenonTime"]), json!([[t]]))), 400, "components"),
        ("an unknown component", M::POST, "CreateObservations".into(), mine, Some(array(json!(["phenomenonTime", "result", "colour"]), json!([[t, 1, "red"]]))), 400, "components[2]"),
        ("a component twice", M::POST, "CreateObservations".into(), mine, Some(array(json!(["result", "phenomenonTime", "result"]), json!([[1, t, 1]]))), 400, "components"),
        ("an unknown Datastream in a data array", M::POST, "CreateObservations".into(), mine, Some(json!([{"Datastream": {"@iot.id": 999_999}, "components": ["phenomenonTime", "result"], "dataArray": [[t, 1]]}]).to_string()), 400, "[0]/Datastream"),
        ("every row bad", M::POST, "CreateObservations".into(), mine, Some(array(json!(["phenomenonTime", "result"]), json!([[t, -1], ["2026-01-01T00:00", 1], [t, "x"]]))), 400, "no observation could be stored"),
        ("100 000 observations in one request", M::POST, "CreateObservations".into(), mine, Some(huge), 413, "at most"),
        ("a $filter syntax error", M::GET, "Observations?$filter=result%20gt".into(), None, None, 400, "$filter"),
        ("a $filter on an unknown property", M::GET, "Observations?$filter=colour%20eq%20'red'".into(), None, None, 400, "colour"),
        ("a $filter comparing a time with a number", M::GET, "Observations?$filter=phenomenonTime%20gt%205".into(), None, None, 400, "cannot compare"),
        ("a $filter with an unknown function", M::GET, "Observations?$filter=frobnicate(result)%20eq%201".into(), None, None, 400, "frobnicate"),
        ("$top=-1", M::GET, "Observations?$top=-1".into(), None, None, 400, "$top"),
        ("$skip=x", M::GET, "Observations?$skip=x".into(), None, None, 400, "$skip"),
        ("$orderby an unknown property", M::GET, "Observations?$orderby=colour".into(), None, None, 400, "$orderby"),
        ("$select an unknown property", M::GET, "Things?$select=colour".into(), None, None, 400, "$select"),
        ("$expand 10 levels deep", M::GET, deep_expand.into(), None, None, 400, "$expand"),
        ("$expand of something else", M::GET, "Things?$expand=Owners".into(), None, None, 400, "Owners"),
        ("a forged $skiptoken", M::GET, "Observations?$skiptoken=%5B%22x%22%5D".into(), None, None, 400, "$skiptoken"),
        ("an unsupported system option", M::GET, "Observations?$resultFormat=dataArray".into(), None, None, 501, "$resultFormat"),
        ("an unknown entity set", M::GET, "Gadgets".into(), None, None, 404, "Gadgets"),
        ("an id that is not a number", M::GET, "Things(abc)".into(), None, None, 404, "Things(abc)"),
    ];
    assert!(cases.len() >= 25);
    let before = sta.observations().await;
    for (what, method, path, token, body, status, names) in cases {
        let (got, answer) = sta.send(method, &path, token, body).await;
        assert_eq!(got.as_u16(), status, "{what}: {answer}");
        let text = answer.to_string();
        assert!(
            text.contains(names),
            "{what}: the error should name {names:?}: {text}"
        );
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {text}"
        );
    }
    assert_eq!(sta.observations().await, before, "nothing was stored");
    gw.stop().await;
}

#[tokio::test]
async fn a_data_array_stores_the_good_rows_and_names_each_bad_one() {
    let gw = common::start().await;
    let sta = Sta::on(&gw).await;
    let now = citizen_server::now_ms();
    let body = json!([{
        "Datastream": {"@iot.id": sta.datastream("salinity")},
        "components": ["result", "phenomenonTime"],
        "dataArray": [[1.25, iso(now - 60_000)], [-3, iso(now - 120_000)], [1.5, "2026-11-30T01:00:00"], [1.75, iso(now - 180_000)]],
    }]);
    let (status, answer) = sta
        .send(
            reqwest::Method::POST,
            "CreateObservations",
            Some(&sta.token),
            Some(body.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let rows = answer.as_array().expect("array");
    assert_eq!(rows.len(), 4);
    assert!(
        rows[0]
            .as_str()
            .is_some_and(|l| l.contains("/Observations(")),
        "{answer}"
    );
    assert!(
        rows[1]
            .as_str()
            .is_some_and(|e| e.starts_with("error") && e.contains("dataArray[1]/result")),
        "{answer}"
    );
    assert!(
        rows[2].as_str().is_some_and(|e| e.starts_with("error")
            && e.contains("phenomenonTime")
            && e.contains("offset")),
        "{answer}"
    );
    assert_eq!(sta.observations().await, 2, "the two good rows");
    // Whole and decimal literals compare with the results alike on both engines (PostgreSQL
    // once read a whole number bound against a DOUBLE PRECISION column as a tiny double).
    for (filter, expected) in [
        ("result%20gt%201", 2),
        ("result%20lt%202", 2),
        ("result%20gt%201.5", 1),
        ("result%20ge%201.25%20and%20result%20le%201.25", 1),
        ("result%20mul%202%20gt%203", 1),
        (
            "geo.distance(FeatureOfInterest/feature,%20geography'POINT(0%200)')%20lt%201",
            0,
        ),
    ] {
        let (status, body) = sta
            .send(
                reqwest::Method::GET,
                &format!("Observations?$count=true&$top=0&$filter={filter}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{filter}: {body}");
        assert_eq!(body["@iot.count"], expected, "{filter}: {body}");
    }
    // Sent again (a logger retrying), nothing new is stored and the same links come back.
    let (_, again) = sta
        .send(
            reqwest::Method::POST,
            "CreateObservations",
            Some(&sta.token),
            Some(body.to_string()),
        )
        .await;
    assert_eq!(again[0], answer[0]);
    assert_eq!(again[3], answer[3]);
    assert_eq!(sta.observations().await, 2);
    // Another result for the same time is a conflict, named.
    let clash = json!({"phenomenonTime": iso(now - 60_000), "result": 9.0, "Datastream": {"@iot.id": sta.datastream("salinity")}});
    let (status, answer) = sta
        .send(
            reqwest::Method::POST,
            "Observations",
            Some(&sta.token),
            Some(clash.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("another result")),
        "{answer}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_observation_is_the_reading_the_feed_publishes_on_both_instances() {
    let a = common::start().await;
    let b = common::another_instance(&a).await;
    let sta = Sta::on(&a).await;
    let now = citizen_server::now_ms();
    let at = now - 5 * 60_000;
    let post = json!({"phenomenonTime": iso(at), "result": 0.1 + 0.2, "Datastream": {"@iot.id": sta.datastream("salinity")}, "parameters": {"simulated": true}});
    let (status, created) = sta
        .send(
            reqwest::Method::POST,
            "Observations",
            Some(&sta.token),
            Some(post.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["@iot.id"].as_i64().expect("id");
    // Read through the other instance: SensorThings and the feed agree to the last bit.
    let other = reqwest::get(format!("{}/sta/v1.1/Observations({id})", b.base))
        .await
        .expect("get")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(other["result"].as_f64(), Some(0.1 + 0.2));
    let feed: citizen_core::SyncPage =
        reqwest::get(format!("{}/api/v1/sync?since=0&limit=1000", b.base))
            .await
            .expect("sync")
            .json()
            .await
            .expect("page");
    let readings: Vec<_> = feed
        .changes
        .iter()
        .filter_map(|c| match &c.op {
            citizen_core::ChangeOp::Upsert { entity } => match entity.as_ref() {
                citizen_core::Entity::Reading(r) => Some((c.seq, r.clone())),
                _ => None,
            },
            citizen_core::ChangeOp::Delete { .. } => None,
        })
        .collect();
    assert_eq!(readings.len(), 1, "one observation, one reading");
    let (seq, reading) = &readings[0];
    assert_eq!(
        *seq, id,
        "the reading's feed position is the observation's id"
    );
    assert_eq!(
        reading.value,
        0.1 + 0.2,
        "the same number, not a rounded copy"
    );
    assert_eq!(reading.observed_at_ms, at);
    assert!(reading.simulated, "the simulation label travels");
    assert_eq!(
        reading.station_id,
        a.app_store.station_entities().await.expect("s")[0].station_id
    );
    // A device whose cursor sits on that reading is not told to restart.
    let page: Value = reqwest::get(format!(
        "{}/api/v1/sync?since={id}&at_kind=reading&at_id={}",
        a.base,
        citizen_core::Entity::Reading(reading.clone()).id()
    ))
    .await
    .expect("sync")
    .json()
    .await
    .expect("page");
    assert_eq!(page["restart"], false, "{page}");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn the_newest_of_every_datastream_comes_from_the_latest_table_and_agrees_with_history() {
    let gw = common::start().await;
    let now = citizen_server::now_ms();
    citizen_server::simulate::insert_history(&gw.app_store, now - 2 * 86_400_000, now, now)
        .await
        .expect("history");
    let get = |query: &'static str| {
        let url = format!("{}/sta/v1.1/Datastreams?{query}", gw.base);
        async move {
            reqwest::get(url)
                .await
                .expect("get")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    // A request reads at most its budget of entities and queries, then is refused.
    let reader = citizen_server::sta::read::Reader {
        store: &gw.app_store,
        base: "http://test/sta/v1.1".into(),
        points: Default::default(),
        now_ms: now,
        budget: std::sync::atomic::AtomicUsize::new(50),
    };
    let set = citizen_server::sta::model::Set::Observations;
    let options =
        citizen_server::sta::query::Options::from_query(set, Some("$top=100")).expect("options");
    match reader.page(set, &Default::default(), &options).await {
        Err(citizen_server::sta::StaError::BadRequest { message, .. }) => {
            assert!(message.contains("smaller $top"), "{message}");
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("a page of 100 read within a budget of 50"),
    }
    // The first reads the latest table; the filter makes the second read the history.
    let latest = get("$expand=Observations($top=1;$orderby=phenomenonTime%20desc)").await;
    let history =
        get("$expand=Observations($top=1;$orderby=phenomenonTime%20desc;$filter=result%20ge%200)")
            .await;
    let datastreams = latest["value"].as_array().expect("value");
    assert_eq!(datastreams.len(), 9, "three stations, three quantities");
    for (a, b) in datastreams
        .iter()
        .zip(history["value"].as_array().expect("value"))
    {
        assert_eq!(a["Observations"], b["Observations"], "{}", a["@iot.id"]);
        assert_eq!(a["Observations"].as_array().map(Vec::len), Some(1));
        // Both say where the older ones are, and the link leads past the newest.
        let next = a["Observations@iot.nextLink"]
            .as_str()
            .expect("a next link");
        let page: Value = reqwest::get(next)
            .await
            .expect("next")
            .json()
            .await
            .expect("json");
        let newest = a["Observations"][0]["phenomenonTime"]
            .as_str()
            .expect("time");
        let second = page["value"][0]["phenomenonTime"]
            .as_str()
            .expect("an older one");
        assert!(second < newest, "{second} before {newest}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn pages_the_database_writes_are_the_pages_the_gateway_renders() {
    use citizen_server::sta::model::Set;
    use citizen_server::sta::query::Options;
    let gw = common::start().await;
    let store = &gw.app_store;
    let now = citizen_server::now_ms();
    citizen_server::simulate::insert_history(store, now - 86_400_000, now, now)
        .await
        .expect("history");
    // What the simulator never makes: milliseconds, result times, parameters with quotes and
    // accents, whole numbers, and times before 1970 (written straight to the store).
    let datastream = store.station_entities().await.expect("stations")[0].datastreams[0].1;
    let limits = store
        .datastream_limits(&[datastream])
        .await
        .expect("limits");
    let feature = limits[&datastream].feature_id;
    let odd: Vec<citizen_server::store::NewObservation> = [
        (
            now - 1_234,
            Some(now - 1_001),
            2.0,
            Some(r#"{"note":"mặn \"cao\" 'x'","n":[1,2]}"#),
        ),
        (now - 5_001, None, 0.1 + 0.2, None),
        (-1_500, Some(-1), 1e-7, Some("{}")),
        (999, None, 45.0, None),
        (now - 7_000, None, 3.5, Some("null")),
    ]
    .into_iter()
    .map(
        |(t, rt, result, parameters)| citizen_server::store::NewObservation {
            datastream_id: datastream,
            feature_id: feature,
            phenomenon_time_ms: t,
            result_time_ms: rt,
            result,
            parameters: parameters.map(str::to_owned),
            simulated: false,
        },
    )
    .collect();
    store.insert_observations(&odd, now).await.expect("insert");
    let queries: &[(Set, &str)] = &[
        (Set::Observations, ""),
        (Set::Observations, "$top=7"),
        (Set::Observations, "$top=5&$skip=3"),
        (Set::Observations, "$orderby=phenomenonTime desc&$top=9"),
        (Set::Observations, "$orderby=resultTime&$top=3"),
        (
            Set::Observations,
            "$orderby=resultTime desc,phenomenonTime&$top=4",
        ),
        (Set::Observations, "$select=result,phenomenonTime&$top=4"),
        (Set::Observations, "$select=id,Datastream&$top=2"),
        (Set::Observations, "$filter=result gt 1&$count=true&$top=3"),
        (
            Set::Observations,
            "$filter=phenomenonTime lt 1970-01-02T00:00:00Z",
        ),
        (Set::Observations, "$top=0&$count=true"),
        (Set::Observations, "$top=10000"),
        (Set::Things, "$orderby=id desc"),
        (Set::Sensors, ""),
        (Set::ObservedProperties, "$select=name,definition"),
        (Set::HistoricalLocations, "$count=true"),
    ];
    for base in ["http://test/sta/v1.1", r#"http://h"o'st\/sta/v1.1"#] {
        let reader = citizen_server::sta::read::Reader {
            store,
            base: base.into(),
            points: Default::default(),
            now_ms: now,
            budget: std::sync::atomic::AtomicUsize::new(citizen_server::sta::read::MAX_WORK),
        };
        // The same, within one Datastream (`Datastreams(id)/Observations`).
        let in_datastream = citizen_server::sta::read::Scope::equals("datastream_id", datastream);
        let everything = citizen_server::sta::read::Scope::default();
        let scoped = queries
            .iter()
            .map(|(set, query)| (*set, *query, &everything))
            .chain(
                [
                    "$orderby=phenomenonTime desc&$top=3&$count=true",
                    "$top=2&$skip=1",
                ]
                .into_iter()
                .map(|q| (Set::Observations, q, &in_datastream)),
            );
        for (set, query, scope) in scoped {
            let set = &set;
            let mut query = query.to_string();
            // Each query, and then the pages its next links lead to.
            for page_number in 0..3 {
                let options = Options::from_query(*set, Some(&query)).expect("options");
                let rendered = reader
                    .rendered_page(*set, scope, &options)
                    .await
                    .expect("rendered page")
                    .unwrap_or_else(|| panic!("{set:?}?{query}: not written by the database"));
                let page = reader.page(*set, scope, &options).await.expect("page");
                let written: Value =
                    serde_json::from_str(&rendered.to_json(None)).expect("valid JSON");
                let what = format!("{set:?}?{query} (page {page_number}, base {base})");
                assert_eq!(written["value"], Value::Array(page.entities), "{what}");
                assert_eq!(rendered.count, page.count, "{what}");
                assert_eq!(rendered.next, page.next, "{what}");
                match rendered.next {
                    Some(next) => query = next,
                    None => break,
                }
            }
        }
    }
    // Times are written as the gateway writes them, milliseconds and years before 1970 too.
    for ms in [
        0,
        1,
        999,
        1_000,
        -1,
        -1_500,
        now,
        now - now % 1_000,
        1_709_272_800_007,
        253_402_300_799_999,
    ] {
        let sql = format!(
            "SELECT {}",
            citizen_server::sta::read::instant_sql(store.backend(), "CAST($1 AS BIGINT)")
        );
        let written: String = sqlx::query_scalar(&sql)
            .bind(ms)
            .fetch_one(store.pool())
            .await
            .expect("instant");
        assert_eq!(written, iso(ms), "{ms} ms");
    }
    // An expansion, or an order by a number, is rendered by the gateway.
    for (set, query) in [
        (Set::Observations, "$expand=Datastream"),
        (Set::Observations, "$orderby=result"),
        (Set::Locations, ""),
        (Set::Datastreams, ""),
    ] {
        let reader = citizen_server::sta::read::Reader {
            store,
            base: "http://test/sta/v1.1".into(),
            points: Default::default(),
            now_ms: now,
            budget: std::sync::atomic::AtomicUsize::new(citizen_server::sta::read::MAX_WORK),
        };
        let options = Options::from_query(set, Some(query)).expect("options");
        let rendered = reader
            .rendered_page(set, &Default::default(), &options)
            .await
            .expect("rendered page");
        assert!(rendered.is_none(), "{set:?}?{query}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn single_posts_sent_at_once_are_each_answered_as_if_stored_alone() {
    let gw = common::start().await;
    let sta = Sta::on(&gw).await;
    let before = sta.observations().await;
    let datastream = sta.datastream("salinity");
    let start = citizen_server::now_ms() - 3_600_000;
    // 30 new times; 5 of them sent again with the same result (a logger's retry), 5 with
    // another result (a conflict) — all at once, so they meet in the same group commits.
    let mut posts: Vec<(usize, f64)> = (0..30).map(|i| (i, 1.0)).collect();
    posts.extend((0..5).map(|i| (i, 1.0)));
    posts.extend((5..10).map(|i| (i, 2.0)));
    let answers = futures::future::join_all(posts.iter().map(|(i, result)| {
        let body = json!({
            "phenomenonTime": iso(start + *i as i64 * 1_000),
            "result": result,
            "Datastream": {"@iot.id": datastream},
        });
        sta.send(
            reqwest::Method::POST,
            "Observations",
            Some(&sta.token),
            Some(body.to_string()),
        )
    }))
    .await;
    // Each created id is the observation its request posted.
    for ((i, result), (status, body)) in posts.iter().zip(&answers) {
        if *status != StatusCode::CREATED {
            continue;
        }
        let id = body["@iot.id"].as_i64().expect("id");
        let (_, stored) = sta
            .send(
                reqwest::Method::GET,
                &format!("Observations({id})"),
                None,
                None,
            )
            .await;
        assert_eq!(
            stored["phenomenonTime"],
            iso(start + *i as i64 * 1_000),
            "{stored}"
        );
        assert_eq!(stored["result"], json!(result), "{stored}");
    }
    let mut ids = std::collections::HashMap::new();
    for (i, _) in &posts {
        let at_time: Vec<&(StatusCode, Value)> = posts
            .iter()
            .zip(&answers)
            .filter(|((j, _), _)| j == i)
            .map(|(_, a)| a)
            .collect();
        let created: Vec<i64> = at_time
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .map(|(_, b)| b["@iot.id"].as_i64().expect("id"))
            .collect();
        match i {
            0..5 => {
                assert_eq!(created.len(), 2, "a retry is answered with the same id");
                assert_eq!(created[0], created[1]);
            }
            5..10 => {
                assert_eq!(
                    created.len(),
                    1,
                    "of two results at one time, one is stored"
                );
                let refused = at_time
                    .iter()
                    .find(|(s, _)| *s == StatusCode::BAD_REQUEST)
                    .expect("the other is refused");
                assert_eq!(refused.1["field"], "phenomenonTime", "{}", refused.1);
            }
            _ => assert_eq!(created.len(), 1),
        }
        ids.insert(*i, created[0]);
    }
    let distinct: std::collections::HashSet<i64> = ids.values().copied().collect();
    assert_eq!(distinct.len(), 30, "one observation per time");
    assert_eq!(sta.observations().await, before + 30);
    gw.stop().await;
}
