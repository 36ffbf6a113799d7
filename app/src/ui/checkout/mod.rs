//! The customer's checkout: échéances, card, "Payer", live status.

mod card_panel;
mod echeance_row;
mod page;
mod plans_panel;

pub use card_panel::CardPanel;
pub use page::{CheckoutPage, PayNotice};
