//! Access tokens of departments' staff, of Open311 clients and of monitoring stations. A token is shown once, when it
//! is made; the database keeps only its SHA-256, so a copy of the database grants nothing.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Acts for one department on its queue.
    Staff,
    /// An Open311 client application (`api_key`).
    Client,
    /// A monitoring station's logger: posts observations of its own Thing.
    Station,
    /// A resident's device, for one phone number: applies and follows that number's dossiers.
    Resident,
}

impl Role {
    pub(super) fn code(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Client => "client",
            Role::Station => "station",
            Role::Resident => "resident",
        }
    }

    fn from_code(code: &str) -> Option<Role> {
        [Role::Staff, Role::Client, Role::Station, Role::Resident]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub role: Role,
    pub department: Option<String>,
    pub label: String,
    /// The SensorThings Thing (station) a station token posts for.
    pub thing_id: Option<i64>,
    /// The phone number (`+84…`) a resident token acts for.
    pub phone: Option<String>,
}

/// A new random secret: 32 bytes as 64 hex digits.
pub(super) fn new_secret() -> String {
    let mut secret = [0_u8; 32];
    rand::rng().fill_bytes(&mut secret);
    secret.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Makes a new random token and stores its hash; returns the token itself.
    pub async fn create_token(
        &self,
        role: Role,
        department: Option<&str>,
        label: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        self.insert_token(role, department, None, label, now_ms)
            .await
    }

    /// A token for the logger of the station `station_id` (the city pack's id): it may post
    /// observations to that station's Datastreams only.
    ///
    /// Returns `Ok(None)` when no such station was imported.
    ///
    /// # Errors
    /// [`StoreError::Database`] when the database fails.
    pub async fn create_station_token(
        &self,
        station_id: &str,
        label: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let thing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM sta_things WHERE station_id = $1")
                .bind(station_id)
                .fetch_optional(&self.pool)
                .await?;
        match thing {
            Some(thing) => Ok(Some(
                self.insert_token(Role::Station, None, Some(thing), label, now_ms)
                    .await?,
            )),
            None => Ok(None),
        }
    }

    async fn insert_token(
        &self,
        role: Role,
        department: Option<&str>,
        thing_id: Option<i64>,
        label: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let token = new_secret();
        sqlx::query(
            "INSERT INTO credentials (token_hash, role, department, label, created_at_ms, thing_id) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash(&token))
        .bind(role.code())
        .bind(department)
        .bind(label)
        .bind(now_ms)
        .bind(thing_id)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// Deletes the tokens of `role` labelled `label` made before `created_before_ms`;
    /// returns how many.
    pub async fn revoke_tokens(
        &self,
        role: Role,
        label: &str,
        created_before_ms: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM credentials WHERE role = $1 AND label = $2 AND created_at_ms < $3",
        )
        .bind(role.code())
        .bind(label)
        .bind(created_before_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Who `token` belongs to, if anyone.
    pub async fn credential(&self, token: &str) -> Result<Option<Credential>, StoreError> {
        let row = sqlx::query(
            "SELECT role, department, label, thing_id, phone FROM credentials WHERE token_hash = $1",
        )
        .bind(hash(token))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| {
            Some(Credential {
                role: Role::from_code(&r.get::<String, _>(0))?,
                department: r.get(1),
                label: r.get(2),
                thing_id: r.get(3),
                phone: r.get(4),
            })
        }))
    }
}
