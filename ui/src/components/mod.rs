//! Pieces shared by several screens.

pub mod files;
pub mod identify;
pub mod lang_switch;
pub mod load_error;
pub mod notice;
pub mod photo_preview;
pub mod sync_badge;
pub mod timeline;
