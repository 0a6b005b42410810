//! The app's offline-first side: the local SQLite store, its first start from the bundled
//! city pack, and the pull sync with the city gateway.

pub mod basemap;
pub mod config;
pub mod gateway;
pub mod index;
pub mod instance;
pub mod live;
pub mod outbox;
pub mod photo;
pub mod reports;
pub mod salinity;
pub mod salvage;
pub mod services;
pub mod store;
pub mod street_pack;
pub mod syncer;
pub mod tile_cache;

pub use config::AppConfig;
pub use gateway::Gateway;
pub use store::{Store, StoreError};
pub use syncer::{Syncer, SyncerHandle};
