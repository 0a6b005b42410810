//! Pieces shared by several screens.

pub mod lang_switch;
pub mod load_error;
pub mod sync_badge;
