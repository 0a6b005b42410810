//! The app's screens, one per file.

pub mod apply;
pub mod compose;
pub mod details;
pub mod dossier;
pub mod explore;
pub mod home;
pub mod map;
pub mod procedure;
pub mod report;
pub mod reports;
pub mod salinity;
pub mod services;
pub mod wifi;
