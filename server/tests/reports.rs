//! Field issue reports over HTTP on loopback: resumable uploads, idempotent submission,
//! routing, the staff API, the feed, Open311, and a table of hostile requests that must each
//! get a clear 4xx and leave the database as it was.

mod common;

use std::path::PathBuf;

use citizen_core::report::{PhotoRef, ReportStatus};
use citizen_server::store::Role;
use common::{
    Api, database_snapshot, department_of, first_two_categories, jpeg, report, sha, staff_token,
    start,
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// A PNG whose header claims 50 000 × 50 000 pixels (2.5 gigapixels) in a few bytes.
fn png_bomb() -> Vec<u8> {
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut out = u32::try_from(data.len())
            .expect("small")
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
        out
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&50_000_u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000_u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    // A zlib stream of a few zero rows: enough to start decoding, far from the whole image.
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x60, 0x18, 0x05, 0x00, 0x00],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[tokio::test]
async fn a_report_is_accepted_once_routed_tracked_and_handled() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let photo_bytes = jpeg(640, 480, 7);
    // Send the photo in 3 chunks, with a retry of a chunk the gateway already has.
    let id = api.announce(photo_bytes.len(), &sha(&photo_bytes)).await;
    let third = photo_bytes.len() / 3;
    assert_eq!(api.patch(id, 0, &photo_bytes[..third]).await.0, 200);
    let (status, body) = api.patch(id, 0, &photo_bytes[..third]).await;
    assert_eq!(
        status, 409,
        "a resent chunk is refused with the offset: {body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains(&third.to_string())
    );
    let (_, state) = api
        .send(Method::GET, &format!("/api/v1/uploads/{id}"), &[], vec![])
        .await;
    assert_eq!(state["offset"], third, "the device can ask where to go on");
    assert_eq!(
        api.patch(id, third, &photo_bytes[third..2 * third]).await.0,
        200
    );
    let (status, done) = api.patch(id, 2 * third, &photo_bytes[2 * third..]).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["complete"], true);
    let photo = PhotoRef {
        id,
        sha256: sha(&photo_bytes),
        size: photo_bytes.len() as u64,
    };

    let sub = report(&category, std::slice::from_ref(&photo));
    let (status, receipt) = api.json(Method::POST, "/api/v1/reports", &sub).await;
    assert_eq!(status, 200, "{receipt}");
    let (status, again) = api.json(Method::POST, "/api/v1/reports", &sub).await;
    assert_eq!(
        (status, &again),
        (200, &receipt),
        "a resend gets the same answer"
    );
    let code = receipt["tracking_code"]
        .as_str()
        .expect("a code")
        .to_owned();
    assert!(code.starts_with("MT"), "{code}");
    assert_eq!(
        receipt["department"],
        department_of(&category).as_str(),
        "routed"
    );
    assert_eq!(receipt["status"], "assigned");

    let reports = api.feed_reports().await;
    assert_eq!(reports.len(), 1, "one report, not two");
    let feed_json = serde_json::to_string(&reports).expect("json");
    assert!(!feed_json.contains("0903"), "no phone in the feed");
    assert!(!feed_json.contains("Nguyễn Văn A"), "no name in the feed");
    let (status, public) = api
        .send(Method::GET, &format!("/api/v1/photos/{id}"), &[], vec![])
        .await;
    assert_eq!(
        status, 200,
        "the photo is published with its report: {public}"
    );
    let published = reqwest::get(format!("{}/api/v1/photos/{id}", gw.base))
        .await
        .expect("photo")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(published.as_ref(), photo_bytes.as_slice(), "byte-identical");

    // The department sees it with the contact, and moves it along.
    let token = staff_token(&gw, &department_of(&category)).await;
    let auth = format!("Bearer {token}");
    let (status, queue) = api
        .send(
            Method::GET,
            "/api/v1/staff/reports",
            &[("authorization", &auth)],
            vec![],
        )
        .await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue[0]["report"]["tracking_code"], code.as_str());
    assert_eq!(
        queue[0]["contact"]["phone"], "0903 123 456",
        "staff see the contact"
    );
    let change = |body: Value| {
        let auth = auth.clone();
        let api = &api;
        let code = code.clone();
        async move {
            api.send(
                Method::POST,
                &format!("/api/v1/staff/reports/{code}/status"),
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                serde_json::to_vec(&body).expect("json"),
            )
            .await
        }
    };
    let (status, body) =
        change(json!({"status": "in_progress", "note": "Đội vệ sinh đang đến"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = change(json!({"status": "resolved"})).await;
    assert_eq!(status, 400, "no closing without a note: {body}");
    let fix = api.upload(&jpeg(320, 240, 40), 100_000).await;
    let (status, body) =
        change(json!({"status": "resolved", "note": "Đã thu gom.", "photo": fix.id})).await;
    assert_eq!(status, 200, "{body}");

    let view = api.feed_reports().await.pop().expect("the report");
    let steps: Vec<ReportStatus> = view.history.iter().map(|h| h.status).collect();
    assert_eq!(
        steps,
        [
            ReportStatus::Received,
            ReportStatus::Assigned,
            ReportStatus::InProgress,
            ReportStatus::Resolved
        ],
        "the whole timeline reaches devices through the feed"
    );
    assert_eq!(
        view.history[3].photo,
        Some(fix.id),
        "with the photo of the fix"
    );
    let (status, _) = api
        .send(
            Method::GET,
            &format!("/api/v1/photos/{}", fix.id),
            &[],
            vec![],
        )
        .await;
    assert_eq!(status, 200, "the fix photo is published");

    let (status, open311) = api
        .send(
            Method::GET,
            &format!("/open311/v2/requests/{code}.json"),
            &[],
            vec![],
        )
        .await;
    assert_eq!(status, 200, "{open311}");
    assert_eq!(open311[0]["status"], "closed");
    assert_eq!(open311[0]["status_notes"], "Đã thu gom.");
    gw.stop().await;
}

#[tokio::test]
async fn me_too_counts_each_device_once() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let sub = report(&category, &[]);
    let (status, receipt) = api.json(Method::POST, "/api/v1/reports", &sub).await;
    assert_eq!(status, 200, "{receipt}");
    let path = format!(
        "/api/v1/reports/{}/supports",
        receipt["id"].as_str().expect("id")
    );
    let device = Uuid::now_v7();
    let op = Uuid::now_v7();
    for _ in 0..2 {
        let (status, body) = api
            .json(
                Method::POST,
                &path,
                &json!({"op_id": op, "device_id": device}),
            )
            .await;
        assert_eq!(
            (status, body["supporters"].clone()),
            (200, json!(1)),
            "{body}"
        );
    }
    let (_, body) = api
        .json(
            Method::POST,
            &path,
            &json!({"op_id": Uuid::now_v7(), "device_id": device}),
        )
        .await;
    assert_eq!(
        body["supporters"], 1,
        "the same device again does not count"
    );
    let (_, body) = api
        .json(
            Method::POST,
            &path,
            &json!({"op_id": Uuid::now_v7(), "device_id": Uuid::now_v7()}),
        )
        .await;
    assert_eq!(body["supporters"], 2, "another device does");
    assert_eq!(
        api.feed_reports().await[0].supporters,
        2,
        "the feed carries the count"
    );
    gw.stop().await;
}

#[tokio::test]
async fn text_that_looks_like_sql_or_script_is_kept_as_text() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let mut sub = report(&category, &[]);
    let hostile = "'); DROP TABLE reports; -- <script>alert(1)</script>";
    sub["description"] = json!(hostile);
    let (status, receipt) = api.json(Method::POST, "/api/v1/reports", &sub).await;
    assert_eq!(status, 200, "{receipt}");
    let (_, view) = api
        .send(
            Method::GET,
            &format!(
                "/api/v1/reports/{}",
                receipt["tracking_code"].as_str().expect("code")
            ),
            &[],
            vec![],
        )
        .await;
    assert_eq!(
        view["description"], hostile,
        "stored and served verbatim, as data"
    );
    assert_eq!(api.feed_reports().await.len(), 1, "the tables are intact");
    gw.stop().await;
}

struct Hostile {
    what: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    status: u16,
    /// The field the error must name (`field` of the answer, or in an Open311 description).
    field: &'static str,
}

fn hostile(
    what: &'static str,
    method: Method,
    path: impl Into<String>,
    body: Vec<u8>,
    status: u16,
    field: &'static str,
) -> Hostile {
    Hostile {
        what,
        method,
        path: path.into(),
        headers: vec![("content-type", "application/json".into())],
        body,
        status,
        field,
    }
}

fn with(mut v: Value, path: &[&str], new: Value) -> Vec<u8> {
    let mut at = &mut v;
    for key in &path[..path.len() - 1] {
        at = &mut at[*key];
    }
    at[path[path.len() - 1]] = new;
    serde_json::to_vec(&v).expect("json")
}

#[tokio::test]
async fn hostile_requests_get_a_clear_4xx_and_change_nothing() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, other_category) = first_two_categories();

    // What the hostile requests need to exist first.
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    let html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>".to_vec();
    let bomb = png_bomb();
    let truncated = {
        let j = jpeg(400, 300, 3);
        j[..j.len() * 2 / 3].to_vec()
    };
    let u_pdf = api.announce(pdf.len(), &sha(&pdf)).await;
    let u_html = api.announce(html.len(), &sha(&html)).await;
    let u_bomb = api.announce(bomb.len(), &sha(&bomb)).await;
    let u_trunc = api.announce(truncated.len(), &sha(&truncated)).await;
    let good = jpeg(64, 64, 9);
    let u_mismatch = api.announce(good.len(), &sha(b"other bytes")).await;
    let half = api.announce(good.len(), &sha(&good)).await;
    assert_eq!(api.patch(half, 0, &good[..100]).await.0, 200);
    let incomplete = PhotoRef {
        id: half,
        sha256: sha(&good),
        size: good.len() as u64,
    };
    let base = report(&category, &[]);
    let (status, first) = api.json(Method::POST, "/api/v1/reports", &base).await;
    assert_eq!(status, 200, "{first}");
    let first_code = first["tracking_code"].as_str().expect("code").to_owned();
    let other_staff = staff_token(&gw, &department_of(&other_category)).await;
    let staff = staff_token(&gw, &department_of(&category)).await;
    let client_key = gw
        .app_store
        .create_token(Role::Client, None, "open311 test client", 0)
        .await
        .expect("api key");

    let fresh = || report(&category, &[]);
    let mut invalid_utf8 = serde_json::to_vec(&fresh()).expect("json");
    let at = invalid_utf8
        .windows(3)
        .position(|w| w == b"R\xc3\xa1")
        .expect("the description's first letters");
    invalid_utf8[at + 1] = 0xff;
    let mut huge_multipart =
        b"--x\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n\r\n"
            .to_vec();
    huge_multipart.resize(20 * 1024 * 1024, b'A');
    let status_path = format!("/api/v1/staff/reports/{first_code}/status");

    let mut table = vec![
        hostile(
            "malformed JSON",
            Method::POST,
            "/api/v1/reports",
            b"{\"id\": ".to_vec(),
            400,
            "id",
        ),
        hostile(
            "not JSON at all",
            Method::POST,
            "/api/v1/reports",
            b"hello".to_vec(),
            400,
            "body",
        ),
        hostile(
            "unknown category",
            Method::POST,
            "/api/v1/reports",
            with(fresh(), &["category"], json!("ufo")),
            400,
            "category",
        ),
        hostile(
            "SQL in the category",
            Method::POST,
            "/api/v1/reports",
            with(fresh(), &["category"], json!("x' OR '1'='1")),
            400,
            "category",
        ),
        hostile(
            "coordinates at 0,0",
            Method::POST,
            "/api/v1/reports",
            with(fresh(), &["position"], json!({"lat": 0, "lon": 0})),
            400,
            "position",
        ),
        hostile(
            "coordinates in Hà Nội",
            Method::POST,
            "/api/v1/reports",
            with(
                fresh(),
                &["position"],
                json!({"lat": 21.0285, "lon": 105.8542}),
            ),
            400,
            "position",
        ),
        hostile(
            "latitude as text",
            Method::POST,
            "/api/v1/reports",
            with(fresh(), &["position", "lat"], json!("north")),
            400,
            "position.lat",
        ),
        hostile(
            "10 MB description",
            Method::POST,
            "/api/v1/reports",
            with(
                fresh(),
                &["description"],
                json!("x".repeat(10 * 1024 * 1024)),
            ),
            400,
            "description",
        ),
        hostile(
            "empty description",
            Method::POST,
            "/api/v1/reports",
            with(fresh(), &["description"], json!("   ")),
            400,
            "description",
        ),
        hostile(
            "invalid UTF-8",
            Method::POST,
            "/api/v1/reports",
            invalid_utf8,
            400,
            "description",
        ),
        hostile(
            "an unknown field",
            Method::POST,
            "/api/v1/reports",
            with(fresh(), &["admin"], json!(true)),
            400,
            "admin",
        ),
        hostile(
            "script in the phone",
            Method::POST,
            "/api/v1/reports",
            with(
                fresh(),
                &["contact", "phone"],
                json!("<script>alert(1)</script>"),
            ),
            400,
            "contact.phone",
        ),
        hostile(
            "an id that is not a UUID",
            Method::POST,
            "/api/v1/reports",
            with(fresh(), &["id"], json!("1; DROP TABLE reports")),
            400,
            "id",
        ),
        hostile(
            "a photo never uploaded",
            Method::POST,
            "/api/v1/reports",
            with(
                fresh(),
                &["photos"],
                json!([{"id": Uuid::now_v7(), "sha256": sha(b"x"), "size": 1}]),
            ),
            409,
            "photos[0]",
        ),
        hostile(
            "a photo half uploaded",
            Method::POST,
            "/api/v1/reports",
            with(fresh(), &["photos"], json!([incomplete])),
            409,
            "photos[0]",
        ),
        hostile(
            "the same op id with other content",
            Method::POST,
            "/api/v1/reports",
            with(base.clone(), &["description"], json!("Khác hẳn")),
            409,
            "id",
        ),
        hostile(
            "a 20 MB multipart body",
            Method::POST,
            "/api/v1/reports",
            huge_multipart,
            413,
            "body",
        ),
        hostile(
            "an empty upload",
            Method::POST,
            "/api/v1/uploads",
            serde_json::to_vec(&json!({"id": Uuid::now_v7(), "size": 0, "sha256": sha(b"")}))
                .expect("json"),
            400,
            "size",
        ),
        hostile(
            "an 11 MB upload",
            Method::POST,
            "/api/v1/uploads",
            serde_json::to_vec(
                &json!({"id": Uuid::now_v7(), "size": 11 * 1024 * 1024, "sha256": sha(b"")}),
            )
            .expect("json"),
            400,
            "size",
        ),
        hostile(
            "a bad hash",
            Method::POST,
            "/api/v1/uploads",
            serde_json::to_vec(&json!({"id": Uuid::now_v7(), "size": 5, "sha256": "DROP TABLE"}))
                .expect("json"),
            400,
            "sha256",
        ),
        hostile(
            "a PDF named .jpg",
            Method::PATCH,
            format!("/api/v1/uploads/{u_pdf}"),
            pdf,
            422,
            "photo",
        ),
        hostile(
            "an HTML file named .jpg",
            Method::PATCH,
            format!("/api/v1/uploads/{u_html}"),
            html,
            422,
            "photo",
        ),
        hostile(
            "a 50 000 × 50 000 PNG bomb",
            Method::PATCH,
            format!("/api/v1/uploads/{u_bomb}"),
            bomb,
            422,
            "photo",
        ),
        hostile(
            "a truncated JPEG",
            Method::PATCH,
            format!("/api/v1/uploads/{u_trunc}"),
            truncated,
            422,
            "photo",
        ),
        hostile(
            "bytes that do not match the hash",
            Method::PATCH,
            format!("/api/v1/uploads/{u_mismatch}"),
            good.clone(),
            422,
            "body",
        ),
        hostile(
            "a chunk at the wrong offset",
            Method::PATCH,
            format!("/api/v1/uploads/{half}"),
            good[..10].to_vec(),
            409,
            "Upload-Offset",
        ),
        hostile(
            "a chunk past the announced size",
            Method::PATCH,
            format!("/api/v1/uploads/{half}"),
            vec![0; good.len()],
            409,
            "body",
        ),
        hostile(
            "a 2 MB chunk",
            Method::PATCH,
            format!("/api/v1/uploads/{half}"),
            vec![0; 2 * 1024 * 1024],
            413,
            "body",
        ),
        hostile(
            "an upload id that is not a UUID",
            Method::GET,
            "/api/v1/uploads/..%2F..%2Fetc%2Fpasswd",
            vec![],
            400,
            "id",
        ),
        hostile(
            "a me-too without a device",
            Method::POST,
            format!(
                "/api/v1/reports/{}/supports",
                first["id"].as_str().expect("id")
            ),
            b"{\"op_id\": \"0193a6a0-0000-7000-8000-000000000009\"}".to_vec(),
            400,
            "device_id",
        ),
        hostile(
            "staff queue without a token",
            Method::GET,
            "/api/v1/staff/reports",
            vec![],
            401,
            "Authorization",
        ),
        hostile(
            "staff queue with an unknown status",
            Method::GET,
            "/api/v1/staff/reports?status=deleted",
            vec![],
            400,
            "status",
        ),
        hostile(
            "closing without a note",
            Method::POST,
            status_path.clone(),
            serde_json::to_vec(&json!({"status": "resolved"})).expect("json"),
            400,
            "note",
        ),
        hostile(
            "rejecting without a reason",
            Method::POST,
            status_path.clone(),
            serde_json::to_vec(&json!({"status": "rejected", "note": ""})).expect("json"),
            400,
            "note",
        ),
        hostile(
            "a status that does not exist",
            Method::POST,
            status_path.clone(),
            serde_json::to_vec(&json!({"status": "deleted"})).expect("json"),
            400,
            "status",
        ),
        hostile(
            "another department's report",
            Method::POST,
            status_path.clone(),
            serde_json::to_vec(&json!({"status": "in_progress"})).expect("json"),
            404,
            "",
        ),
        hostile(
            "Open311 without api_key",
            Method::POST,
            "/open311/v2/requests.json",
            format!("service_code={category}&lat=10.36&long=106.36&description=x").into_bytes(),
            403,
            "api_key",
        ),
        hostile(
            "Open311 outside the city",
            Method::POST,
            "/open311/v2/requests.json",
            format!("api_key={client_key}&service_code={category}&lat=0&long=0&description=x")
                .into_bytes(),
            400,
            "lat/long",
        ),
        hostile(
            "Open311 with a bad start_date",
            Method::GET,
            "/open311/v2/requests.json?start_date=yesterday",
            vec![],
            400,
            "start_date",
        ),
        hostile(
            "Open311 for another city",
            Method::GET,
            "/open311/v2/services.json?jurisdiction_id=ha-noi",
            vec![],
            404,
            "jurisdiction_id",
        ),
    ];
    let auth = |t: &str| ("authorization", format!("Bearer {t}"));
    for h in &mut table {
        match h.what {
            "staff queue with an unknown status"
            | "closing without a note"
            | "rejecting without a reason"
            | "a status that does not exist" => h.headers.push(auth(&staff)),
            "another department's report" => h.headers.push(auth(&other_staff)),
            "a PDF named .jpg"
            | "an HTML file named .jpg"
            | "a 50 000 × 50 000 PNG bomb"
            | "a truncated JPEG"
            | "bytes that do not match the hash"
            | "a 2 MB chunk" => h.headers.push(("upload-offset", "0".into())),
            "a chunk past the announced size" => h.headers.push(("upload-offset", "100".into())),
            "a chunk at the wrong offset" => h.headers.push(("upload-offset", "5".into())),
            "a 20 MB multipart body" => {
                h.headers = vec![("content-type", "multipart/form-data; boundary=x".into())];
            }
            w if w.starts_with("Open311 with")
                || w.starts_with("Open311 without")
                || w == "Open311 outside the city" =>
            {
                h.headers = vec![("content-type", "application/x-www-form-urlencoded".into())];
            }
            _ => {}
        }
    }
    let mut wrong_token = hostile(
        "staff queue with a wrong token",
        Method::GET,
        "/api/v1/staff/reports",
        vec![],
        401,
        "Authorization",
    );
    wrong_token.headers.push(auth("0000"));
    table.push(wrong_token);
    let mut api_key_as_staff = hostile(
        "an Open311 api_key as a staff token",
        Method::GET,
        "/api/v1/staff/reports",
        vec![],
        401,
        "Authorization",
    );
    api_key_as_staff.headers.push(auth(&client_key));
    table.push(api_key_as_staff);
    assert!(
        table.len() >= 25,
        "the issue asks for at least 25, there are {}",
        table.len()
    );

    let mut failures = Vec::new();
    for h in &table {
        let before = database_snapshot(&gw.app_store).await;
        let headers: Vec<(&str, &str)> = h.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = api
            .send(h.method.clone(), &h.path, &headers, h.body.clone())
            .await;
        let after = database_snapshot(&gw.app_store).await;
        // Open311 answers are lists of {code, description}; ours are {code, field, message}.
        let named = match &body {
            Value::Array(errors) => errors[0]["description"]
                .as_str()
                .is_some_and(|d| d.starts_with(&format!("{}:", h.field))),
            other => other["field"].as_str().unwrap_or("") == h.field,
        };
        if status != h.status || !named {
            failures.push(format!(
                "{}: expected {} naming {:?}, got {status} {body}",
                h.what, h.status, h.field
            ));
        }
        if before != after {
            failures.push(format!("{}: the database changed", h.what));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile requests misbehaved:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
    gw.stop().await;
}

#[tokio::test]
async fn open311_answers_follow_the_georeport_v2_schemas() {
    let gw = start().await;
    let api = Api::new(&gw);
    let (category, _) = first_two_categories();
    let photo = api.upload(&jpeg(200, 150, 1), 64 * 1024).await;
    let (_, receipt) = api
        .json(
            Method::POST,
            "/api/v1/reports",
            &report(&category, &[photo]),
        )
        .await;
    let (_, plain) = api
        .json(Method::POST, "/api/v1/reports", &report(&category, &[]))
        .await;
    let token = staff_token(&gw, &department_of(&category)).await;
    let (status, _) = api
        .send(
            Method::POST,
            &format!(
                "/api/v1/staff/reports/{}/status",
                plain["tracking_code"].as_str().expect("code")
            ),
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "application/json"),
            ],
            serde_json::to_vec(&json!({"status": "rejected", "note": "Trùng báo cáo MT00001"}))
                .expect("json"),
        )
        .await;
    assert_eq!(status, 200);
    let key = gw
        .app_store
        .create_token(Role::Client, None, "schema test", 0)
        .await
        .expect("key");
    let (status, created) = api
        .send(
            Method::POST,
            "/open311/v2/requests.json",
            &[("content-type", "application/x-www-form-urlencoded")],
            format!("api_key={key}&jurisdiction_id=my-tho&service_code={category}&lat=10.355&long=106.37&description=%C4%90%C3%A8n+h%E1%BB%8Fng&first_name=Lan&email=lan%40example.vn").into_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{created}");

    let code = receipt["tracking_code"].as_str().expect("code");
    let mut answers = serde_json::Map::new();
    for (name, path) in [
        (
            "services",
            "/open311/v2/services.json?jurisdiction_id=my-tho".to_owned(),
        ),
        (
            "services_en",
            "/open311/v2/services.json?locale=en".to_owned(),
        ),
        (
            "service_definition",
            format!("/open311/v2/services/{category}.json"),
        ),
        ("requests", "/open311/v2/requests.json".to_owned()),
        (
            "requests_closed",
            "/open311/v2/requests.json?status=closed".to_owned(),
        ),
        ("request", format!("/open311/v2/requests/{code}.json")),
        ("created", String::new()),
        ("error", "/open311/v2/requests/NOPE.json".to_owned()),
    ] {
        let value = if path.is_empty() {
            created.clone()
        } else {
            api.send(Method::GET, &path, &[], vec![]).await.1
        };
        answers.insert(name.to_owned(), value);
    }
    assert_eq!(
        answers["requests"].as_array().map(Vec::len),
        Some(3),
        "all three requests"
    );
    assert_eq!(
        answers["requests_closed"].as_array().map(Vec::len),
        Some(1),
        "the rejected one"
    );
    let text = serde_json::to_string(&answers).expect("json");
    for private in ["0903", "Nguyễn Văn A", "lan@example.vn", "Lan"] {
        assert!(!text.contains(private), "{private:?} must not be public");
    }
    assert!(
        answers["request"][0]["media_url"]
            .as_str()
            .is_some_and(|u| u.contains("/api/v1/photos/")),
        "the photo is linked: {}",
        answers["request"]
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let answers_path = dir.path().join("answers.json");
    std::fs::write(&answers_path, &text).expect("written");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/open311/validate.py");
    let output = std::process::Command::new("python3")
        .arg(&script)
        .arg(&answers_path)
        .output()
        .expect("python3 runs (cargo xtask setup installs it with jsonschema and yaml)");
    assert!(
        output.status.success(),
        "the answers break the GeoReport v2 schemas:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    gw.stop().await;
}
