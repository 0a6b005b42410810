//! The real app under Xvfb, driven by WebDriver, through a public service from application to
//! rating: the resident identifies once (phone and one-time code), then applies for a birth
//! registration with a PDF and a photo while the gateway is down; it is sent when the gateway
//! comes back and shows the dossier code; the department (through the staff API) asks for a
//! supplement; the resident answers in the app with one more document; the department approves
//! and uploads the result; the resident opens the result and rates the service; the timeline
//! shows every step in order, and the documents reached the city byte for byte.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use citizen_e2e::photos::camera_jpeg;
use citizen_e2e::{
    Display, Driver, GatewayProcess, attr, binary, click, click_to, element, eventually, free_port,
    quit, root, text_of, wait_attr, wait_text,
};
use citizen_server::document::sample_pdf;
use fantoccini::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const DEPARTMENT: &str = "ward_culture_society";

async fn type_in(client: &Client, css: &str, text: &str) -> Result<()> {
    let el = element(client, css).await?;
    el.clear().await?;
    el.send_keys(text).await?;
    Ok(())
}

async fn choose(client: &Client, css: &str, value: &str) -> Result<()> {
    element(client, css).await?.select_by_value(value).await?;
    Ok(())
}

/// Uploads `data` as a document through the resumable upload, as the staff's desk software
/// does; the reference to put in an action.
async fn staff_upload(http: &reqwest::Client, url: &str, data: &[u8], name: &str) -> Result<Value> {
    let id = uuid::Uuid::now_v7();
    let sha = format!("{:x}", Sha256::digest(data));
    let answer = http
        .post(format!("{url}/api/v1/uploads"))
        .json(&json!({"id": id, "size": data.len(), "sha256": sha, "kind": "document"}))
        .send()
        .await?;
    ensure!(
        answer.status().is_success(),
        "announce: {:?}",
        answer.text().await
    );
    let answer = http
        .patch(format!("{url}/api/v1/uploads/{id}"))
        .header("upload-offset", "0")
        .body(data.to_vec())
        .send()
        .await?;
    ensure!(
        answer.status().is_success(),
        "upload: {:?}",
        answer.text().await
    );
    Ok(
        json!({"id": id, "name": name, "media_type": "application/pdf", "size": data.len(), "sha256": sha}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_made_offline_goes_through_to_its_result_and_rating() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let db = tmp.path().join("gateway.db");
    let port = free_port()?;
    let gateway_url = format!("http://127.0.0.1:{port}");
    let downloads = tmp.path().join("downloads");
    let display = Display::get()?;
    let driver = Driver::start(
        &display,
        binary("citizen-app", "debug")?,
        &[
            ("CITIZEN_GATEWAY_URL", gateway_url.clone()),
            (
                "CITIZEN_DATA_DIR",
                tmp.path().join("app").display().to_string(),
            ),
            ("CITIZEN_SYNC_INTERVAL_SECS", "1".to_owned()),
            ("CITIZEN_DOWNLOAD_DIR", downloads.display().to_string()),
        ],
    )?;
    let certificate = sample_pdf(2);
    let certificate_path = tmp.path().join("giay-chung-sinh.pdf");
    std::fs::write(&certificate_path, &certificate)?;
    let marriage_path = tmp.path().join("ket-hon.jpg");
    std::fs::write(
        &marriage_path,
        camera_jpeg(1_600, 1_200, 10.3540, 106.3690, "SN-E2E-DOSSIER"),
    )?;
    let supplement = sample_pdf(1);
    let supplement_path = tmp.path().join("bo-sung.pdf");
    std::fs::write(&supplement_path, &supplement)?;
    let shots = root().join("target/e2e");
    std::fs::create_dir_all(&shots)?;

    // The resident identifies once while the gateway is up.
    let mut gateway = GatewayProcess::start_without_simulation("debug", &db, port)?;
    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "Mỹ Tho").await?;
    click(&app, "#go-services").await?;
    // Found without diacritics, in its field.
    type_in(&app, "#services-search", "khai sinh").await?;
    wait_text(&app, "#catalogue", "Đăng ký khai sinh").await?;
    click_to(
        &app,
        "#catalogue li.procedure[data-id=birth-registration] button",
        "#procedure-documents",
    )
    .await?;
    wait_text(&app, "#procedure-documents", "Giấy chứng sinh").await?;
    click_to(&app, "#apply-online", "#apply .application").await?;
    type_in(&app, "#identify-phone", "0912 345 678").await?;
    click(&app, "#identify-send").await?;
    let code = eventually(Duration::from_secs(20), "the one-time code", || async {
        Ok(gateway.last_code("+84912345678"))
    })
    .await?;
    type_in(&app, "#identify-code", &code).await?;
    click(&app, "#identify-confirm").await?;
    wait_text(&app, "#identified", "+84912345678").await?;

    // Then the gateway goes down, and the resident fills in the form.
    gateway.stop();
    type_in(&app, "#f-applicant_name", "Nguyễn Thị Lan").await?;
    type_in(&app, "#f-applicant_citizen_id", "08219000012").await?;
    // Each answer is checked as it is typed, in the resident's language.
    click(&app, "#f-applicant_phone").await?;
    wait_text(&app, "#f-applicant_citizen_id-error", "12 chữ số").await?;
    type_in(&app, "#f-applicant_citizen_id", "082190000123").await?;
    eventually(
        Duration::from_secs(10),
        "the citizen ID accepted",
        || async {
            Ok(text_of(&app, "#f-applicant_citizen_id-error")
                .await?
                .is_none()
                .then_some(()))
        },
    )
    .await?;
    type_in(&app, "#f-applicant_phone", "0912 345 678").await?;
    choose(&app, "#f-relationship", "mother").await?;
    type_in(&app, "#f-child_name", "Trần Minh Khôi").await?;
    choose(&app, "#f-child_sex", "male").await?;
    type_in(&app, "#f-child_birth_date", "31/02/2025").await?;
    click(&app, "#f-child_ethnicity").await?;
    wait_text(&app, "#f-child_birth_date-error", "Ngày không tồn tại").await?;
    type_in(&app, "#f-child_birth_date", "20/11/2026").await?;
    choose(&app, "#f-child_birth_place", "28261").await?;
    type_in(
        &app,
        "#f-child_birth_place-street",
        "Bệnh viện Đa khoa, 2 Hùng Vương",
    )
    .await?;
    type_in(&app, "#f-child_ethnicity", "Kinh").await?;
    type_in(&app, "#f-mother_name", "Nguyễn Thị Lan").await?;
    type_in(&app, "#f-mother_citizen_id", "082190000123").await?;
    choose(&app, "#f-father_known", "no").await?;
    element(&app, "#f-birth_certificate")
        .await?
        .send_keys(certificate_path.to_str().context("path")?)
        .await?;
    wait_text(
        &app,
        "[data-field=birth_certificate] .files",
        "giay-chung-sinh.pdf",
    )
    .await?;
    element(&app, "#f-marriage_certificate")
        .await?
        .send_keys(marriage_path.to_str().context("path")?)
        .await?;
    wait_text(
        &app,
        "[data-field=marriage_certificate] .files",
        "ket-hon.jpg",
    )
    .await?;
    click(&app, "#f-declaration").await?;
    std::fs::write(shots.join("services-apply.png"), app.screenshot().await?)?;
    click(&app, "#send-application").await?;

    // It shows at once, waiting to be sent.
    wait_attr(&app, "#dossier-status", "data-status", "waiting").await?;
    element(&app, "#dossier-waiting").await?;

    // The gateway comes back: it is sent and gets its code and due date.
    let mut gateway = GatewayProcess::start_without_simulation("debug", &db, port)?;
    let code = wait_text(&app, "#dossier-code", "MT-").await?;
    let code = code.trim().to_owned();
    wait_attr(&app, "#dossier-status", "data-status", "received").await?;
    element(&app, "#dossier-due").await?;

    // The department asks for a supplement, with a token made by the admin command.
    let token = Command::new(binary("citizen-server", "debug")?)
        .args(["--database", &gateway.database_url])
        .arg("--city-pack")
        .arg(root().join("assets/cities/my-tho"))
        .args(["admin", "create-token", "--department", DEPARTMENT])
        .output()?;
    ensure!(token.status.success(), "admin create-token: {token:?}");
    let token = String::from_utf8(token.stdout)?.trim().to_owned();
    let http = reqwest::Client::new();
    let act = |action: Value| {
        let (http, token, url, code) = (&http, &token, &gateway_url, &code);
        async move {
            let answer = http
                .post(format!("{url}/api/v1/staff/dossiers/{code}/actions"))
                .bearer_auth(token)
                .json(&action)
                .send()
                .await?;
            let status = answer.status();
            let body = answer.text().await?;
            ensure!(status.is_success(), "staff {action}: {status} {body}");
            Ok::<_, anyhow::Error>(())
        }
    };
    act(json!({"action": "start_review"})).await?;
    act(json!({"action": "request_supplement", "items": [
        {"item": "Giấy xác nhận nơi cư trú của mẹ", "reason": "Để xác định nơi đăng ký khai sinh"}
    ]}))
    .await?;

    // The resident is told, and answers with one more document.
    wait_text(&app, "#notice-dossier", &code).await?;
    wait_attr(
        &app,
        "#dossier-status",
        "data-status",
        "supplement_requested",
    )
    .await?;
    wait_text(&app, "#supplement-items", "Giấy xác nhận nơi cư trú").await?;
    element(&app, "#dossier-paused").await?;
    type_in(&app, "#supplement-answer", "Gửi giấy xác nhận cư trú").await?;
    element(&app, "#supplement-files")
        .await?
        .send_keys(supplement_path.to_str().context("path")?)
        .await?;
    wait_text(&app, "#supplement .files", "bo-sung.pdf").await?;
    click(&app, "#supplement-send").await?;
    wait_attr(&app, "#dossier-status", "data-status", "in_review").await?;

    // The department approves and uploads the result.
    act(json!({"action": "approve"})).await?;
    let result = sample_pdf(1);
    let reference = staff_upload(&http, &gateway_url, &result, "trich-luc-khai-sinh.pdf").await?;
    act(json!({"action": "upload_result", "document": reference, "note": "Bản chính nhận tại bộ phận một cửa"})).await?;
    wait_attr(&app, "#dossier-status", "data-status", "result_ready").await?;

    // The resident opens the result: kept on the phone and saved to the downloads.
    click(&app, "#open-result").await?;
    let saved = eventually(Duration::from_secs(30), "the result saved", || async {
        attr(&app, "#result-saved", "data-path").await
    })
    .await?;
    ensure!(
        std::fs::read(&saved)? == result,
        "the result opened is the one the department uploaded"
    );
    // And rates the service.
    click(&app, "#rate button.star[data-stars='5']").await?;
    type_in(&app, "#rate-comment", "Nhanh, không phải đi lại").await?;
    click(&app, "#rate-send").await?;
    wait_attr(&app, "#dossier-status", "data-status", "done").await?;
    element(&app, "#dossier-rating").await?;
    let steps = app
        .execute(
            "return [...document.querySelectorAll('#dossier .timeline > li')].map(li => li.dataset.step);",
            vec![],
        )
        .await?;
    ensure!(
        steps
            == json!([
                "submitted",
                "start_review",
                "request_supplement",
                "supplement",
                "approve",
                "upload_result",
                "rate"
            ]),
        "the timeline shows every step in order: {steps}"
    );
    std::fs::write(shots.join("services-dossier.png"), app.screenshot().await?)?;

    // What reached the city: the documents byte for byte (the photo without its metadata).
    let opened: Value = http
        .get(format!("{gateway_url}/api/v1/staff/dossiers/{code}"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let documents = opened["dossier"]["documents"]
        .as_array()
        .context("documents")?;
    ensure!(
        documents.len() == 4,
        "application, photo, supplement, result: {opened}"
    );
    for (doc, expected) in [
        (0, Some(&certificate)),
        (2, Some(&supplement)),
        (3, Some(&result)),
        (1, None),
    ] {
        let id = documents[doc]["id"].as_str().context("an id")?;
        let bytes = http
            .get(format!(
                "{gateway_url}/api/v1/dossiers/{code}/documents/{id}"
            ))
            .bearer_auth(&token)
            .send()
            .await?
            .bytes()
            .await?;
        match expected {
            Some(expected) => ensure!(
                bytes.as_ref() == expected.as_slice(),
                "document {doc} arrived byte for byte"
            ),
            None => ensure!(
                bytes.starts_with(&[0xFF, 0xD8]) && !bytes.windows(6).any(|w| w == b"SN-E2E"),
                "the photo arrived as a JPEG without its camera's serial"
            ),
        }
    }
    quit(app).await?;
    gateway.stop();
    Ok(())
}

/// The answers a resident types, each with what the form must say about it (a problem's
/// translation key, or none): the app (the validation compiled to WASM, as the resident
/// types) and the gateway (the same validation, native, on submission) are fed the same table
/// and must agree with it and with each other.
const AGREEMENT: &[(&str, &str, Option<&str>)] = &[
    (
        "applicant_citizen_id",
        "08219000012",
        Some("form-problem-citizen-id-digits"),
    ),
    (
        "applicant_citizen_id",
        "003190000123",
        Some("form-problem-citizen-id-province"),
    ),
    (
        "applicant_citizen_id",
        "082499000123",
        Some("form-problem-citizen-id-year"),
    ),
    ("applicant_citizen_id", "0821 9000 0123", None),
    ("applicant_phone", "09123abc78", Some("form-problem-phone")),
    ("applicant_phone", "0112345678", Some("form-problem-phone")),
    ("applicant_phone", "+84 912.345.678", None),
    (
        "applicant_email",
        "lan@@example",
        Some("form-problem-email"),
    ),
    ("applicant_email", "lan@example.com", None),
    (
        "child_birth_date",
        "31/02/2025",
        Some("form-problem-invalid-date"),
    ),
    (
        "child_birth_date",
        "1/13/2025",
        Some("form-problem-invalid-date"),
    ),
    (
        "child_birth_date",
        "01/01/2099",
        Some("form-problem-date-in-future"),
    ),
    ("child_birth_date", "20/11/2026", None),
    ("child_name", "K", Some("form-problem-too-short")),
    ("child_name", "Khôi 2", Some("form-problem-pattern")),
    ("child_name", "Trần Minh Khôi", None),
    ("child_ethnicity", "X", Some("form-problem-too-short")),
    ("child_ethnicity", "Kinh", None),
];

/// What the gateway says about `field` set to `value` in an otherwise valid application: the
/// key of its problem for that field, or none (accepted).
async fn gateway_says(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    certificate: &Value,
    field: &str,
    value: Value,
) -> Result<Option<String>> {
    let mut answers = citizen_e2e::birth_registration_answers(certificate);
    answers[field] = value;
    let answer = http
        .post(format!("{url}/api/v1/dossiers"))
        .bearer_auth(token)
        .json(&json!({"id": uuid::Uuid::now_v7(), "procedure": "birth-registration", "answers": answers}))
        .send()
        .await?;
    if answer.status().is_success() {
        return Ok(None);
    }
    let body: Value = answer.json().await?;
    let problem = body["problems"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["field"] == field))
        .with_context(|| format!("the gateway names {field}: {body}"))?;
    let code = problem["code"].as_str().context("a code")?;
    Ok(Some(format!("form-problem-{}", code.replace('_', "-"))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_and_the_gateway_agree_on_every_answer() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let port = free_port()?;
    let mut gateway =
        GatewayProcess::start_without_simulation("debug", &tmp.path().join("gateway.db"), port)?;
    let display = Display::get()?;
    let driver = Driver::start(
        &display,
        binary("citizen-app", "debug")?,
        &[
            ("CITIZEN_GATEWAY_URL", gateway.url()),
            (
                "CITIZEN_DATA_DIR",
                tmp.path().join("app").display().to_string(),
            ),
            ("CITIZEN_SYNC_INTERVAL_SECS", "1".to_owned()),
        ],
    )?;
    let http = reqwest::Client::new();
    let url = gateway.url();
    let (_, token) = gateway.identify("0987654321").await?;

    let app = driver.session().await?;
    wait_text(&app, "#home .city-name", "Mỹ Tho").await?;
    click(&app, "#go-services").await?;
    click_to(
        &app,
        "#catalogue li.procedure[data-id=birth-registration] button",
        "#procedure-documents",
    )
    .await?;
    click_to(&app, "#apply-online", "#apply .application").await?;
    let mut disagreements = Vec::new();
    for &(field, typed, expected) in AGREEMENT {
        type_in(&app, &format!("#f-{field}"), typed).await?;
        // Leaving the field shows its problem.
        app.execute("document.activeElement.blur(); return true;", vec![])
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let in_app = attr(
            &app,
            &format!("[data-field={field}] .problem"),
            "data-problem",
        )
        .await?;
        // On the wire, as the app sends it: a date typed dd/mm/yyyy as ISO.
        let wire = if field == "child_birth_date" {
            citizen_core::form::parse_screen_date(typed).unwrap_or_else(|_| typed.to_owned())
        } else {
            typed.to_owned()
        };
        // A document of its own for each application: an accepted one keeps it.
        let certificate = staff_upload(&http, &url, &sample_pdf(1), "giay-chung-sinh.pdf").await?;
        let at_gateway =
            gateway_says(&http, &url, &token, &certificate, field, json!(wire)).await?;
        let expected = expected.map(str::to_owned);
        if in_app != expected || at_gateway != expected {
            disagreements.push(format!(
                "{field} = {typed:?}: app {in_app:?}, gateway {at_gateway:?}, expected {expected:?}"
            ));
        }
    }
    ensure!(disagreements.is_empty(), "{disagreements:#?}");
    quit(app).await?;
    gateway.stop();
    Ok(())
}
