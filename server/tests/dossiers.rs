//! Online public services over HTTP, on the engine the tests run on: identification by phone
//! and one-time code, applications with documents, the dossier's life through staff and
//! resident moves, who may see what, and bad input refused with the field named.

mod common;

use std::sync::Arc;

use citizen_server::document::{sample_encrypted_pdf, sample_pdf};
use citizen_server::otp::MemorySender;
use citizen_server::store::Role;
use common::{Api, Gateway, jpeg, sha};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const PHONE: &str = "0912 345 678";
const PHONE_E164: &str = "+84912345678";
const DEPARTMENT: &str = "ward_culture_society";

async fn gateway() -> (Gateway, Arc<MemorySender>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sender = Arc::new(MemorySender::default());
    let mut config = common::config(&dir);
    config.code_sender = sender.clone();
    (common::start_with(config, dir).await, sender)
}

/// A device of a resident who identified with `phone`.
struct Resident {
    api: Api,
    token: String,
}

impl Resident {
    async fn identify(gw: &Gateway, sender: &MemorySender, phone: &str) -> Resident {
        let api = Api::new(gw);
        let (status, body) = api
            .json(
                Method::POST,
                "/api/v1/identity/codes",
                &json!({"phone": phone}),
            )
            .await;
        assert_eq!(status, 202, "a code is sent: {body}");
        let e164 = body["phone"]
            .as_str()
            .expect("the number as kept")
            .to_owned();
        let code = sender.last_code(&e164).expect("the sender got the code");
        let (status, body) = api
            .json(
                Method::POST,
                "/api/v1/identity/tokens",
                &json!({"phone": phone, "code": code, "device": "test phone"}),
            )
            .await;
        assert_eq!(status, 200, "the code gives a token: {body}");
        Resident {
            api,
            token: body["token"].as_str().expect("a token").to_owned(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: &Value) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token);
        self.api
            .send(
                method,
                path,
                &[
                    ("content-type", "application/json"),
                    ("authorization", &auth),
                ],
                serde_json::to_vec(body).expect("json"),
            )
            .await
    }
}

/// Uploads `data` as a document in 64 KiB chunks; the answer's reference to it.
async fn upload_document(api: &Api, data: &[u8], name: &str, media_type: &str) -> Value {
    let id = Uuid::now_v7();
    let (status, body) = api
        .json(
            Method::POST,
            "/api/v1/uploads",
            &json!({"id": id, "size": data.len(), "sha256": sha(data), "kind": "document"}),
        )
        .await;
    assert_eq!(status, 200, "announced: {body}");
    for (i, part) in data.chunks(64 * 1024).enumerate() {
        let (status, body) = api.patch(id, i * 64 * 1024, part).await;
        assert_eq!(status, 200, "chunk {i} of {name}: {body}");
    }
    json!({"id": id, "name": name, "media_type": media_type, "size": data.len(), "sha256": sha(data)})
}

fn birth_answers(certificate: &Value) -> Value {
    json!({
        "applicant_name": "Nguyễn Thị Lan",
        "applicant_citizen_id": "082190000123",
        "applicant_phone": PHONE,
        "relationship": "mother",
        "child_name": "Trần Minh Khôi",
        "child_sex": "male",
        "child_birth_date": "2026-11-20",
        "child_birth_place": {"ward": "28261", "street": "Bệnh viện Đa khoa, 2 Hùng Vương"},
        "child_ethnicity": "Kinh",
        "mother_name": "Nguyễn Thị Lan",
        "mother_citizen_id": "082190000123",
        "father_known": "no",
        "birth_certificate": [certificate],
        "declaration": true,
    })
}

async fn staff_token(gw: &Gateway, department: &str) -> String {
    gw.app_store
        .create_token(Role::Staff, Some(department), "test staff", 0)
        .await
        .expect("a staff token")
}

async fn staff(api: &Api, token: &str, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    api.send(
        method,
        path,
        &[
            ("content-type", "application/json"),
            ("authorization", &auth),
        ],
        serde_json::to_vec(body).expect("json"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_goes_from_application_to_rating_through_the_api() {
    let (gw, sender) = gateway().await;
    let lan = Resident::identify(&gw, &sender, PHONE).await;
    let pdf = sample_pdf(2);
    let photo = jpeg(800, 600, 7);
    let certificate =
        upload_document(&lan.api, &pdf, "giay-chung-sinh.pdf", "application/pdf").await;
    let id = Uuid::now_v7();
    let application = json!({"id": id, "procedure": "birth-registration", "answers": birth_answers(&certificate)});
    let (status, receipt) = lan
        .call(Method::POST, "/api/v1/dossiers", &application)
        .await;
    assert_eq!(status, 200, "applied: {receipt}");
    let code = receipt["code"].as_str().expect("a code").to_owned();
    assert!(code.starts_with("MT-") && code.len() == 12, "{code}");
    assert!(receipt["due_at_ms"].as_i64().is_some(), "with a due date");
    let (status, again) = lan
        .call(Method::POST, "/api/v1/dossiers", &application)
        .await;
    assert_eq!(
        (status, &again["code"]),
        (200, &receipt["code"]),
        "a resend is the same dossier"
    );

    let desk = staff_token(&gw, DEPARTMENT).await;
    let (status, queue) = staff(
        &lan.api,
        &desk,
        Method::GET,
        "/api/v1/staff/dossiers?status=received",
        &json!(null),
    )
    .await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(
        queue.as_array().map(Vec::len),
        Some(1),
        "the department sees it: {queue}"
    );
    let path = format!(
        "/api/v1/staff/dossiers/{}",
        code.to_lowercase().replace('-', " ")
    );
    let (status, opened) = staff(&lan.api, &desk, Method::GET, &path, &json!(null)).await;
    assert_eq!(status, 200, "opened by a code typed any way: {opened}");
    assert_eq!(opened["phone"], PHONE_E164);
    let act = |action: Value| {
        let (desk, api, code) = (&desk, &lan.api, &code);
        async move {
            staff(
                api,
                desk,
                Method::POST,
                &format!("/api/v1/staff/dossiers/{code}/actions"),
                &action,
            )
            .await
        }
    };
    assert_eq!(act(json!({"action": "start_review"})).await.0, 200);
    let (status, asked) = act(json!({"action": "request_supplement", "items": [
        {"item": "Giấy chứng nhận kết hôn của cha mẹ", "reason": "Để ghi tên cha vào giấy khai sinh"}
    ]}))
    .await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(asked["due_at_ms"], Value::Null, "the clock stops");

    let marriage = upload_document(&lan.api, &photo, "ket-hon.jpg", "image/jpeg").await;
    let op = json!({"op_id": Uuid::now_v7(), "action": {"action": "supplement", "answer": "Gửi bản chụp giấy kết hôn", "documents": [marriage]}});
    let ops = format!("/api/v1/dossiers/{code}/ops");
    let (status, supplemented) = lan.call(Method::POST, &ops, &op).await;
    assert_eq!(status, 200, "{supplemented}");
    let (status, repeated) = lan.call(Method::POST, &ops, &op).await;
    assert_eq!(status, 200, "{repeated}");
    assert_eq!(
        repeated["revision"], supplemented["revision"],
        "a resent op changes nothing"
    );
    let (status, second) = lan
        .call(Method::POST, &ops, &json!({"op_id": Uuid::now_v7(), "action": {"action": "supplement", "answer": "again"}}))
        .await;
    assert_eq!(status, 409, "a supplement nobody asked for: {second}");

    assert_eq!(act(json!({"action": "approve"})).await.0, 200);
    let result_pdf = sample_pdf(1);
    let result = upload_document(
        &lan.api,
        &result_pdf,
        "trich-luc-khai-sinh.pdf",
        "application/pdf",
    )
    .await;
    let (status, ready) = act(json!({"action": "upload_result", "document": result, "note": "Bản chính nhận tại bộ phận một cửa"})).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "result_ready");

    let (status, mine) = lan
        .call(Method::GET, "/api/v1/dossiers", &json!(null))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        mine[0]["status"], "result_ready",
        "the resident sees it: {mine}"
    );
    let result_id = result["id"].as_str().expect("id");
    let res = lan
        .api
        .http
        .get(format!(
            "{}/api/v1/dossiers/{code}/documents/{result_id}",
            gw.base
        ))
        .bearer_auth(&lan.token)
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.bytes().await.expect("bytes").as_ref(),
        result_pdf.as_slice(),
        "the result, byte for byte"
    );

    let (status, rated) = lan
        .call(Method::POST, &ops, &json!({"op_id": Uuid::now_v7(), "action": {"action": "rate", "stars": 5, "comment": "Nhanh"}}))
        .await;
    assert_eq!(status, 200, "{rated}");
    let statuses: Vec<&str> = rated["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|t| t["status"].as_str().expect("a status"))
        .collect();
    assert_eq!(
        statuses,
        [
            "received",
            "in_review",
            "supplement_requested",
            "in_review",
            "approved",
            "result_ready",
            "done"
        ]
    );
    let (status, looked) = lan
        .api
        .json(
            Method::POST,
            "/api/v1/dossiers/lookup",
            &json!({"code": code, "phone": "+84 912 345 678"}),
        )
        .await;
    assert_eq!(
        (status, &looked["code"]),
        (200, &json!(code)),
        "looked up from any device"
    );
    let feed = reqwest::get(format!("{}/api/v1/sync?since=0&limit=10000", gw.base))
        .await
        .expect("feed")
        .text()
        .await
        .expect("text");
    assert!(
        !feed.contains(&code) && !feed.contains("082190000123"),
        "nothing of a dossier in the public feed"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_else_can_read_or_move_a_dossier_nor_learn_that_it_exists() {
    let (gw, sender) = gateway().await;
    let lan = Resident::identify(&gw, &sender, PHONE).await;
    let other = Resident::identify(&gw, &sender, "0987654321").await;
    let certificate = upload_document(&lan.api, &sample_pdf(1), "a.pdf", "application/pdf").await;
    let (status, receipt) = lan
        .call(Method::POST, "/api/v1/dossiers", &json!({"id": Uuid::now_v7(), "procedure": "birth-registration", "answers": birth_answers(&certificate)}))
        .await;
    assert_eq!(status, 200, "{receipt}");
    let code = receipt["code"].as_str().expect("code").to_owned();
    let doc = certificate["id"].as_str().expect("id").to_owned();
    let elsewhere = staff_token(&gw, "urban_management").await;
    let unknown = "MT-2222-2222";
    let supplement = json!({"op_id": Uuid::now_v7(), "action": {"action": "rate", "stars": 1}});
    let api = &lan.api;
    let as_token = |token: Option<String>, method: Method, path: String, body: Value| async move {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        if let Some(t) = token {
            headers.push(("authorization", format!("Bearer {t}")));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        api.send(
            method,
            &path,
            &headers,
            serde_json::to_vec(&body).expect("json"),
        )
        .await
        .0
    };
    // (who, request, expected status, what it shows)
    let rows: Vec<(&str, u16, u16)> = vec![
        (
            "another resident reads it",
            as_token(
                Some(other.token.clone()),
                Method::GET,
                format!("/api/v1/dossiers/{code}"),
                json!(null),
            )
            .await,
            404,
        ),
        (
            "another resident reads an unknown code",
            as_token(
                Some(other.token.clone()),
                Method::GET,
                format!("/api/v1/dossiers/{unknown}"),
                json!(null),
            )
            .await,
            404,
        ),
        (
            "another resident rates it",
            as_token(
                Some(other.token.clone()),
                Method::POST,
                format!("/api/v1/dossiers/{code}/ops"),
                supplement.clone(),
            )
            .await,
            404,
        ),
        (
            "another resident downloads its document",
            as_token(
                Some(other.token.clone()),
                Method::GET,
                format!("/api/v1/dossiers/{code}/documents/{doc}"),
                json!(null),
            )
            .await,
            404,
        ),
        (
            "another department's staff open it",
            as_token(
                Some(elsewhere.clone()),
                Method::GET,
                format!("/api/v1/staff/dossiers/{code}"),
                json!(null),
            )
            .await,
            404,
        ),
        (
            "another department's staff move it",
            as_token(
                Some(elsewhere.clone()),
                Method::POST,
                format!("/api/v1/staff/dossiers/{code}/actions"),
                json!({"action": "start_review"}),
            )
            .await,
            404,
        ),
        (
            "another department's staff download its document",
            as_token(
                Some(elsewhere.clone()),
                Method::GET,
                format!("/api/v1/dossiers/{code}/documents/{doc}"),
                json!(null),
            )
            .await,
            404,
        ),
        (
            "no token reads it",
            as_token(
                None,
                Method::GET,
                format!("/api/v1/dossiers/{code}"),
                json!(null),
            )
            .await,
            401,
        ),
        (
            "no token moves it",
            as_token(
                None,
                Method::POST,
                format!("/api/v1/staff/dossiers/{code}/actions"),
                json!({"action": "start_review"}),
            )
            .await,
            401,
        ),
        (
            "a resident acts as staff",
            as_token(
                Some(lan.token.clone()),
                Method::POST,
                format!("/api/v1/staff/dossiers/{code}/actions"),
                json!({"action": "start_review"}),
            )
            .await,
            401,
        ),
        (
            "a made-up token",
            as_token(
                Some("0".repeat(64)),
                Method::GET,
                "/api/v1/dossiers".into(),
                json!(null),
            )
            .await,
            401,
        ),
        (
            "the code with the wrong phone",
            as_token(
                None,
                Method::POST,
                "/api/v1/dossiers/lookup".into(),
                json!({"code": code, "phone": "0987654321"}),
            )
            .await,
            404,
        ),
        (
            "a guessed code with the right phone",
            as_token(
                None,
                Method::POST,
                "/api/v1/dossiers/lookup".into(),
                json!({"code": unknown, "phone": PHONE}),
            )
            .await,
            404,
        ),
    ];
    let wrong: Vec<String> = rows
        .iter()
        .filter(|(_, got, want)| got != want)
        .map(|(who, got, want)| format!("{who}: {got}, expected {want}"))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    let (status, theirs) = other
        .call(Method::GET, "/api/v1/dossiers", &json!(null))
        .await;
    assert_eq!(
        (status, theirs),
        (200, json!([])),
        "the other resident lists nothing"
    );

    // One-time codes: a reused code, a wrong one, an expired one.
    let api = Api::new(&gw);
    let (status, _) = api
        .json(
            Method::POST,
            "/api/v1/identity/codes",
            &json!({"phone": "0911111111"}),
        )
        .await;
    assert_eq!(status, 202);
    let code = sender.last_code("+84911111111").expect("sent");
    let redeem = |code: String| {
        let api = &api;
        async move {
            api.json(
                Method::POST,
                "/api/v1/identity/tokens",
                &json!({"phone": "0911111111", "code": code}),
            )
            .await
            .0
        }
    };
    assert_eq!(redeem(code.clone()).await, 200);
    assert_eq!(redeem(code).await, 401, "a code works once");
    let (status, again) = api
        .json(
            Method::POST,
            "/api/v1/identity/codes",
            &json!({"phone": "0911111111"}),
        )
        .await;
    assert_eq!(status, 429, "one code a minute: {again}");
    let store = &gw.app_store;
    let (expired, _) = store
        .new_one_time_code("+84922222222", 0)
        .await
        .expect("made");
    assert!(
        store
            .redeem_one_time_code("+84922222222", &expired, "x", 6 * 60_000)
            .await
            .is_err(),
        "expired after 5 minutes"
    );
    let (guessed, _) = store
        .new_one_time_code("+84933333333", 0)
        .await
        .expect("made");
    let wrong_guess = if guessed == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        assert!(
            store
                .redeem_one_time_code("+84933333333", wrong_guess, "x", 1000)
                .await
                .is_err()
        );
    }
    assert!(
        store
            .redeem_one_time_code("+84933333333", &guessed, "x", 1000)
            .await
            .is_err(),
        "five wrong guesses burn the code"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_applications_are_refused_naming_the_field_and_nothing_is_kept() {
    let (gw, sender) = gateway().await;
    let lan = Resident::identify(&gw, &sender, PHONE).await;
    let api = &lan.api;
    let good = upload_document(api, &sample_pdf(1), "a.pdf", "application/pdf").await;
    let photo_upload = {
        let photo = jpeg(64, 64, 1);
        let r = api.upload(&photo, 64 * 1024).await;
        json!({"id": r.id, "name": "p.jpg", "media_type": "image/jpeg", "size": r.size, "sha256": r.sha256})
    };
    // Uploads the checks refuse when they complete, each with what the gateway says.
    let mut refused_uploads = Vec::new();
    for (what, data) in [
        (
            "an executable named .pdf",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00".to_vec(),
        ),
        (
            "HTML named .pdf",
            b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>".to_vec(),
        ),
        ("an encrypted PDF", sample_encrypted_pdf()),
        ("a 2 000-page PDF", sample_pdf(2_000)),
    ] {
        let id = Uuid::now_v7();
        let (status, _) = api
            .json(
                Method::POST,
                "/api/v1/uploads",
                &json!({"id": id, "size": data.len(), "sha256": sha(&data), "kind": "document"}),
            )
            .await;
        assert_eq!(status, 200, "{what} is announced");
        let mut last = (0, Value::Null);
        for (i, part) in data.chunks(1024 * 1024).enumerate() {
            last = api.patch(id, i * 1024 * 1024, part).await;
        }
        refused_uploads.push((what, last.0, last.1["field"].clone()));
    }
    for (what, status, field) in &refused_uploads {
        assert_eq!((*status, field), (422, &json!("document")), "{what}");
    }
    let (status, big) = api
        .json(Method::POST, "/api/v1/uploads", &json!({"id": Uuid::now_v7(), "size": 50 * 1024 * 1024, "sha256": "ab".repeat(32), "kind": "document"}))
        .await;
    assert_eq!(
        (status, &big["field"]),
        (400, &json!("size")),
        "a 50 MB file: {big}"
    );

    let with = |field: &str, value: Value| {
        let mut answers = birth_answers(&good);
        answers[field] = value;
        answers
    };
    let without = |field: &str| {
        let mut answers = birth_answers(&good);
        answers.as_object_mut().expect("object").remove(field);
        answers
    };
    let unknown_upload = json!({"id": Uuid::now_v7(), "name": "x.pdf", "media_type": "application/pdf", "size": 10, "sha256": "cd".repeat(32)});
    let mut wrong_hash = good.clone();
    wrong_hash["sha256"] = json!("ef".repeat(32));
    // (what, procedure, answers, status, field)
    let rows: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "a citizen ID of 11 digits",
            "birth-registration",
            with("applicant_citizen_id", json!("08219000012")),
            400,
            "answers.applicant_citizen_id",
        ),
        (
            "a citizen ID with a letter",
            "birth-registration",
            with("mother_citizen_id", json!("08219000012X")),
            400,
            "answers.mother_citizen_id",
        ),
        (
            "a citizen ID of no province",
            "birth-registration",
            with("applicant_citizen_id", json!("000190000123")),
            400,
            "answers.applicant_citizen_id",
        ),
        (
            "31/02/2025",
            "birth-registration",
            with("child_birth_date", json!("2025-02-31")),
            400,
            "answers.child_birth_date",
        ),
        (
            "a date as dd/mm/yyyy on the wire",
            "birth-registration",
            with("child_birth_date", json!("20/11/2026")),
            400,
            "answers.child_birth_date",
        ),
        (
            "a birth date in the future",
            "birth-registration",
            with("child_birth_date", json!("2099-01-01")),
            400,
            "answers.child_birth_date",
        ),
        (
            "a phone with letters",
            "birth-registration",
            with("applicant_phone", json!("09I2345678")),
            400,
            "answers.applicant_phone",
        ),
        (
            "an e-mail without @",
            "birth-registration",
            with("applicant_email", json!("lan.example.com")),
            400,
            "answers.applicant_email",
        ),
        (
            "a ward of another province",
            "birth-registration",
            with(
                "child_birth_place",
                json!({"ward": "00004", "street": "1 Ba Đình"}),
            ),
            400,
            "answers.child_birth_place.ward",
        ),
        (
            "an address without a street",
            "birth-registration",
            with("child_birth_place", json!({"ward": "28261", "street": " "})),
            400,
            "answers.child_birth_place.street",
        ),
        (
            "a name with digits",
            "birth-registration",
            with("child_name", json!("Khôi 123")),
            400,
            "answers.child_name",
        ),
        (
            "a choice not offered",
            "birth-registration",
            with("child_sex", json!("x")),
            400,
            "answers.child_sex",
        ),
        (
            "a number as text",
            "judicial-record-certificate",
            json!({"copies": "two"}),
            400,
            "answers.applicant_name",
        ),
        (
            "a missing required file",
            "birth-registration",
            without("birth_certificate"),
            400,
            "answers.birth_certificate",
        ),
        (
            "the declaration not ticked",
            "birth-registration",
            with("declaration", json!(false)),
            400,
            "answers.declaration",
        ),
        (
            "a field the form has not",
            "birth-registration",
            with("favourite_colour", json!("blue")),
            400,
            "answers.favourite_colour",
        ),
        (
            "a file declared as an executable",
            "birth-registration",
            with(
                "birth_certificate",
                json!([{"id": Uuid::now_v7(), "name": "a.pdf", "media_type": "application/x-msdownload", "size": 10, "sha256": "ab".repeat(32)}]),
            ),
            400,
            "answers.birth_certificate[0]",
        ),
        (
            "a file of 50 MB",
            "birth-registration",
            with(
                "birth_certificate",
                json!([{"id": Uuid::now_v7(), "name": "a.pdf", "media_type": "application/pdf", "size": 50 * 1024 * 1024, "sha256": "ab".repeat(32)}]),
            ),
            400,
            "answers.birth_certificate[0]",
        ),
        (
            "a file never uploaded",
            "birth-registration",
            with("birth_certificate", json!([unknown_upload])),
            409,
            "answers.birth_certificate[0]",
        ),
        (
            "a file with another hash",
            "birth-registration",
            with("birth_certificate", json!([wrong_hash])),
            409,
            "answers.birth_certificate[0]",
        ),
        (
            "a photo upload passed off as a document",
            "birth-registration",
            with("birth_certificate", json!([photo_upload])),
            409,
            "answers.birth_certificate[0]",
        ),
        (
            "three files where two are allowed",
            "birth-registration",
            with("birth_certificate", json!([good, good, good])),
            400,
            "answers.birth_certificate",
        ),
        (
            "an unknown procedure",
            "space-travel-permit",
            birth_answers(&good),
            400,
            "procedure",
        ),
        (
            "a procedure without a form",
            "enterprise-registration",
            json!({}),
            400,
            "procedure",
        ),
        (
            "answers that are not an object",
            "birth-registration",
            json!(["a"]),
            400,
            "answers",
        ),
        (
            "the father's ID missing when he is known",
            "birth-registration",
            with("father_known", json!("yes")),
            400,
            "answers.father_name",
        ),
    ];
    assert!(rows.len() >= 25, "at least 25 rows");
    let mut wrong = Vec::new();
    for (what, procedure, answers, status, field) in &rows {
        let body = json!({"id": Uuid::now_v7(), "procedure": procedure, "answers": answers});
        let (got, answer) = lan.call(Method::POST, "/api/v1/dossiers", &body).await;
        if (got, answer["field"].as_str()) != (*status, Some(*field)) {
            wrong.push(format!("{what}: {got} {answer}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // A supplement to a dossier that asked for none.
    let (status, receipt) = lan
        .call(Method::POST, "/api/v1/dossiers", &json!({"id": Uuid::now_v7(), "procedure": "birth-registration", "answers": birth_answers(&good)}))
        .await;
    assert_eq!(status, 200, "{receipt}");
    let code = receipt["code"].as_str().expect("code");
    let (status, answer) = lan
        .call(
            Method::POST,
            &format!("/api/v1/dossiers/{code}/ops"),
            &json!({"op_id": Uuid::now_v7(), "action": {"action": "supplement", "answer": "x"}}),
        )
        .await;
    assert_eq!(
        (status, &answer["field"]),
        (409, &json!("action")),
        "{answer}"
    );
    let (_, mine) = lan
        .call(Method::GET, "/api/v1/dossiers", &json!(null))
        .await;
    assert_eq!(
        mine.as_array().map(Vec::len),
        Some(1),
        "only the good application is kept"
    );
    assert_eq!(
        mine[0]["revision"], 1,
        "and the refused supplement changed nothing"
    );
    gw.stop().await;
}
