//! The REST API the host site calls (`/v1/`): its keys, its idempotency
//! records, the objects it reads, its plans, and its errors. The axum
//! handlers in `server/src/api_v1.rs` only read the request and call these.

pub mod error;
pub mod idempotency;
pub mod keys;
pub mod objects;
pub mod plans;
pub mod webhook_endpoints;
