//! Stripe: the port the services use, its one adapter, the lean Stripe types
//! and webhook signature verification.

pub mod gateway;
pub mod rate_limit;
pub mod stripe;
pub mod types;
pub mod webhook_signature;

pub use gateway::{GatewayError, PaymentGateway, RefundRequest, SavedCardCharge, TransientKind};
pub use stripe::{StripeConfig, StripeGateway};
