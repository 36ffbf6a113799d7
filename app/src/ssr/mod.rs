//! Server-only code: configuration, state, database, Stripe, email, auth and
//! the services. Never compiled into the browser bundle.

pub mod auth;
pub mod backup;
pub mod clock;
pub mod config;
pub mod csrf;
pub mod db;
pub mod email;
pub mod entities;
pub mod guards;
pub mod headers;
pub mod installation;
pub mod live;
pub mod payments;
pub mod repo;
pub mod services;
pub mod state;
