//! Components, one per file. French first; English available.

pub mod app;
pub mod i18n;
pub mod landing;
pub mod layout;
