//! The app's screens, one per file.

pub mod explore;
pub mod home;
pub mod salinity;
pub mod services;
pub mod wifi;
