//! What the host site is told: events written in the transaction of the
//! change they report ([`events`]), the endpoints that receive them and
//! their secrets ([`endpoints`]), and the worker that delivers them signed
//! as Stripe signs its own, retrying for three days ([`delivery`]).

pub mod delivery;
pub mod endpoints;
pub mod events;
