//! The dedicated 3D Secure page (`/payment/authenticate/{payment_intent_id}`).

mod page;

pub use page::AuthenticatePage;
