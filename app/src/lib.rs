//! Échéancier: the shared crate. `domain` is pure; `api` holds the server
//! functions (thin: authenticate, parse, call one service, return a DTO); `ui`
//! the components; `ssr` everything that only runs on the server.

#![recursion_limit = "256"]

pub mod api;
pub mod domain;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod ssr;

pub use ui::app::{App, shell};
