//! Fuzzing the Open311 entry points of a real gateway with proptest, bounded so it runs in
//! every test run: forms url-encoded and multipart, well-formed and broken, with and without
//! a valid key, text in any script, photos real and not; and the request filters with any
//! date. No answer is a 5xx, and every error is the spec's list of `{code, description}`.
//! `PROPTEST_CASES=20000 cargo test -p citizen-server --test fuzz` runs it longer.

mod common;

use citizen_server::store::Role;
use common::{first_two_categories, jpeg, start};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Any text, weighted towards what a form field holds.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9 ]{0,12}",
        any::<String>(),
        Just("10.36".to_owned()),
        Just("106.362".to_owned()),
        Just("NaN".to_owned()),
        Just("\u{200B}".to_owned()),
        Just("Re\u{0301}\u{0323}".to_owned()),
        Just("2026-11-01".to_owned()),
        Just("%ZZ&&==".to_owned()),
    ]
}

fn key_name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "api_key",
            "service_code",
            "lat",
            "long",
            "description",
            "address_string",
            "first_name",
            "last_name",
            "phone",
            "email",
            "jurisdiction_id",
            "media_url",
            "media",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{0,8}",
    ]
}

/// A request body and its content type.
#[derive(Debug, Clone)]
struct Form {
    content_type: Option<String>,
    body: Vec<u8>,
}

fn form(api_key: String, service_code: String) -> impl Strategy<Value = Form> {
    let fields = proptest::collection::vec((key_name(), text()), 0..8);
    let valid_start = proptest::bool::ANY;
    let media = prop_oneof![
        Just(None),
        Just(Some(jpeg(16, 12, 3))),
        proptest::collection::vec(any::<u8>(), 0..256).prop_map(Some),
    ];
    let content_type = proptest::sample::select(vec![
        None,
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=XyZ"),
        Some("multipart/form-data"),
        Some("multipart/form-data; boundary="),
        Some("application/json"),
        Some("text/plain; charset=latin1"),
    ]);
    let raw = proptest::collection::vec(any::<u8>(), 0..512);
    (fields, valid_start, media, content_type, raw, proptest::bool::ANY).prop_map(
        move |(mut fields, valid_start, media, content_type, raw, use_raw)| {
            if valid_start {
                fields.splice(
                    0..0,
                    [
                        ("api_key".to_owned(), api_key.clone()),
                        ("service_code".to_owned(), service_code.clone()),
                        ("lat".to_owned(), "10.36".to_owned()),
                        ("long".to_owned(), "106.362".to_owned()),
                        ("description".to_owned(), "Ổ gà".to_owned()),
                    ],
                );
            }
            let body = if use_raw {
                raw
            } else if content_type.is_some_and(|c| c.starts_with("multipart")) {
                let mut body = Vec::new();
                for (name, value) in &fields {
                    body.extend_from_slice(
                        format!(
                            "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                        )
                        .as_bytes(),
                    );
                }
                if let Some(media) = &media {
                    body.extend_from_slice(
                        b"--XyZ\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.jpg\"\r\n\r\n",
                    );
                    body.extend_from_slice(media);
                    body.extend_from_slice(b"\r\n");
                }
                body.extend_from_slice(b"--XyZ--\r\n");
                body
            } else {
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&fields)
                    .finish()
                    .into_bytes()
            };
            Form {
                content_type: content_type.map(str::to_owned),
                body,
            }
        },
    )
}

/// Checks an Open311 answer: not a 5xx, and an error is `[{code, description}]`.
fn open311_answer(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        status < 500,
        "a {status}: {}",
        String::from_utf8_lossy(body)
    );
    if status >= 400 {
        let errors: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| TestCaseError::fail(format!("an error that is not JSON: {e}")))?;
        let first = &errors[0];
        prop_assert!(
            first["code"].as_u64() == Some(u64::from(status))
                && first["description"].as_str().is_some_and(|d| !d.is_empty()),
            "not the spec's error list: {errors}"
        );
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn open311_forms_never_get_a_5xx() {
    let rt = runtime();
    let gw = rt.block_on(start());
    let key = rt
        .block_on(gw.app_store.create_token(Role::Client, None, "fuzz", 0))
        .expect("a key");
    let (category, _) = first_two_categories();
    let http = reqwest::Client::new();
    let url = format!("{}/open311/v2/requests.json", gw.base);
    let accepted = std::cell::Cell::new(0u32);
    let result = runner(400).run(&form(key, category), |form| {
        let (status, body) = rt.block_on(async {
            let mut req = http.post(&url).body(form.body.clone());
            if let Some(ct) = &form.content_type {
                req = req.header("content-type", ct);
            }
            let res = req.send().await.expect("the gateway answers");
            let status = res.status().as_u16();
            (status, res.bytes().await.expect("a body"))
        });
        accepted.set(accepted.get() + u32::from(status == 200));
        open311_answer(status, &body)
    });
    rt.block_on(gw.stop());
    result.expect("no 5xx for any form");
    assert!(
        accepted.get() > 0,
        "the generator reaches the accepting path too, not only the refusals"
    );
}

#[test]
fn open311_filters_never_get_a_5xx() {
    let rt = runtime();
    let gw = rt.block_on(start());
    let http = reqwest::Client::new();
    let params = proptest::collection::vec(
        (
            proptest::sample::select(vec![
                "start_date",
                "end_date",
                "status",
                "service_code",
                "service_request_id",
                "jurisdiction_id",
                "locale",
            ]),
            prop_oneof![
                text(),
                "[0-9]{4}(-[0-9]{2}(-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,12})?)?([Zz]|[+ -][0-9]{2}(:?[0-9]{2})?)?)?)?)?",
            ],
        ),
        0..5,
    );
    let result = runner(400).run(&params, |params| {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let (status, body) = rt.block_on(async {
            let res = http
                .get(format!("{}/open311/v2/requests.json?{query}", gw.base))
                .send()
                .await
                .expect("the gateway answers");
            let status = res.status().as_u16();
            (status, res.bytes().await.expect("a body"))
        });
        open311_answer(status, &body)
    });
    rt.block_on(gw.stop());
    result.expect("no 5xx for any filter");
}
