//! Server functions and the types they exchange with the browser.

pub mod accounts;
pub mod admin;
pub mod authenticate;
pub mod checkout;
pub mod dto;
pub mod emails;
pub mod error;
pub mod integration;
pub mod plans;
pub mod session;

#[cfg(feature = "ssr")]
pub mod context;
