//! Residents identify with a phone number and a one-time code sent to it, and get a device
//! token for that number. Codes expire after [`CODE_LIFETIME_MS`], work once, allow
//! [`MAX_ATTEMPTS`] guesses, and a number gets at most one code per [`RESEND_AFTER_MS`] and
//! [`MAX_CODES_PER_HOUR`] an hour (the rows are the counters, so limits hold across
//! instances). Only hashes are stored: a copy of the database grants nothing.

use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::credentials::{hash, new_secret};
use super::{Role, Store, StoreError};

/// How long a code works: 5 minutes.
pub const CODE_LIFETIME_MS: i64 = 5 * 60_000;
/// Wrong guesses that burn a code: 5.
pub const MAX_ATTEMPTS: i64 = 5;
/// The shortest wait between two codes to one number: 60 s.
pub const RESEND_AFTER_MS: i64 = 60_000;
/// Codes one number gets in an hour: 5.
pub const MAX_CODES_PER_HOUR: i64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Too many codes asked for: try again after `retry_after_ms`.
    #[error("too many codes asked for this number: wait {} s", retry_after_ms / 1000 + 1)]
    RateLimited { retry_after_ms: i64 },
    /// The code is wrong, expired, used or burnt; which one is not said.
    #[error("the code is wrong or has expired: ask for a new one")]
    WrongCode,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for IdentityError {
    fn from(e: sqlx::Error) -> Self {
        IdentityError::Store(e.into())
    }
}

fn code_hash(phone: &str, code: &str) -> String {
    format!("{:x}", Sha256::digest(format!("{phone}:{code}").as_bytes()))
}

impl Store {
    /// Makes a 6-digit code for `phone` (`+84…`) and returns it with its expiry (ms).
    ///
    /// # Errors
    /// [`IdentityError::RateLimited`] when the number had a code less than a minute ago or
    /// five in the last hour.
    pub async fn new_one_time_code(
        &self,
        phone: &str,
        now_ms: i64,
    ) -> Result<(String, i64), IdentityError> {
        let mut tx = self.begin_rows().await?;
        let recent: Vec<i64> = sqlx::query_scalar(
            "SELECT created_at_ms FROM one_time_codes WHERE phone = $1 AND created_at_ms > $2 \
             ORDER BY created_at_ms",
        )
        .bind(phone)
        .bind(now_ms - 3_600_000)
        .fetch_all(&mut *tx)
        .await?;
        let wait = recent
            .last()
            .map_or(0, |last| last + RESEND_AFTER_MS - now_ms)
            .max(if recent.len() as i64 >= MAX_CODES_PER_HOUR {
                recent[recent.len() - MAX_CODES_PER_HOUR as usize] + 3_600_000 - now_ms
            } else {
                0
            });
        if wait > 0 {
            tx.rollback().await?;
            return Err(IdentityError::RateLimited {
                retry_after_ms: wait,
            });
        }
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
        let expires = now_ms + CODE_LIFETIME_MS;
        sqlx::query(
            "INSERT INTO one_time_codes (id, phone, code_hash, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(phone)
        .bind(code_hash(phone, &code))
        .bind(now_ms)
        .bind(expires)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((code, expires))
    }

    /// Checks `code` against the newest live code of `phone`; when it matches, the code is
    /// spent and a new device token for the number is made and returned.
    ///
    /// # Errors
    /// [`IdentityError::WrongCode`] for a wrong, expired, spent or burnt code, or none.
    pub async fn redeem_one_time_code(
        &self,
        phone: &str,
        code: &str,
        label: &str,
        now_ms: i64,
    ) -> Result<String, IdentityError> {
        let mut tx = self.begin_rows().await?;
        let sql = self.backend.locking(
            "SELECT id, code_hash, attempts FROM one_time_codes \
             WHERE phone = $1 AND used = 0 AND expires_at_ms > $2 \
             ORDER BY created_at_ms DESC LIMIT 1",
        );
        let row = sqlx::query(&sql)
            .bind(phone)
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Err(IdentityError::WrongCode);
        };
        let (id, stored, attempts): (String, String, i64) = (row.get(0), row.get(1), row.get(2));
        let right = stored == code_hash(phone, code.trim());
        // A right code is spent; a wrong one counts, and the last allowed guess burns it.
        let spent = right || attempts + 1 >= MAX_ATTEMPTS;
        sqlx::query("UPDATE one_time_codes SET attempts = attempts + 1, used = $1 WHERE id = $2")
            .bind(i64::from(spent))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        if !right {
            tx.commit().await?;
            return Err(IdentityError::WrongCode);
        }
        let token = new_secret();
        sqlx::query(
            "INSERT INTO credentials (token_hash, role, label, created_at_ms, phone) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash(&token))
        .bind(Role::Resident.code())
        .bind(label)
        .bind(now_ms)
        .bind(phone)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(token)
    }
}
