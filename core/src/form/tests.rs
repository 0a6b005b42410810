use serde_json::json;

use super::*;
use crate::CityPack;
use crate::city::default_pack_sources;

fn pack() -> CityPack {
    CityPack::parse(default_pack_sources()).expect("the default pack parses")
}

fn today() -> Date {
    Date::new(2026, 11, 30).expect("a date")
}

fn doc(id: u128, media_type: &str, size: u64) -> Value {
    json!({
        "id": uuid::Uuid::from_u128(id),
        "name": "giay-chung-sinh.pdf",
        "media_type": media_type,
        "size": size,
        "sha256": "ab".repeat(32),
    })
}

/// A complete, valid birth registration with the father unknown.
fn birth() -> Map<String, Value> {
    json!({
        "applicant_name": "Nguyễn Thị Lan",
        "applicant_citizen_id": "082190000123",
        "applicant_phone": "0912 345 678",
        "relationship": "mother",
        "child_name": "Trần Minh Khôi",
        "child_sex": "male",
        "child_birth_date": "2026-11-20",
        "child_birth_place": {"ward": "28261", "street": "Bệnh viện Đa khoa Tiền Giang, 2 Hùng Vương"},
        "child_ethnicity": "Kinh",
        "mother_name": "Nguyễn Thị Lan",
        "mother_citizen_id": "082190000123",
        "father_known": "no",
        "birth_certificate": [doc(1, "application/pdf", 200_000)],
        "declaration": true,
    })
    .as_object()
    .cloned()
    .expect("an object")
}

fn check(
    form: &Form,
    answers: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<FieldProblem>> {
    let pack = pack();
    form.check(
        answers,
        &CheckContext {
            today: today(),
            wards: &pack.wards,
        },
    )
}

fn birth_form() -> Form {
    let pack = pack();
    let source = pack
        .forms
        .iter()
        .find(|f| f.procedure == "birth-registration")
        .expect("the pack has a birth registration form");
    Form::compile(source).expect("it compiles")
}

#[test]
fn every_pack_form_compiles_and_six_real_procedures_have_one() {
    let pack = pack();
    let forms = pack.compiled_forms();
    assert_eq!(forms.len(), pack.forms.len(), "every form compiles");
    for id in [
        "birth-registration",
        "permanent-residence-registration",
        "judicial-record-certificate",
        "business-household-registration",
        "construction-permit-house",
        "certified-copy",
    ] {
        assert!(forms.contains_key(id), "{id} has a form");
    }
}

#[test]
fn a_valid_application_is_kept_normalized() {
    let form = birth_form();
    let kept = check(&form, &birth()).expect("valid");
    assert_eq!(
        kept["applicant_phone"], "+84912345678",
        "phones kept as +84"
    );
    assert!(
        !kept.contains_key("father_name"),
        "hidden fields are not kept"
    );
}

#[test]
fn conditions_show_require_and_drop_fields() {
    let form = birth_form();
    let mut answers = birth();
    answers.insert("father_name".into(), json!("Trần Văn Hùng"));
    assert!(
        !form.visible("father_name", &answers),
        "hidden while father_known is no"
    );
    let kept = check(&form, &answers).expect("a hidden answer is no error");
    assert!(!kept.contains_key("father_name"), "and it is dropped");
    answers.insert("father_known".into(), json!("yes"));
    assert!(form.visible("father_name", &answers));
    let problems = check(&form, &answers).expect_err("the father's ID is now required");
    assert_eq!(
        problems,
        vec![FieldProblem {
            field: "father_citizen_id".into(),
            problem: Problem::Required
        }]
    );
}

/// Invalid answers, each with the field and problem both the UI and the gateway report.
pub(crate) fn bad_answers() -> Vec<(&'static str, Value, &'static str, Problem)> {
    vec![
        (
            "applicant_citizen_id",
            json!("08219000012"),
            "applicant_citizen_id",
            Problem::CitizenIdDigits,
        ),
        (
            "applicant_citizen_id",
            json!("08219000012a"),
            "applicant_citizen_id",
            Problem::CitizenIdDigits,
        ),
        (
            "applicant_citizen_id",
            json!("003190000123"),
            "applicant_citizen_id",
            Problem::CitizenIdProvince,
        ),
        (
            "applicant_citizen_id",
            json!("082499000123"),
            "applicant_citizen_id",
            Problem::CitizenIdYear,
        ),
        (
            "applicant_phone",
            json!("09123abc78"),
            "applicant_phone",
            Problem::Phone,
        ),
        (
            "applicant_phone",
            json!("0112345678"),
            "applicant_phone",
            Problem::Phone,
        ),
        (
            "applicant_email",
            json!("lan@@example"),
            "applicant_email",
            Problem::Email,
        ),
        (
            "child_birth_date",
            json!("2025-02-31"),
            "child_birth_date",
            Problem::InvalidDate,
        ),
        (
            "child_birth_date",
            json!("31/12/2025"),
            "child_birth_date",
            Problem::InvalidDate,
        ),
        (
            "child_birth_date",
            json!("2027-01-01"),
            "child_birth_date",
            Problem::DateInFuture,
        ),
        (
            "child_name",
            json!("K"),
            "child_name",
            Problem::TooShort { min: 2 },
        ),
        (
            "child_name",
            json!("Khôi 2"),
            "child_name",
            Problem::Pattern,
        ),
        ("child_name", json!(42), "child_name", Problem::WrongType),
        ("child_name", json!("   "), "child_name", Problem::Required),
        ("child_sex", json!("boy"), "child_sex", Problem::NotAChoice),
        (
            "child_birth_place",
            json!({"ward": "00001", "street": "1 Phúc Xá"}),
            "child_birth_place.ward",
            Problem::UnknownWard,
        ),
        (
            "child_birth_place",
            json!({"ward": "28261"}),
            "child_birth_place.street",
            Problem::Required,
        ),
        (
            "child_birth_place",
            json!("Mỹ Tho"),
            "child_birth_place",
            Problem::WrongType,
        ),
        (
            "birth_certificate",
            json!([]),
            "birth_certificate",
            Problem::TooFewFiles { min: 1 },
        ),
        (
            "birth_certificate",
            json!([doc(1, "application/x-msdownload", 10)]),
            "birth_certificate[0]",
            Problem::FileType,
        ),
        (
            "birth_certificate",
            json!([doc(1, "application/pdf", 50 * 1024 * 1024)]),
            "birth_certificate[0]",
            Problem::FileTooLarge {
                max: 10 * 1024 * 1024,
            },
        ),
        (
            "birth_certificate",
            json!([doc(1, "application/pdf", 1), doc(1, "image/png", 2)]),
            "birth_certificate[1]",
            Problem::DuplicateFile,
        ),
        (
            "birth_certificate",
            json!([
                doc(1, "application/pdf", 1),
                doc(2, "application/pdf", 1),
                doc(3, "application/pdf", 1)
            ]),
            "birth_certificate",
            Problem::TooManyFiles { max: 2 },
        ),
        (
            "declaration",
            json!(false),
            "declaration",
            Problem::MustAccept,
        ),
        (
            "nickname",
            json!("Bé Bo"),
            "nickname",
            Problem::UnknownField,
        ),
    ]
}

#[test]
fn bad_answers_are_named_by_field_and_problem() {
    let form = birth_form();
    for (field, value, at, problem) in bad_answers() {
        let mut answers = birth();
        answers.insert(field.into(), value.clone());
        let problems = check(&form, &answers).expect_err(&format!("{field} = {value} is refused"));
        assert_eq!(
            problems,
            vec![FieldProblem {
                field: at.into(),
                problem
            }],
            "{field} = {value}"
        );
    }
}

#[test]
fn screen_dates_read_dd_mm_yyyy() {
    assert_eq!(parse_screen_date("20/11/2026"), Ok("2026-11-20".into()));
    assert_eq!(parse_screen_date("1/2/2026"), Ok("2026-02-01".into()));
    assert_eq!(parse_screen_date("29/02/2024"), Ok("2024-02-29".into()));
    for bad in [
        "31/02/2025",
        "29/02/2025",
        "2026-11-20",
        "20/11/26",
        "aa/bb/cccc",
        "",
        "32/01/2026",
    ] {
        assert_eq!(parse_screen_date(bad), Err(Problem::InvalidDate), "{bad:?}");
    }
    assert_eq!(screen_date("2026-02-01"), "01/02/2026");
}

#[test]
fn phones_are_read_as_people_write_them() {
    let table = [
        ("0912345678", Some("+84912345678")),
        ("+84 912.345.678", Some("+84912345678")),
        ("84912345678", Some("+84912345678")),
        ("(0273) 3 872 100", Some("+842733872100")),
        ("0912 345 67", None),
        ("09123456789", None),
        ("+1 202 555 0100", None),
        ("0912-345-67x", None),
    ];
    for (text, want) in table {
        assert_eq!(normalize_phone(text).as_deref(), want, "{text:?}");
    }
}

#[test]
fn a_form_the_module_cannot_enforce_is_refused_at_compile_time() {
    let good = pack()
        .forms
        .into_iter()
        .find(|f| f.procedure == "judicial-record-certificate")
        .expect("present");
    let mut bad = good.clone();
    bad.schema["properties"]["purpose"]["exclusiveMinimum"] = json!(3);
    let e = Form::compile(&bad).expect_err("an unread keyword");
    assert!(e.path.ends_with("properties.purpose"), "{e}");
    let mut bad = good.clone();
    bad.schema["properties"]["purpose"]["pattern"] = json!("([");
    assert!(
        Form::compile(&bad)
            .expect_err("a broken pattern")
            .path
            .ends_with("purpose.pattern")
    );
    let mut bad = good.clone();
    bad.layout[0].fields.pop();
    assert!(Form::compile(&bad).is_err(), "a property without layout");
    let mut bad = good;
    bad.layout[0].fields[0].widget = Widget::Number;
    assert!(
        Form::compile(&bad).is_err(),
        "a widget that does not fit its schema"
    );
}

#[test]
fn every_problem_has_a_message_in_both_languages() {
    use crate::i18n::Translator;
    use crate::text::Lang;
    let problems = bad_answers().into_iter().map(|(.., p)| p).chain([
        Problem::NotWhole,
        Problem::BelowMinimum { min: 1.0 },
        Problem::AboveMaximum { max: 10.0 },
        Problem::TooLong { max: 3 },
    ]);
    for problem in problems {
        for lang in [Lang::Vi, Lang::En] {
            let text = problem.message(&Translator::new(lang));
            assert_ne!(text, problem.message_key(), "{problem:?} in {lang:?}");
        }
    }
}
