//! Access tokens of departments' staff and of Open311 clients. A token is shown once, when it
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
}

impl Role {
    fn code(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Client => "client",
        }
    }
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub role: Role,
    pub department: Option<String>,
    pub label: String,
}

fn hash(token: &str) -> String {
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
        let mut secret = [0_u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query(
            "INSERT INTO credentials (token_hash, role, department, label, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash(&token))
        .bind(role.code())
        .bind(department)
        .bind(label)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// Who `token` belongs to, if anyone.
    pub async fn credential(&self, token: &str) -> Result<Option<Credential>, StoreError> {
        let row =
            sqlx::query("SELECT role, department, label FROM credentials WHERE token_hash = $1")
                .bind(hash(token))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| Credential {
            role: if r.get::<String, _>(0) == "staff" {
                Role::Staff
            } else {
                Role::Client
            },
            department: r.get(1),
            label: r.get(2),
        }))
    }
}
