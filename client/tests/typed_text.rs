//! What a resident types reaches the gateway as the gateway stores it: Vietnamese typed
//! decomposed is sent composed (NFC), pasted contact details lose their stray spaces, and a
//! description of invisible characters is refused with the draft kept.

use citizen_client::Store;
use citizen_client::store::StoreError;
use citizen_core::CityPack;
use unicode_normalization::UnicodeNormalization;

fn pack() -> CityPack {
    CityPack::parse(citizen_core::city::default_pack_sources()).expect("bundled pack")
}

async fn store_with_pack(dir: &tempfile::TempDir) -> Store {
    let store = Store::open(&dir.path().join("app.db"))
        .await
        .expect("store");
    store.bootstrap(&pack()).await.expect("bootstrap");
    store
}

/// A new draft of the pack's first category, placed at the city centre.
async fn placed_draft(store: &Store, pack: &CityPack) -> citizen_core::report::ReportDraft {
    let mut draft = store.new_draft(1).await.expect("a draft");
    draft.category = Some(pack.categories[0].code.clone());
    draft.position = Some(citizen_core::Position {
        lon: pack.city.center[0],
        lat: pack.city.center[1],
    });
    draft
}

#[tokio::test]
async fn typed_text_is_sent_composed_and_trimmed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with_pack(&dir).await;
    let pack = pack();
    let mut draft = placed_draft(&store, &pack).await;
    draft.description = "  Cống nghẹt, nước tràn vào nhà dân.\u{200B} "
        .nfd()
        .collect();
    draft.contact.name = Some("\u{200B}".into());
    draft.contact.phone = Some("0903\u{00A0}123\u{202F}456".into());
    draft.contact.email = Some(" lan@example.vn ".into());
    store.save_draft(&draft).await.expect("saved");
    let sent = store
        .submit_draft(
            draft.id,
            &pack.city,
            |c| pack.categories.iter().any(|k| k.code == c),
            2,
        )
        .await
        .expect("sent");
    let sub = &sent.submission;
    assert_eq!(
        sub.description, "Cống nghẹt, nước tràn vào nhà dân.",
        "NFC, trimmed"
    );
    assert_eq!(sub.contact.name, None, "an invisible name is no name");
    assert_eq!(
        sub.contact.phone.as_deref(),
        Some("0903 123 456"),
        "plain spaces"
    );
    assert_eq!(sub.contact.email.as_deref(), Some("lan@example.vn"));
}

#[tokio::test]
async fn an_invisible_description_is_refused_and_the_draft_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with_pack(&dir).await;
    let pack = pack();
    let mut draft = placed_draft(&store, &pack).await;
    draft.description = "\u{200B}\u{FEFF}".into();
    store.save_draft(&draft).await.expect("saved");
    let err = store
        .submit_draft(
            draft.id,
            &pack.city,
            |c| pack.categories.iter().any(|k| k.code == c),
            2,
        )
        .await
        .expect_err("nothing to send");
    match err {
        StoreError::Invalid(e) => assert_eq!(e.field, "description", "{e}"),
        other => panic!("expected a field error, got {other}"),
    }
    assert!(
        store.draft(draft.id).await.expect("read").is_some(),
        "the draft is still there to finish"
    );
    assert_eq!(
        store.outbox_len().await.expect("outbox"),
        0,
        "nothing queued"
    );
}
