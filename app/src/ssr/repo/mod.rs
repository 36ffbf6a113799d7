//! The persistence boundary: typed columns (a row comes out of the database
//! with its statuses already parsed) and the queries several services share.

pub mod attempts;
pub mod column;
pub mod echeances;
pub mod page;
pub mod queue;
pub mod users;
