//! Black-box tests of the server against a real local Stripe peer, on SQLite
//! or PostgreSQL (`TEST_DATABASE`), run by `scripts/test`.

mod helpers;

mod admins;
mod back_in;
mod chaos;
mod charge;
mod customer_emails;
mod demo;
mod disputes;
mod due;
mod edges;
mod emails;
mod erasure;
mod first_payment;
mod host_api;
mod host_webhooks;
mod instances;
mod invitations;
mod languages;
mod legacy;
mod live;
mod plans;
mod reads;
mod reconcile;
mod refunds;
mod rendering;

mod restore;
mod second_factor;
mod security;
mod webhooks;
