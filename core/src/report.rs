//! Field issue reports: what a resident's device sends, what the city answers, and the rules
//! both sides check (text sizes, the city's area, photos, status changes).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::city::{CityInfo, Position};
use crate::geodesy::distance_m;
use crate::text::{self, nfc_serde};

pub const MAX_PHOTOS: usize = 5;
/// Open311 GeoReport v2 caps a request's description at 4 000 characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_PHONE_CHARS: usize = 20;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_ADDRESS_CHARS: usize = 300;
pub const MAX_NOTE_CHARS: usize = 2_000;
/// Largest photo the gateway accepts, in bytes.
pub const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;
/// Largest photo the gateway decodes, in pixels: a guard against decompression bombs.
pub const MAX_PHOTO_PIXELS: u64 = 40_000_000;
/// Photos are scaled on the device so their long side is at most this many pixels.
pub const PHOTO_LONG_SIDE: u32 = 1_920;
/// Open reports of the same category closer than this are offered as "me too" targets.
pub const NEARBY_RADIUS_M: f64 = 50.0;

/// JSON Schema patterns of the rules below, for the gateway's OpenAPI document. Free text
/// has its pattern from [`crate::text::text_pattern`].
pub mod patterns {
    /// 8 to 15 digits, with an optional leading `+` and spaces, dots, dashes or brackets.
    pub const PHONE: &str = r"^\+?[ .()\-]*([0-9][ .()\-]*){8,15}$";
    pub const EMAIL: &str = r"^[^@\s\u0000-\u001F\u007F-\u009F]+@[^@\s\u0000-\u001F\u007F-\u009F]+\.[^@\s\u0000-\u001F\u007F-\u009F]+$";
    /// Hex in either case (.NET's `Convert.ToHexString` writes upper case); stored lower.
    pub const SHA256: &str = "^[0-9a-fA-F]{64}$";
}

/// Whole numbers as JSON Schema counts them: `5` and `5.0` alike (serde alone refuses `5.0`
/// for an integer field, which a client generated from the OpenAPI document may send).
mod whole {
    use serde::Deserializer;
    use serde::de::{Error, Visitor};

    struct Whole;

    impl Visitor<'_> for Whole {
        type Value = i128;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number")
        }

        fn visit_i64<E: Error>(self, v: i64) -> Result<i128, E> {
            Ok(i128::from(v))
        }

        fn visit_u64<E: Error>(self, v: u64) -> Result<i128, E> {
            Ok(i128::from(v))
        }

        fn visit_f64<E: Error>(self, v: f64) -> Result<i128, E> {
            if v.fract() == 0.0 && v.abs() < 9.0e18 {
                Ok(v as i128)
            } else {
                Err(E::custom(format!("{v} is not a whole number")))
            }
        }
    }

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let v = d.deserialize_any(Whole)?;
        i64::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range")))
    }

    pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let v = d.deserialize_any(Whole)?;
        u64::try_from(v).map_err(|_| D::Error::custom(format!("{v} must not be negative")))
    }
}

/// Hex text in lower case, as hashes are stored and compared.
fn hex_lower<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d).map(|s| s.to_ascii_lowercase())
}

/// A request field that is not acceptable, named by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// How the reporter can be reached by the department. Never published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[serde(default, deserialize_with = "nfc_serde::option")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nfc_serde::option")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "nfc_serde::option")]
    pub email: Option<String>,
    /// The reporter asked that the department keep their identity to itself.
    #[serde(default)]
    pub anonymous: bool,
}

/// A processed photo a report refers to: an upload the device made, by id and content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PhotoRef {
    pub id: Uuid,
    /// Hex SHA-256 of the photo's bytes, read in either case and kept in lower case.
    #[serde(deserialize_with = "hex_lower")]
    pub sha256: String,
    #[serde(deserialize_with = "whole::u64")]
    pub size: u64,
}

/// A new report as the device sends it. `id` is made on the device (UUIDv7) and is also the
/// operation's idempotency key: sending it twice makes one report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportSubmission {
    pub id: Uuid,
    pub device_id: Uuid,
    /// A report category code of the city pack.
    pub category: String,
    /// What is wrong, at most [`MAX_DESCRIPTION_CHARS`] characters as a person counts them;
    /// stored in NFC.
    #[serde(deserialize_with = "nfc_serde::string")]
    pub description: String,
    pub position: Position,
    /// Street-level label, most specific first.
    #[serde(default, deserialize_with = "nfc_serde::option")]
    pub address: Option<String>,
    /// The ward (post-2025 units) the position lies in.
    #[serde(default, deserialize_with = "nfc_serde::option")]
    pub ward: Option<String>,
    #[serde(default)]
    pub photos: Vec<PhotoRef>,
    #[serde(default)]
    pub contact: Contact,
    /// When the resident pressed send, in ms since the Unix epoch (the device's clock).
    #[serde(deserialize_with = "whole::i64")]
    pub created_at_ms: i64,
}

impl ReportSubmission {
    /// The submission as a person meant what they typed, where they type it (the app,
    /// Open311 forms): text in NFC without invisible characters around it, blank optional
    /// text absent, the contact tidied (see [`Contact::normalized`]). The JSON API takes
    /// fields as its OpenAPI document states them, in NFC.
    pub fn normalized(mut self) -> ReportSubmission {
        self.description = text::nfc(text::trim_invisible(&self.description));
        self.address = text::line(self.address.as_deref());
        self.ward = text::line(self.ward.as_deref());
        self.contact = self.contact.normalized();
        self
    }

    /// Checks every field that does not need the database; `category_exists` answers for
    /// the city pack's categories.
    pub fn check(
        &self,
        city: &CityInfo,
        category_exists: impl Fn(&str) -> bool,
    ) -> Result<(), FieldError> {
        if !category_exists(&self.category) {
            return Err(FieldError::new(
                "category",
                format!("unknown report category {:?}", self.category),
            ));
        }
        check_text(
            "description",
            &self.description,
            true,
            MAX_DESCRIPTION_CHARS,
        )?;
        check_position("position", self.position, city)?;
        if let Some(address) = &self.address {
            check_text("address", address, false, MAX_ADDRESS_CHARS)?;
        }
        if let Some(ward) = &self.ward {
            check_text("ward", ward, false, MAX_ADDRESS_CHARS)?;
        }
        if self.photos.len() > MAX_PHOTOS {
            return Err(FieldError::new(
                "photos",
                format!("at most {MAX_PHOTOS} photos, got {}", self.photos.len()),
            ));
        }
        for (i, photo) in self.photos.iter().enumerate() {
            check_sha256(&format!("photos[{i}].sha256"), &photo.sha256)?;
            if photo.size == 0 || photo.size > MAX_PHOTO_BYTES {
                return Err(FieldError::new(
                    format!("photos[{i}].size"),
                    format!("must be between 1 and {MAX_PHOTO_BYTES} bytes"),
                ));
            }
        }
        self.contact.check()?;
        if self.created_at_ms < 0 {
            return Err(FieldError::new("created_at_ms", "must not be negative"));
        }
        Ok(())
    }
}

impl Contact {
    /// The contact as a person typed it, ready to send: each field NFC and trimmed, absent
    /// when nothing visible is left, and the spaces of a pasted phone number (no-break,
    /// thin) made plain, as [`Contact::check`] expects.
    pub fn normalized(&self) -> Contact {
        let phone = text::line(self.phone.as_deref()).map(|p| {
            p.chars()
                .map(|c| if c.is_whitespace() { ' ' } else { c })
                .collect()
        });
        Contact {
            name: text::line(self.name.as_deref()),
            phone,
            email: text::line(self.email.as_deref()),
            anonymous: self.anonymous,
        }
    }

    /// Checks each field; errors name it (`contact.phone`).
    pub fn check(&self) -> Result<(), FieldError> {
        if let Some(name) = &self.name {
            check_text("contact.name", name, false, MAX_NAME_CHARS)?;
        }
        if let Some(phone) = &self.phone {
            check_text("contact.phone", phone, false, MAX_PHONE_CHARS)?;
            let rest = phone.strip_prefix('+').unwrap_or(phone);
            let digits = rest.chars().filter(char::is_ascii_digit).count();
            let allowed = rest
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'));
            if !allowed || !(8..=15).contains(&digits) {
                return Err(FieldError::new(
                    "contact.phone",
                    "a phone number of 8 to 15 digits (a leading +, and - . ( ) or spaces)",
                ));
            }
        }
        if let Some(email) = &self.email {
            check_text("contact.email", email, false, MAX_EMAIL_CHARS)?;
            let plausible = email.split_once('@').is_some_and(|(local, domain)| {
                let dot = domain
                    .char_indices()
                    .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len());
                !local.is_empty() && !domain.contains('@') && dot
            });
            if !plausible || email.chars().any(char::is_whitespace) {
                return Err(FieldError::new("contact.email", "not an e-mail address"));
            }
        }
        Ok(())
    }
}

pub use crate::text::check_text;

pub fn check_position(field: &str, p: Position, city: &CityInfo) -> Result<(), FieldError> {
    if !p.lat.is_finite() || !p.lon.is_finite() {
        return Err(FieldError::new(field, "coordinates must be numbers"));
    }
    if !city.contains(p) {
        let [min_lon, min_lat, max_lon, max_lat] = city.bbox;
        return Err(FieldError::new(
            field,
            format!(
                "({}, {}) is outside the city's area \
                 (lat {min_lat}..{max_lat}, lon {min_lon}..{max_lon})",
                p.lat, p.lon
            ),
        ));
    }
    Ok(())
}

pub fn check_sha256(field: &str, hex: &str) -> Result<(), FieldError> {
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(FieldError::new(
            field,
            "must be 64 lower-case hexadecimal characters",
        ));
    }
    Ok(())
}

/// Where a report stands in the department's handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Received,
    Assigned,
    InProgress,
    Resolved,
    Rejected,
}

impl ReportStatus {
    pub const ALL: [ReportStatus; 5] = [
        ReportStatus::Received,
        ReportStatus::Assigned,
        ReportStatus::InProgress,
        ReportStatus::Resolved,
        ReportStatus::Rejected,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ReportStatus::Received => "received",
            ReportStatus::Assigned => "assigned",
            ReportStatus::InProgress => "in_progress",
            ReportStatus::Resolved => "resolved",
            ReportStatus::Rejected => "rejected",
        }
    }

    pub fn from_code(code: &str) -> Option<ReportStatus> {
        ReportStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn is_open(self) -> bool {
        !matches!(self, ReportStatus::Resolved | ReportStatus::Rejected)
    }

    /// Open311's two-valued status.
    pub fn open311(self) -> &'static str {
        if self.is_open() { "open" } else { "closed" }
    }

    pub fn message_key(self) -> &'static str {
        match self {
            ReportStatus::Received => "report-status-received",
            ReportStatus::Assigned => "report-status-assigned",
            ReportStatus::InProgress => "report-status-in_progress",
            ReportStatus::Resolved => "report-status-resolved",
            ReportStatus::Rejected => "report-status-rejected",
        }
    }

    fn rank(self) -> u8 {
        match self {
            ReportStatus::Received => 0,
            ReportStatus::Assigned => 1,
            ReportStatus::InProgress => 2,
            ReportStatus::Resolved | ReportStatus::Rejected => 3,
        }
    }
}

/// A status change a department makes, with its note and an optional photo of the fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StatusUpdate {
    pub status: ReportStatus,
    #[serde(default, deserialize_with = "nfc_serde::option")]
    pub note: Option<String>,
    /// A completed upload (see `/api/v1/uploads`) showing the fix.
    #[serde(default)]
    pub photo: Option<Uuid>,
}

impl StatusUpdate {
    /// A report only moves forward (else a conflict with its current state); closing it
    /// needs a note (for a rejection, the reason).
    pub fn check(&self, current: ReportStatus) -> Result<(), UpdateError> {
        if !current.is_open() {
            return Err(UpdateError::Conflict(FieldError::new(
                "status",
                format!("the report is already {}", current.code()),
            )));
        }
        if self.status.rank() <= current.rank() {
            return Err(UpdateError::Conflict(FieldError::new(
                "status",
                format!(
                    "cannot go from {} to {}",
                    current.code(),
                    self.status.code()
                ),
            )));
        }
        let note = self.note.as_deref().unwrap_or("");
        let closing = !self.status.is_open();
        if closing && !crate::text::has_visible(note) {
            let message = if self.status == ReportStatus::Rejected {
                "a rejection needs its reason"
            } else {
                "closing a report needs a note for the resident"
            };
            return Err(UpdateError::Invalid(FieldError::new("note", message)));
        }
        check_text("note", note, false, MAX_NOTE_CHARS).map_err(UpdateError::Invalid)
    }
}

/// Why a status change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// The change does not fit the report's current state.
    #[error("{0}")]
    Conflict(FieldError),
    /// A field is invalid whatever the state.
    #[error("{0}")]
    Invalid(FieldError),
}

impl UpdateError {
    pub fn field_error(&self) -> &FieldError {
        match self {
            UpdateError::Conflict(e) | UpdateError::Invalid(e) => e,
        }
    }
}

/// One step of a report's handling, as the resident sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    pub status: ReportStatus,
    pub at_ms: i64,
    #[serde(default)]
    pub note: Option<String>,
    /// Id of a photo of the fix (see `/api/v1/photos/{id}`).
    #[serde(default)]
    pub photo: Option<Uuid>,
}

/// A report as the public and the reporter's device see it: no name, phone or e-mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportView {
    pub id: Uuid,
    pub tracking_code: String,
    pub category: String,
    pub department: String,
    pub description: String,
    pub position: Position,
    pub address: Option<String>,
    pub ward: Option<String>,
    /// Ids of the report's photos, all without EXIF (see `/api/v1/photos/{id}`).
    pub photos: Vec<Uuid>,
    pub status: ReportStatus,
    /// Oldest first.
    pub history: Vec<StatusChange>,
    /// Residents who said "me too".
    pub supporters: u32,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The gateway's answer to a submitted report; the same for a repeated submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportReceipt {
    pub id: Uuid,
    pub tracking_code: String,
    pub department: String,
    pub status: ReportStatus,
    pub received_at_ms: i64,
}

/// "Me too": a resident adds their voice to an existing open report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SupportSubmission {
    pub op_id: Uuid,
    pub device_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportReceipt {
    pub report_id: Uuid,
    pub supporters: u32,
}

/// A report as its department's staff see it: with the reporter's contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffReport {
    pub report: ReportView,
    pub contact: Contact,
}

/// Announces an upload: its id (made on the device), size and content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UploadStart {
    pub id: Uuid,
    #[serde(deserialize_with = "whole::u64")]
    pub size: u64,
    #[serde(deserialize_with = "hex_lower")]
    pub sha256: String,
    /// What the upload is: a report's photo (the default) or a dossier's document.
    #[serde(default, skip_serializing_if = "UploadKind::is_photo")]
    pub kind: UploadKind,
}

/// What an upload is, so the gateway checks it as that: a photo (JPEG, PNG, WebP; published
/// with a report) or a document (PDF, JPEG, PNG; private to a dossier).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UploadKind {
    #[default]
    Photo,
    Document,
}

impl UploadKind {
    pub fn code(self) -> &'static str {
        match self {
            UploadKind::Photo => "photo",
            UploadKind::Document => "document",
        }
    }

    pub fn is_photo(&self) -> bool {
        *self == UploadKind::Photo
    }
}

/// How far an upload has come: the next chunk starts at `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadState {
    pub id: Uuid,
    pub size: u64,
    pub offset: u64,
    pub complete: bool,
}

/// Where a draft's position came from, so the screen can say how sure it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PositionSource {
    /// The device's position service.
    Device,
    /// The GPS tags of a photo, read before they were removed.
    Photo,
    /// A pin the resident placed on the map.
    Map,
    /// The centre of a ward picked from a list (no map available).
    Ward,
}

/// A report being written on the device. Saved as the resident types, so it survives a
/// restart; several may exist. Its id becomes the report's id when it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDraft {
    pub id: Uuid,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub position: Option<Position>,
    #[serde(default)]
    pub position_source: Option<PositionSource>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub ward: Option<String>,
    /// Processed photos (resized, without metadata), in the order they were added.
    #[serde(default)]
    pub photos: Vec<Uuid>,
    #[serde(default)]
    pub contact: Contact,
    #[serde(default)]
    pub updated_at_ms: i64,
}

impl ReportDraft {
    pub fn new(id: Uuid, now_ms: i64) -> ReportDraft {
        ReportDraft {
            id,
            category: None,
            description: String::new(),
            position: None,
            position_source: None,
            address: None,
            ward: None,
            photos: Vec::new(),
            contact: Contact::default(),
            updated_at_ms: now_ms,
        }
    }
}

/// A processed photo on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoInfo {
    pub id: Uuid,
    pub width: u32,
    pub height: u32,
    pub size: u64,
    pub sha256: String,
    /// Bytes the gateway has confirmed.
    pub uploaded: u64,
}

/// Where one of the resident's own reports stands on the way to the city.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Delivery {
    /// Stored on the device, not yet accepted by the gateway.
    Waiting {
        attempts: u32,
        /// The last attempt's error as the gateway or the system put it (for support).
        last_error: Option<String>,
        /// What kept the last attempt from the gateway, for the resident in their language.
        #[serde(default)]
        problem: Option<crate::views::SyncProblem>,
        next_attempt_ms: i64,
        uploaded_bytes: u64,
        total_bytes: u64,
    },
    /// Accepted by the gateway.
    Sent { receipt: ReportReceipt },
}

/// One of the resident's own reports, with its handling as the feed last told it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyReport {
    pub submission: ReportSubmission,
    pub delivery: Delivery,
    /// The city's view (status, timeline, reply), once synced.
    pub view: Option<ReportView>,
}

/// How long a report may wait on a device without signal before it reaches the gateway and
/// still be dated by the device's clock: 30 days, in ms.
pub const MAX_QUEUED_MS: i64 = 30 * 86_400_000;
/// How far ahead of the gateway a device's clock may run and still be believed: 5 minutes,
/// in ms.
pub const MAX_CLOCK_AHEAD_MS: i64 = 5 * 60_000;

/// When a report was made, as the gateway records it: the device's time (`device_ms`, ms
/// since the Unix epoch) where it is plausible, that is at most [`MAX_QUEUED_MS`] before
/// the gateway received it (`received_ms`) and at most [`MAX_CLOCK_AHEAD_MS`] after;
/// otherwise the receive time. A phone whose clock says 2006 or 2031 does not date a report
/// in 2006 or 2031.
pub fn plausible_created_at(device_ms: i64, received_ms: i64) -> i64 {
    let earliest = received_ms.saturating_sub(MAX_QUEUED_MS);
    let latest = received_ms.saturating_add(MAX_CLOCK_AHEAD_MS);
    if (earliest..=latest).contains(&device_ms) {
        device_ms
    } else {
        received_ms
    }
}

/// Open reports of `category` within `radius_m` of `at`, nearest first.
pub fn nearby_open<'a>(
    reports: impl IntoIterator<Item = &'a ReportView>,
    category: &str,
    at: Position,
    radius_m: f64,
) -> Vec<(&'a ReportView, f64)> {
    let mut near: Vec<_> = reports
        .into_iter()
        .filter(|r| r.category == category && r.status.is_open())
        .map(|r| (r, distance_m(r.position, at)))
        .filter(|(_, d)| *d <= radius_m)
        .collect();
    near.sort_by(|a, b| a.1.total_cmp(&b.1));
    near
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city() -> CityInfo {
        serde_json::from_value(serde_json::json!({
            "id": "t", "version": "1", "name": {"vi": "T", "en": "T"},
            "province": {"vi": "P", "en": "P"}, "former_province": {"vi": "F", "en": "F"},
            "center": [106.36, 10.36], "bbox": [106.30, 10.30, 106.45, 10.42],
            "timezone": "Asia/Ho_Chi_Minh", "wifi_session_minutes": 20,
            "report_handling_working_days": 5, "attribution": "x"
        }))
        .expect("a city")
    }

    fn submission() -> ReportSubmission {
        ReportSubmission {
            id: Uuid::nil(),
            device_id: Uuid::nil(),
            category: "rubbish".into(),
            description: "Rác để sai giờ".into(),
            position: Position {
                lon: 106.36,
                lat: 10.36,
            },
            address: None,
            ward: None,
            photos: vec![],
            contact: Contact::default(),
            created_at_ms: 1,
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        let sha = "a".repeat(64);
        let photo = PhotoRef {
            id: Uuid::nil(),
            sha256: sha.clone(),
            size: 10,
        };
        type Edit = Box<dyn Fn(&mut ReportSubmission)>;
        let table: Vec<(&str, Edit)> = vec![
            ("category", Box::new(|s| s.category = "nope".into())),
            ("description", Box::new(|s| s.description = "  ".into())),
            (
                "description",
                Box::new(|s| s.description = "x".repeat(MAX_DESCRIPTION_CHARS + 1)),
            ),
            (
                "description",
                Box::new(|s| s.description = "a\u{0}b".into()),
            ),
            (
                "position",
                Box::new(|s| s.position = Position { lon: 0.0, lat: 0.0 }),
            ),
            ("position", Box::new(|s| s.position.lat = f64::NAN)),
            ("address", Box::new(|s| s.address = Some("x".repeat(301)))),
            (
                "contact.phone",
                Box::new(|s| s.contact.phone = Some("12".into())),
            ),
            (
                "contact.phone",
                Box::new(|s| s.contact.phone = Some("<script>1234567</script>".into())),
            ),
            (
                "contact.name",
                Box::new(|s| s.contact.name = Some("n".repeat(101))),
            ),
            ("photos[0].sha256", {
                let photo = photo.clone();
                Box::new(move |s| {
                    s.photos = vec![PhotoRef {
                        sha256: "XYZ".into(),
                        ..photo.clone()
                    }]
                })
            }),
            (
                "contact.phone",
                Box::new(|s| s.contact.phone = Some("0903+123456".into())),
            ),
            (
                "contact.email",
                Box::new(|s| s.contact.email = Some("lan@example".into())),
            ),
            ("photos", {
                let photo = photo.clone();
                Box::new(move |s| s.photos = vec![photo.clone(); 6])
            }),
        ];
        for (field, edit) in table {
            let mut s = submission();
            edit(&mut s);
            let err = s
                .check(&city(), |c| c == "rubbish")
                .expect_err("a bad field is refused");
            assert_eq!(err.field, field, "{err}");
        }
        assert_eq!(submission().check(&city(), |c| c == "rubbish"), Ok(()));
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_point() {
        let start: UploadStart = serde_json::from_value(serde_json::json!({
            "id": Uuid::nil(), "size": 239.0, "sha256": "a"
        }))
        .expect("239.0 is a whole number");
        assert_eq!(start.size, 239);
        for bad in [
            serde_json::json!(2.5),
            serde_json::json!(-1),
            serde_json::json!("9"),
        ] {
            let refused = serde_json::from_value::<UploadStart>(serde_json::json!({
                "id": Uuid::nil(), "size": bad, "sha256": "a"
            }));
            assert!(refused.is_err(), "{bad} is not a size");
        }
    }

    #[test]
    fn status_moves_forward_and_closing_needs_a_note() {
        use ReportStatus::*;
        let update = |status, note: Option<&str>| StatusUpdate {
            status,
            note: note.map(str::to_owned),
            photo: None,
        };
        assert!(update(InProgress, None).check(Assigned).is_ok());
        assert!(update(Resolved, Some("Đã dọn")).check(InProgress).is_ok());
        assert!(
            update(Resolved, Some("Đã dọn")).check(Received).is_ok(),
            "may skip steps"
        );
        let table = [
            (update(Resolved, None), InProgress, "closing a report needs"),
            (
                update(Resolved, Some("  ")),
                InProgress,
                "closing a report needs",
            ),
            (
                update(Rejected, None),
                Assigned,
                "a rejection needs its reason",
            ),
            (update(Assigned, None), InProgress, "cannot go from"),
            (update(InProgress, None), Resolved, "already resolved"),
            (update(Received, None), Received, "cannot go from"),
        ];
        for (u, current, message) in table {
            let err = u.check(current).expect_err("refused");
            assert!(
                err.field_error().message.contains(message),
                "{u:?} from {current:?}: {err}"
            );
        }
    }

    #[test]
    fn nearby_keeps_open_reports_of_the_category_within_the_radius() {
        let base = ReportView {
            id: Uuid::nil(),
            tracking_code: "MT00001".into(),
            category: "rubbish".into(),
            department: "d".into(),
            description: "x".into(),
            position: Position {
                lon: 106.36,
                lat: 10.36,
            },
            address: None,
            ward: None,
            photos: vec![],
            status: ReportStatus::Received,
            history: vec![],
            supporters: 0,
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        // 0.0003° of latitude is about 33 m; 0.0006° about 66 m.
        let near = ReportView {
            tracking_code: "near".into(),
            position: Position {
                lon: 106.36,
                lat: 10.3603,
            },
            ..base.clone()
        };
        let far = ReportView {
            tracking_code: "far".into(),
            position: Position {
                lon: 106.36,
                lat: 10.3606,
            },
            ..base.clone()
        };
        let closed = ReportView {
            tracking_code: "closed".into(),
            status: ReportStatus::Resolved,
            ..base.clone()
        };
        let other = ReportView {
            tracking_code: "other".into(),
            category: "light".into(),
            ..base.clone()
        };
        let all = [far, closed, other, near, base.clone()];
        let found: Vec<_> = nearby_open(&all, "rubbish", base.position, NEARBY_RADIUS_M)
            .into_iter()
            .map(|(r, _)| r.tracking_code.as_str())
            .collect();
        assert_eq!(
            found,
            ["MT00001", "near"],
            "nearest first, only open, same kind"
        );
    }

    #[test]
    fn a_device_s_time_dates_a_report_only_where_it_is_plausible() {
        let received = 1_795_143_600_000; // 2026-11-20 10:00 +07:00
        let table = [
            (
                received - 3_600_000,
                received - 3_600_000,
                "an hour in the outbox",
            ),
            (
                received - MAX_QUEUED_MS,
                received - MAX_QUEUED_MS,
                "30 days without signal",
            ),
            (
                received - MAX_QUEUED_MS - 1,
                received,
                "longer is a wrong clock",
            ),
            (
                received + MAX_CLOCK_AHEAD_MS,
                received + MAX_CLOCK_AHEAD_MS,
                "a clock a bit ahead",
            ),
            (
                received + MAX_CLOCK_AHEAD_MS + 1,
                received,
                "further ahead is a wrong clock",
            ),
            (1_136_073_600_000, received, "2006"),
            (1_925_000_000_000, received, "2031"),
            (0, received, "the epoch"),
            (i64::MAX, received, "overflow"),
        ];
        for (device, recorded, why) in table {
            assert_eq!(plausible_created_at(device, received), recorded, "{why}");
        }
    }

    use proptest::prelude::*;

    fn contact_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(vec![
                '0', '1', '9', ' ', '\u{00A0}', '\t', '+', '-', '.', '(', ')', '@', 'a', 'Z', 'đ',
                '_',
            ]),
            0..20,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        /// The phone and e-mail patterns of the OpenAPI document accept exactly what the
        /// JSON API's check accepts.
        #[test]
        fn contact_patterns_agree_with_the_checks(text in contact_text()) {
            let phone = regex::Regex::new(patterns::PHONE).expect("a pattern");
            let accepted = Contact { phone: Some(text.clone()), ..Contact::default() }
                .check()
                .is_ok();
            prop_assert_eq!(phone.is_match(&text), accepted, "phone {:?}", text);
            let email = regex::Regex::new(patterns::EMAIL).expect("a pattern");
            let accepted = Contact { email: Some(text.clone()), ..Contact::default() }
                .check()
                .is_ok();
            prop_assert_eq!(email.is_match(&text), accepted, "email {:?}", text);
        }
    }
}
