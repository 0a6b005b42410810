//! Domain types and pure logic of the citizen app, shared by the UI (wasm32), the app shell,
//! the offline store and the city gateway. No I/O lives here.

pub mod city;
pub mod civil;
pub mod dossier;
pub mod error;
pub mod form;
pub mod geodesy;
pub mod i18n;
pub mod identity;
pub mod locality;
pub mod nearest;
pub mod outbox;
pub mod photo;
pub mod report;
pub mod salinity;
pub mod search;
pub mod sync;
pub mod text;
pub mod views;
pub mod worktime;

pub use city::{
    Address, CityInfo, CityPack, Department, Hotspot, OnlineLevel, PackError, PackSources,
    Parameter, Place, PlaceKind, Position, Procedure, ReportCategory, SiteKind, Station,
};
pub use error::{AppError, ErrorCode};
pub use sync::{Change, ChangeOp, Entity, EntityKind, Reading, Record, SyncPage};
pub use text::{Lang, Localized};
