//! What a resident's device and the gateway say to each other to identify the resident by a
//! phone number and a one-time code (see the gateway's `/api/v1/identity`).

use serde::{Deserialize, Serialize};

/// Asks for a one-time code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// A Vietnamese mobile number as people write it (`0912 345 678`, `+84912345678`).
    pub phone: String,
}

/// A code is on its way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeSent {
    /// The number as the gateway keeps it (`+84912345678`).
    pub phone: String,
    /// When the code stops working, ms since epoch.
    pub expires_at_ms: i64,
}

/// Trades a code for a device token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub phone: String,
    /// The 6 digits received.
    pub code: String,
    /// What the device calls itself (`Lan's phone`), at most 100 characters kept.
    #[serde(default)]
    pub device: Option<String>,
}

/// A device token: sent as `Authorization: Bearer <token>`. Shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceToken {
    pub phone: String,
    pub token: String,
}

/// Looks a dossier up by its code and the phone number it was applied with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// The dossier code (`MT-K7Q4-9D2X`; case, spaces and dashes do not matter).
    pub code: String,
    pub phone: String,
}
