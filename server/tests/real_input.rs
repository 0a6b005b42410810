//! Input as real phones, keyboards and Open311 clients send it: Vietnamese typed decomposed,
//! invisible characters, the bearer scheme in any case, W3C dates in every precision, a form
//! with a photo attached, a byte-order mark, and "me too" on a closed report.

mod common;

use citizen_core::report::ReportStatus;
use citizen_server::store::Role;
use common::{Api, database_snapshot, first_two_categories, jpeg, report, staff_token, start};
use reqwest::Method;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

/// `text` as a keyboard that sends decomposed characters types it (NFD).
fn decomposed(text: &str) -> String {
    text.nfd().collect()
}

/// Asserts a JSON API refusal: its status, the field it names, and words of its message.
fn assert_refused(answer: &(u16, Value), status: u16, field: &str, words: &str) {
    let (got, body) = answer;
    assert_eq!(
        (*got, body["field"].as_str()),
        (status, Some(field)),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains(words)),
        "expected {words:?} in {body}"
    );
}

/// Asserts an Open311 refusal: its status, and a description that starts with the field.
fn assert_open311_refused(answer: &(u16, Value), status: u16, field: &str, words: &str) {
    let (got, body) = answer;
    let description = body[0]["description"].as_str().unwrap_or_default();
    assert_eq!(*got, status, "{body}");
    assert!(
        description.starts_with(field) && description.contains(words),
        "expected {field}: …{words}… in {description:?}"
    );
}

/// Sends a valid report of the pack's first category; its receipt.
async fn accepted_report(api: &Api) -> Value {
    let (category, _) = first_two_categories();
    let (status, receipt) = api
        .json(Method::POST, "/api/v1/reports", &report(&category, &[]))
        .await;
    assert_eq!(status, 200, "{receipt}");
    receipt
}

/// The queue of `department` (a JSON string), as its staff see it.
async fn staff_queue(gw: &common::Gateway, api: &Api, department: &Value) -> Value {
    let token = staff_token(gw, department.as_str().expect("a department")).await;
    let (status, queue) = api
        .send(
            Method::GET,
            "/api/v1/staff/reports",
            &[("authorization", &format!("Bearer {token}"))],
            vec![],
        )
        .await;
    assert_eq!(status, 200, "{queue}");
    queue
}

/// Posts a multipart Open311 form.
async fn post_multipart(api: &Api, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    api.send(
        Method::POST,
        "/open311/v2/requests.json",
        &[("content-type", content_type)],
        body,
    )
    .await
}

async fn get(api: &Api, path: &str) -> (u16, Value) {
    api.send(Method::GET, path, &[], vec![]).await
}

#[tokio::test]
async fn decomposed_vietnamese_is_counted_as_seen_and_stored_composed() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    // 3 900 characters as a person sees them, over 4 000 code points when decomposed.
    let long = "Việt ".repeat(780);
    let typed = decomposed(&long);
    assert!(
        typed.chars().count() > 4_000,
        "the test needs more code points than the limit"
    );
    let mut sub = report(&category, &[]);
    sub["description"] = json!(typed);
    sub["contact"]["name"] = json!(decomposed("Nguyễn Thị Đào"));
    let (status, receipt) = api.json(Method::POST, "/api/v1/reports", &sub).await;
    assert_eq!(status, 200, "3 900 characters fit in 4 000: {receipt}");
    let code = receipt["tracking_code"].as_str().expect("a code");
    let (_, view) = get(&api, &format!("/api/v1/reports/{code}")).await;
    assert!(
        view["description"].as_str() == Some(long.as_str()),
        "stored in NFC"
    );
    let queue = staff_queue(&gw, &api, &receipt["department"]).await;
    assert_eq!(
        queue[0]["contact"]["name"], "Nguyễn Thị Đào",
        "contacts too"
    );

    // The same report sent again, now precomposed, is the same report.
    sub["description"] = json!(long);
    sub["contact"]["name"] = json!("Nguyễn Thị Đào");
    let (status, again) = api.json(Method::POST, "/api/v1/reports", &sub).await;
    assert_eq!(
        (status, &again["tracking_code"]),
        (200, &receipt["tracking_code"])
    );

    let mut over = report(&category, &[]);
    over["description"] = json!(decomposed(&"Việt ".repeat(801)));
    // The count is what a person sees.
    let answer = api.json(Method::POST, "/api/v1/reports", &over).await;
    assert_refused(&answer, 400, "description", "got 4005");
    gw.stop().await;
}

#[tokio::test]
async fn text_of_invisible_characters_is_not_a_description_nor_a_note() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let before = database_snapshot(&gw.app_store).await;
    for blank in ["\u{200B}", "\u{FEFF}\u{2060}", " \u{3164} ", "\u{00A0}\n"] {
        let mut sub = report(&category, &[]);
        sub["description"] = json!(blank);
        let (status, body) = api.json(Method::POST, "/api/v1/reports", &sub).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some("description")),
            "{blank:?}: {body}"
        );
    }
    assert_eq!(
        database_snapshot(&gw.app_store).await,
        before,
        "nothing stored"
    );

    let receipt = accepted_report(&api).await;
    let token = staff_token(&gw, receipt["department"].as_str().expect("department")).await;
    let path = format!(
        "/api/v1/staff/reports/{}/status",
        receipt["id"].as_str().expect("id")
    );
    let auth = format!("Bearer {token}");
    for status_code in ["resolved", "rejected"] {
        let (status, body) = api
            .send(
                Method::POST,
                &path,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                serde_json::to_vec(&json!({"status": status_code, "note": "\u{200B}"}))
                    .expect("json"),
            )
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some("note")),
            "{status_code}: {body}"
        );
    }
    let (_, view) = get(
        &api,
        &format!("/api/v1/reports/{}", receipt["id"].as_str().expect("id")),
    )
    .await;
    assert_eq!(view["status"], "assigned", "the report stays open");
    gw.stop().await;
}

#[tokio::test]
async fn the_bearer_scheme_is_read_in_any_case() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let department = common::department_of(&category);
    let token = staff_token(&gw, &department).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let (status, body) = api
            .send(
                Method::GET,
                "/api/v1/staff/reports",
                &[("authorization", &format!("{scheme} {token}"))],
                vec![],
            )
            .await;
        assert_eq!(status, 200, "{scheme}: {body}");
    }
    let (status, body) = api
        .send(
            Method::GET,
            "/api/v1/staff/reports",
            &[("authorization", &format!("Basic {token}"))],
            vec![],
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (401, Some("Authorization")),
        "{body}"
    );
    gw.stop().await;
}

/// Today in Vietnam, as `YYYY-MM-DD`.
fn today_in_vietnam() -> String {
    let now = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("an offset"));
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

#[tokio::test]
async fn open311_dates_are_read_in_every_w3c_precision() {
    let gw = start().await;
    let api = Api::new(&gw);
    let receipt = accepted_report(&api).await;
    let code = receipt["tracking_code"].as_str().expect("code").to_owned();
    let today = today_in_vietnam();
    let year = &today[..4];
    let month = &today[..7];
    let found = [
        format!("start_date={today}"),
        format!("start_date={today}&end_date={today}"),
        format!("start_date={month}"),
        format!("start_date={year}&end_date={year}"),
        format!("start_date={today}T00:00%2B07:00"),
        // An unencoded `+` arrives as a space.
        format!("start_date={today}T00:00:00+07:00"),
        format!("start_date={today}T00:00"),
        format!("end_date={today}"),
        "start_date=&end_date=".to_owned(),
    ];
    for query in found {
        let (status, body) = get(&api, &format!("/open311/v2/requests.json?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        let codes: Vec<&str> = body
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|r| r["service_request_id"].as_str())
            .collect();
        assert_eq!(codes, [code.as_str()], "{query}");
    }
    let (status, body) = get(&api, "/open311/v2/requests.json?end_date=2020-01-01").await;
    assert_eq!(
        (status, body.as_array().map(Vec::len)),
        (200, Some(0)),
        "{body}"
    );
    for (query, field, words) in [
        (
            "start_date=2026-11-05&end_date=2026-11-01",
            "start_date",
            "after end_date",
        ),
        ("start_date=2026-02-30", "start_date", "not a calendar date"),
        ("end_date=next+week", "end_date", "not a W3C date-time"),
    ] {
        let answer = get(&api, &format!("/open311/v2/requests.json?{query}")).await;
        assert_open311_refused(&answer, 400, field, words);
    }
    gw.stop().await;
}

/// A `multipart/form-data` body of text fields and, optionally, a `media` file part.
fn multipart(fields: &[(&str, &str)], media: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "----citizen-test-7d1f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(media) = media {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; \
                 filename=\"IMG_0001.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(media);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn open311_takes_a_multipart_form_with_a_photo() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let key = gw
        .app_store
        .create_token(Role::Client, None, "multipart client", 0)
        .await
        .expect("api key");
    // A portrait camera photo, with GPS and a serial in its EXIF and a Motion Photo video.
    let mut photo = portrait_camera_photo();
    photo.extend_from_slice(b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom-video-data");
    let description = decomposed("Đèn đường hỏng trước trường học");
    let fields = [
        ("api_key", key.as_str()),
        ("service_code", category.as_str()),
        ("lat", "10.3600"),
        ("long", "106.3620"),
        ("description", description.as_str()),
        ("first_name", "Lan"),
    ];
    let (content_type, body) = multipart(&fields, Some(&photo));
    let (status, created) = post_multipart(&api, &content_type, body).await;
    assert_eq!(status, 200, "{created}");
    let id = created[0]["service_request_id"].as_str().expect("an id");
    let (_, request) = get(&api, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(
        request[0]["description"], "Đèn đường hỏng trước trường học",
        "stored in NFC"
    );
    let media_url = request[0]["media_url"]
        .as_str()
        .expect("the photo is published");
    let published = api
        .http
        .get(media_url)
        .send()
        .await
        .expect("the photo")
        .bytes()
        .await
        .expect("bytes");
    assert!(!published.windows(5).any(|w| w == b"Exif\0"), "no EXIF");
    assert!(
        !published.windows(9).any(|w| w == b"SN-OPEN311"),
        "no serial"
    );
    assert!(!published.windows(8).any(|w| w == b"ftypmp42"), "no video");
    let decoded = image::load_from_memory(&published).expect("decodes");
    assert_eq!(
        (decoded.width(), decoded.height()),
        (30, 40),
        "turned upright"
    );

    // The same form without a photo, the key in the query string as some clients send it.
    let form = format!("service_code={category}&lat=10.36&long=106.362&description=Ngập");
    let (status, created) = api
        .send(
            Method::POST,
            &format!("/open311/v2/requests.json?api_key={key}"),
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            form.into_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{created}");

    // A browser form with no file chosen sends an empty `media` part: a report without a photo.
    let (content_type, body) = multipart(&fields, Some(b""));
    let (status, created) = post_multipart(&api, &content_type, body).await;
    assert_eq!(status, 200, "{created}");

    let before = database_snapshot(&gw.app_store).await;
    let refused = [
        (Some(&b"%PDF-1.7 a document"[..]), 422, "media", "PDF"),
        (
            Some(&b"\0\0\0\x18ftypheic\0\0\0\0"[..]),
            422,
            "media",
            "HEIC",
        ),
    ];
    for (media, status_code, field, words) in refused {
        let (content_type, body) = multipart(&fields, media);
        let answer = post_multipart(&api, &content_type, body).await;
        assert_open311_refused(&answer, status_code, field, words);
    }
    let (status, answer) = api
        .send(
            Method::POST,
            "/open311/v2/requests.json",
            &[("content-type", "application/json")],
            br#"{"api_key": "x"}"#.to_vec(),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer[0]["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Content-Type")),
        "{answer}"
    );
    assert_eq!(
        database_snapshot(&gw.app_store).await,
        before,
        "nothing stored"
    );
    gw.stop().await;
}

/// A 40×30 JPEG stored landscape, tagged orientation 6 (portrait), with GPS and a serial.
fn portrait_camera_photo() -> Vec<u8> {
    let landscape = jpeg(40, 30, 7);
    // EXIF by hand: big-endian TIFF with Orientation = 6 and a serial in an ASCII tag.
    let serial = b"SN-OPEN311-0001\0";
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    let serial_at = 8 + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&[0xA4, 0x31, 0, 2]);
    tiff.extend_from_slice(&u32::try_from(serial.len()).expect("small").to_be_bytes());
    tiff.extend_from_slice(&u32::try_from(serial_at).expect("small").to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(serial);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = landscape[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(app1.len() + 2).expect("small").to_be_bytes());
    out.extend(app1);
    out.extend_from_slice(&landscape[2..]);
    out
}

#[tokio::test]
async fn me_too_on_a_closed_report_is_refused_but_a_counted_one_repeats() {
    let gw = start().await;
    let api = Api::new(&gw);
    let receipt = accepted_report(&api).await;
    let id = receipt["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/reports/{id}/supports");
    let early = json!({"op_id": Uuid::now_v7(), "device_id": Uuid::now_v7()});
    let (status, body) = api.json(Method::POST, &path, &early).await;
    assert_eq!((status, &body["supporters"]), (200, &json!(1)), "{body}");

    let token = staff_token(&gw, receipt["department"].as_str().expect("department")).await;
    let (status, body) = api
        .send(
            Method::POST,
            &format!("/api/v1/staff/reports/{id}/status"),
            &[
                ("authorization", &format!("bearer {token}")),
                ("content-type", "application/json"),
            ],
            serde_json::to_vec(&json!({"status": ReportStatus::Resolved, "note": "Đã sửa."}))
                .expect("json"),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let before = database_snapshot(&gw.app_store).await;
    let late = json!({"op_id": Uuid::now_v7(), "device_id": Uuid::now_v7()});
    let answer = api.json(Method::POST, &path, &late).await;
    assert_refused(&answer, 409, "status", "already resolved");
    let (status, body) = api.json(Method::POST, &path, &early).await;
    assert_eq!(
        (status, &body["supporters"]),
        (200, &json!(1)),
        "a retry of a counted me-too gets its receipt: {body}"
    );
    assert_eq!(
        database_snapshot(&gw.app_store).await,
        before,
        "nothing counted"
    );
    gw.stop().await;
}

#[tokio::test]
async fn json_with_a_byte_order_mark_is_read() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(serde_json::to_vec(&report(&category, &[])).expect("json"));
    let (status, receipt) = api
        .send(
            Method::POST,
            "/api/v1/reports",
            &[("content-type", "application/json")],
            body,
        )
        .await;
    assert_eq!(
        status, 200,
        "RFC 8259 8.1 lets a parser ignore a BOM: {receipt}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn every_way_a_body_can_be_wrong_names_its_field() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let good = report(&category, &[]);
    let edit = |path: &[&str], value: Value| {
        let mut v = good.clone();
        let mut at = &mut v;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        serde_json::to_vec(&v).expect("json")
    };
    let without = |path: &[&str]| {
        let mut v = good.clone();
        let mut at = &mut v;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at.as_object_mut()
            .expect("an object")
            .remove(path[path.len() - 1]);
        serde_json::to_vec(&v).expect("json")
    };
    let photo = json!({"id": Uuid::now_v7(), "sha256": "a".repeat(64), "size": 10});
    let table: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "an unknown field inside contact",
            edit(&["contact", "nickname"], json!("Lan")),
            "contact.nickname",
        ),
        (
            "a missing field",
            without(&["position", "lat"]),
            "position.lat",
        ),
        (
            "a missing top-level field",
            without(&["description"]),
            "description",
        ),
        (
            "null where text belongs",
            edit(&["description"], Value::Null),
            "description",
        ),
        (
            "a number where an object belongs",
            edit(&["photos"], json!([1])),
            "photos[0]",
        ),
        (
            "a photo without its hash",
            edit(&["photos"], json!([{"id": photo["id"], "size": 10}])),
            "photos[0].sha256",
        ),
        (
            "a time beyond any clock",
            edit(&["created_at_ms"], json!(1e30)),
            "created_at_ms",
        ),
        (
            "a boolean as the name",
            edit(&["contact", "name"], json!(true)),
            "contact.name",
        ),
        ("an array for the whole body", b"[]".to_vec(), "body"),
        ("an empty body", Vec::new(), "body"),
        (
            "a second JSON value after the first",
            [serde_json::to_vec(&good).expect("json"), b" {}".to_vec()].concat(),
            "body",
        ),
        (
            "a cut-off body",
            serde_json::to_vec(&good).expect("json")[..40].to_vec(),
            "body",
        ),
    ];
    for (what, body, field) in table {
        let (status, answer) = api
            .send(
                Method::POST,
                "/api/v1/reports",
                &[("content-type", "application/json")],
                body,
            )
            .await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some(field)),
            "{what}: {answer}"
        );
    }
    gw.stop().await;
}

#[tokio::test]
async fn a_tracking_code_is_found_as_a_person_types_it() {
    let gw = start().await;
    let api = Api::new(&gw);
    let receipt = accepted_report(&api).await;
    let code = receipt["tracking_code"].as_str().expect("code");
    let typed = format!(" {} ", code.to_lowercase());
    let (status, view) = get(
        &api,
        &format!("/api/v1/reports/{}", typed.replace(' ', "%20")),
    )
    .await;
    assert_eq!(
        (status, &view["tracking_code"]),
        (200, &json!(code)),
        "{view}"
    );
    let (status, list) = get(
        &api,
        &format!("/open311/v2/requests/{}.json", code.to_lowercase()),
    )
    .await;
    assert_eq!(
        (status, &list[0]["service_request_id"]),
        (200, &json!(code)),
        "{list}"
    );
    let (status, list) = get(
        &api,
        &format!(
            "/open311/v2/requests.json?service_request_id={}",
            code.to_lowercase()
        ),
    )
    .await;
    assert_eq!(
        (status, &list[0]["service_request_id"]),
        (200, &json!(code)),
        "{list}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn pasted_text_is_tidied_in_open311_forms_and_held_to_the_document_in_json() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let key = gw
        .app_store
        .create_token(Role::Client, None, "form client", 0)
        .await
        .expect("api key");
    let fields = [
        ("api_key", key.as_str()),
        ("service_code", category.as_str()),
        ("lat", "10.36"),
        ("long", "106.362"),
        ("description", " Ổ gà nguy hiểm ⚠️\u{200B} "),
        ("address_string", "\u{200B}"),
        ("first_name", " Lan "),
        ("phone", "0912\u{00A0}345\u{00A0}678"),
        ("email", "lan@example.vn "),
    ];
    let (content_type, body) = multipart(&fields, None);
    let (status, created) = post_multipart(&api, &content_type, body).await;
    assert_eq!(status, 200, "{created}");
    let code = created[0]["service_request_id"].as_str().expect("an id");
    let (_, view) = get(&api, &format!("/api/v1/reports/{code}")).await;
    assert_eq!(
        view["description"], "Ổ gà nguy hiểm ⚠️",
        "the emoji keeps its selector"
    );
    assert_eq!(
        view["address"],
        Value::Null,
        "an invisible address is no address"
    );
    let queue = staff_queue(&gw, &api, &view["department"]).await;
    assert_eq!(
        queue[0]["contact"],
        json!({"name": "Lan", "phone": "0912 345 678", "email": "lan@example.vn", "anonymous": false})
    );

    // The JSON API holds a client to its document: the pasted phone is named.
    let mut sub = report(&category, &[]);
    sub["contact"]["phone"] = json!("0912\u{00A0}345\u{00A0}678");
    let answer = api.json(Method::POST, "/api/v1/reports", &sub).await;
    assert_refused(&answer, 400, "contact.phone", "phone number");
    gw.stop().await;
}

#[tokio::test]
async fn a_repeated_field_is_named() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let good = serde_json::to_string(&report(&category, &[])).expect("json");
    let twice = good.replacen('{', "{\"description\": \"x\", ", 1);
    let answer = api
        .send(
            Method::POST,
            "/api/v1/reports",
            &[("content-type", "application/json")],
            twice.into_bytes(),
        )
        .await;
    assert_refused(&answer, 400, "description", "duplicate");
    gw.stop().await;
}

#[tokio::test]
async fn addresses_and_forms_that_are_not_utf8_are_named_in_each_api_s_shape() {
    let gw = start().await;
    let api = Api::new(&gw);
    let answer = get(&api, "/api/v1/reports/%FF").await;
    assert_refused(&answer, 400, "path", "UTF-8");
    let answer = get(&api, "/open311/v2/requests/%FF.json").await;
    assert_open311_refused(&answer, 400, "path", "UTF-8");
    let answer = get(&api, "/api/v1/nothing-here").await;
    assert_eq!(
        (answer.0, &answer.1["code"]),
        (404, &json!("not_found")),
        "{}",
        answer.1
    );
    let answer = get(&api, "/open311/v2/nothing.json").await;
    assert_open311_refused(&answer, 404, "path", "nothing is served");
    let key = gw
        .app_store
        .create_token(Role::Client, None, "latin-1 client", 0)
        .await
        .expect("api key");
    let (category, _) = first_two_categories();
    let before = database_snapshot(&gw.app_store).await;
    let form =
        format!("api_key={key}&service_code={category}&lat=10.36&long=106.362&description=caf%E9");
    let answer = api
        .send(
            Method::POST,
            "/open311/v2/requests.json",
            &[("content-type", "application/x-www-form-urlencoded")],
            form.into_bytes(),
        )
        .await;
    assert_open311_refused(&answer, 400, "description", "UTF-8");
    assert_eq!(
        database_snapshot(&gw.app_store).await,
        before,
        "nothing stored"
    );
    gw.stop().await;
}

#[tokio::test]
async fn hashes_in_upper_case_and_open311_values_in_any_case_are_read() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let photo = jpeg(40, 30, 9);
    let upper = common::sha(&photo).to_uppercase();
    let id = Uuid::now_v7();
    let (status, state) = api
        .json(
            Method::POST,
            "/api/v1/uploads",
            &json!({"id": id, "size": photo.len(), "sha256": upper}),
        )
        .await;
    assert_eq!(status, 200, "an upper-case hash is a hash: {state}");
    let (status, state) = api.patch(id, 0, &photo).await;
    assert_eq!((status, &state["complete"]), (200, &json!(true)), "{state}");
    let photos = [citizen_core::report::PhotoRef {
        id,
        sha256: upper.clone(),
        size: photo.len() as u64,
    }];
    let (status, receipt) = api
        .json(Method::POST, "/api/v1/reports", &report(&category, &photos))
        .await;
    assert_eq!(status, 200, "{receipt}");
    let code = receipt["tracking_code"].as_str().expect("code");
    for query in [
        "status=Open",
        "status=OPEN,closed",
        "jurisdiction_id=%20my-tho%20",
    ] {
        let (status, list) = get(&api, &format!("/open311/v2/requests.json?{query}")).await;
        assert_eq!(
            (status, &list[0]["service_request_id"]),
            (200, &json!(code)),
            "{query}: {list}"
        );
    }
    gw.stop().await;
}
