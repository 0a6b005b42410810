//! Model-based test of the pull sync: random sequences of gateway edits (publish, change,
//! withdraw), client pulls with random page sizes, and client restarts, checked against a
//! simple model: after a full pull the client holds exactly the gateway's live records, and
//! its cursor never moves back.

use std::collections::BTreeMap;

use citizen_client::Store;
use citizen_core::{CityPack, Entity, EntityKind, Hotspot, SyncPage};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// Publish hotspot `n` (new or changed) with SSID version `v`.
    Publish {
        n: u8,
        v: u8,
    },
    Withdraw {
        n: u8,
    },
    /// The client pulls one page of at most `limit` changes.
    Pull {
        limit: u32,
    },
    /// The app is killed and started again.
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u8..6, 0u8..4).prop_map(|(n, v)| Step::Publish { n, v }),
        1 => (0u8..6).prop_map(|n| Step::Withdraw { n }),
        3 => (1u32..5).prop_map(|limit| Step::Pull { limit }),
        1 => Just(Step::Restart),
    ]
}

fn hotspot(template: &Hotspot, n: u8, v: u8) -> Hotspot {
    let mut h = template.clone();
    h.id = format!("model-{n}");
    h.ssid = format!("ssid-{n}-{v}");
    h
}

/// One page over the wire: what the gateway serialises, read as the client reads it.
async fn page(gw: &citizen_server::Store, since: i64, limit: u32) -> SyncPage {
    let raw = gw
        .changes_since(since, limit, None)
        .await
        .expect("feed page");
    serde_json::from_str(&raw.to_json()).expect("a SyncPage")
}

async fn pull(gw: &citizen_server::Store, client: &Store, limit: u32) -> bool {
    let since = client.sync_record().await.expect("record").cursor;
    let page = page(gw, since, limit).await;
    client.apply_page(since, &page, 1).await.expect("apply");
    let after = client.sync_record().await.expect("record").cursor;
    assert!(
        after >= since,
        "the cursor never moves back ({since} -> {after})"
    );
    page.has_more
}

async fn model_ssids(client: &Store) -> BTreeMap<String, String> {
    client
        .hotspots()
        .await
        .expect("hotspots")
        .into_iter()
        .filter(|h| h.id.starts_with("model-"))
        .map(|h| (h.id, h.ssid))
        .collect()
}

async fn run(steps: Vec<Step>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw_url = citizen_testdb::database_url(dir.path(), "gw");
    let gw = citizen_server::Store::open(&gw_url)
        .await
        .expect("gateway store");
    let template = CityPack::parse(citizen_core::city::default_pack_sources())
        .expect("pack")
        .hotspots
        .remove(0);
    let client_path = dir.path().join("app.db");
    let mut client = Store::open(&client_path).await.expect("client store");
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    for step in steps {
        match step {
            Step::Publish { n, v } => {
                let h = hotspot(&template, n, v);
                model.insert(h.id.clone(), h.ssid.clone());
                gw.upsert(&[Entity::Hotspot(h)]).await.expect("publish");
            }
            Step::Withdraw { n } => {
                let id = format!("model-{n}");
                model.remove(&id);
                gw.delete(EntityKind::Hotspot, &id).await.expect("withdraw");
            }
            Step::Pull { limit } => {
                pull(&gw, &client, limit).await;
            }
            Step::Restart => {
                client.close().await;
                client = Store::open(&client_path).await.expect("reopen");
            }
        }
    }
    while pull(&gw, &client, 3).await {}
    assert_eq!(
        model_ssids(&client).await,
        model,
        "after a full pull the client matches the gateway"
    );
    let head = gw.head().await.expect("head");
    assert_eq!(
        client.sync_record().await.expect("record").cursor,
        head,
        "caught up"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pull_sync_converges_on_the_gateways_records(steps in proptest::collection::vec(step(), 1..40)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(run(steps));
    }
}
