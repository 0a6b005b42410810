//! `citizen-server migrate` copies every column of every table: its list of what to copy is
//! held to both engines' schemas, so a column added by a later migration cannot be left
//! behind in a move. (The move itself is tested with a device syncing across it in the
//! client's tests.)

use std::collections::BTreeMap;

use citizen_server::Store;

type Schema = BTreeMap<String, Vec<String>>;

async fn schema(store: &Store) -> Schema {
    let postgres = store.backend() == citizen_server::store::Backend::Postgres;
    let rows: Vec<(String, String)> = if postgres {
        sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name != '_sqlx_migrations' \
             ORDER BY table_name, ordinal_position",
        )
        .fetch_all(store.pool())
        .await
        .expect("columns")
    } else {
        sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name != '_sqlx_migrations' ORDER BY m.name, p.cid",
        )
        .fetch_all(store.pool())
        .await
        .expect("columns")
    };
    let mut schema = Schema::new();
    for (table, column) in rows {
        schema.entry(table).or_default().push(column);
    }
    schema
}

fn copied() -> Schema {
    citizen_server::migrate::copied_columns()
        .into_iter()
        .map(|(t, c)| (t.to_owned(), c.into_iter().map(str::to_owned).collect()))
        .collect()
}

#[tokio::test]
async fn every_column_of_both_schemas_is_copied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .expect("sqlite");
    let postgres = Store::open(&citizen_testdb::fresh_postgres().expect("postgres"))
        .await
        .expect("postgres");
    let expected = copied();
    assert_eq!(schema(&sqlite).await, expected, "SQLite");
    assert_eq!(schema(&postgres).await, expected, "PostgreSQL");
}
