//! Components, one per file. French first; English available.

pub mod admin;
pub mod app;
pub mod authenticate;
pub mod checkout;
pub mod error_view;
pub mod form_token;
pub mod i18n;
pub mod invitation;
pub mod landing;
pub mod layout;
pub mod live;
pub mod navigate;
pub mod password;
pub mod receipt;
pub mod status_badge;
pub mod stripe_js;
