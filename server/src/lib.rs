//! The Échéancier server: axum bootstrap, the webhook and health routes,
//! the background workers and the command line.

pub mod api_v1;
pub mod cli;
pub mod middleware;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod workers;
