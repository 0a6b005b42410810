//! Resumable uploads (offset-based, like tus): a device announces a photo by id, size and
//! hash, then sends it in chunks; after a dropped link it asks for the offset and goes on.

use citizen_core::report::{FieldError, UploadKind, UploadStart, UploadState};
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

use super::{Store, StoreError};
use crate::{document, photo};

/// Why a chunk or an announcement was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("no upload {0}")]
    Unknown(Uuid),
    #[error("{0}")]
    Conflict(FieldError),
    #[error("{0}")]
    Invalid(FieldError),
    /// The bytes are not what was announced, or not a photo the gateway publishes.
    #[error("{0}")]
    Unprocessable(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A completed upload as it passed its checks.
enum Kept {
    Photo(photo::CheckedPhoto),
    Document(document::CheckedDocument),
}

impl From<sqlx::Error> for UploadError {
    fn from(e: sqlx::Error) -> Self {
        UploadError::Store(e.into())
    }
}

impl Store {
    /// Announces an upload, or answers how far it is when the same one was announced before.
    pub async fn start_upload(
        &self,
        start: &UploadStart,
        now_ms: i64,
    ) -> Result<UploadState, UploadError> {
        // Two instances may be asked at once: the row is made once, and both compare with it.
        let made = sqlx::query(
            "INSERT INTO uploads (id, size, sha256, created_at_ms, kind) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(start.id.to_string())
        .bind(start.size as i64)
        .bind(&start.sha256)
        .bind(now_ms)
        .bind(start.kind.code())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if made == 0 {
            let row = sqlx::query("SELECT size, sha256, kind FROM uploads WHERE id = $1")
                .bind(start.id.to_string())
                .fetch_one(&self.pool)
                .await?;
            let (size, sha256, kind): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
            if size as u64 != start.size || sha256 != start.sha256 || kind != start.kind.code() {
                return Err(UploadError::Conflict(FieldError::new(
                    "id",
                    "this upload id was announced with another size, hash or kind",
                )));
            }
            return self.upload_state(start.id).await;
        }
        Ok(UploadState {
            id: start.id,
            size: start.size,
            offset: 0,
            complete: false,
        })
    }

    pub async fn upload_state(&self, id: Uuid) -> Result<UploadState, UploadError> {
        let row = sqlx::query("SELECT size, received, complete FROM uploads WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(UploadError::Unknown(id))?;
        Ok(UploadState {
            id,
            size: row.get::<i64, _>(0) as u64,
            offset: row.get::<i64, _>(1) as u64,
            complete: row.get::<i64, _>(2) != 0,
        })
    }

    /// Appends a chunk that starts at `offset`. The chunk that completes the upload is only
    /// stored if the whole photo matches its hash and passes the photo checks; otherwise
    /// nothing changes.
    pub async fn append_chunk(
        &self,
        id: Uuid,
        offset: u64,
        data: &[u8],
    ) -> Result<UploadState, UploadError> {
        let mut tx = self.begin_rows().await?;
        let sql = self
            .backend
            .locking("SELECT size, sha256, received, complete, kind FROM uploads WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Err(UploadError::Unknown(id));
        };
        let size = row.get::<i64, _>(0) as u64;
        let sha256: String = row.get(1);
        let received = row.get::<i64, _>(2) as u64;
        let complete = row.get::<i64, _>(3) != 0;
        let kind: String = row.get(4);
        if complete {
            tx.rollback().await?;
            return Err(UploadError::Conflict(FieldError::new(
                "Upload-Offset",
                format!("the upload is already complete at {size} bytes"),
            )));
        }
        if offset != received {
            tx.rollback().await?;
            return Err(UploadError::Conflict(FieldError::new(
                "Upload-Offset",
                format!("the upload is at offset {received}, not {offset}"),
            )));
        }
        let end = received + data.len() as u64;
        if end > size {
            tx.rollback().await?;
            return Err(UploadError::Conflict(FieldError::new(
                "body",
                format!("the chunk ends at {end}, past the announced size of {size} bytes"),
            )));
        }
        if data.is_empty() {
            tx.commit().await?;
            return self.upload_state(id).await;
        }
        if end < size {
            sqlx::query("INSERT INTO upload_chunks (upload_id, start, data) VALUES ($1, $2, $3)")
                .bind(id.to_string())
                .bind(offset as i64)
                .bind(data)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE uploads SET received = $1 WHERE id = $2")
                .bind(end as i64)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(UploadState {
                id,
                size,
                offset: end,
                complete: false,
            });
        }
        let chunks: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT data FROM upload_chunks WHERE upload_id = $1 ORDER BY start",
        )
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut whole = Vec::with_capacity(size as usize);
        for chunk in &chunks {
            whole.extend_from_slice(chunk);
        }
        whole.extend_from_slice(data);
        let actual = format!("{:x}", Sha256::digest(&whole));
        if actual != sha256 {
            tx.rollback().await?;
            return Err(UploadError::Unprocessable(FieldError::new(
                "body",
                format!("the upload's SHA-256 is {actual}, not the announced {sha256}"),
            )));
        }
        // Parsing a long PDF or decoding a large photo takes a while: off the async workers.
        let document = kind == UploadKind::Document.code();
        let checked = tokio::task::spawn_blocking(move || {
            if document {
                document::check("document", &whole).map(Kept::Document)
            } else {
                photo::check("photo", &whole).map(Kept::Photo)
            }
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        let checked = match checked {
            Ok(c) => c,
            Err(e) => {
                tx.rollback().await?;
                return Err(UploadError::Unprocessable(e));
            }
        };
        match checked {
            Kept::Document(d) => sqlx::query(
                "INSERT INTO documents (id, media_type, pages, size, data) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id.to_string())
            .bind(d.media_type)
            .bind(i64::from(d.pages))
            .bind(d.data.len() as i64)
            .bind(d.data),
            Kept::Photo(p) => sqlx::query(
                "INSERT INTO photos (id, media_type, width, height, data) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id.to_string())
            .bind(p.media_type)
            .bind(i64::from(p.width))
            .bind(i64::from(p.height))
            .bind(p.data),
        }
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE uploads SET received = size, complete = 1 WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(UploadState {
            id,
            size,
            offset: size,
            complete: true,
        })
    }

    /// A published photo (one a report or a reply refers to): its media type and bytes.
    pub async fn published_photo(&self, id: Uuid) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let row = sqlx::query(
            "SELECT media_type, data FROM photos WHERE id = $1 AND report_id IS NOT NULL",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }
}
