//! What server functions return: plain data, no database models, no secrets
//! but the ones their caller is entitled to.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::{Locale, Role};

/// The logged-in user, as the interface needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Id.
    pub id: i64,
    /// Shown name.
    pub display_name: String,
    /// Customer or admin.
    pub role: Role,
    /// Interface language.
    pub locale: Locale,
}

/// A demo account shown on the landing page in development.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoAccount {
    /// Login.
    pub email: String,
    /// Password.
    pub password: String,
    /// Customer or admin.
    pub role: Role,
}

/// The landing page's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landing {
    /// Who is logged in, if anyone.
    pub me: Option<Me>,
    /// Demo logins (development only).
    pub demo_accounts: Vec<DemoAccount>,
    /// How many échéances the database holds (demo data check).
    pub echeance_count: u64,
    /// Next due date among payable échéances.
    pub next_due: Option<NaiveDate>,
}

/// One échéance, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcheanceView {
    /// Id.
    pub id: i64,
    /// "Échéance 3/6".
    pub label: String,
    /// Amount and currency.
    pub money: crate::domain::Money,
    /// Due date.
    pub due_date: NaiveDate,
    /// Status.
    pub status: crate::domain::EcheanceStatus,
    /// The PaymentIntent awaiting 3D Secure (only while *en attente*): the 3DS page's address.
    pub awaiting_payment_intent: Option<String>,
}

/// The owner's saved card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardInfo {
    /// `visa`, …
    pub brand: String,
    /// Last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: i32,
    /// Expiry year.
    pub exp_year: i32,
}

/// The checkout page's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutData {
    /// The customer.
    pub me: Me,
    /// Their échéances, by due date.
    pub echeances: Vec<EcheanceView>,
    /// Their card.
    pub card: Option<CardInfo>,
    /// For Stripe.js.
    pub publishable_key: String,
}

/// Where an échéance stands after "Payer".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayOutcome {
    /// Status now.
    pub status: crate::domain::EcheanceStatus,
    /// The PaymentIntent to authenticate, when 3D Secure is required.
    pub authenticate_payment_intent: Option<String>,
}

/// What Stripe.js needs to save a card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSetup {
    /// SetupIntent client secret (the owner's only).
    pub client_secret: String,
    /// Publishable key.
    pub publishable_key: String,
}

/// The 3D Secure page's data: what is being paid, and the means to pay it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticationPage {
    /// "Échéance 3/6".
    pub label: String,
    /// Amount and currency.
    pub money: crate::domain::Money,
    /// Due date.
    pub due_date: NaiveDate,
    /// Status now.
    pub status: crate::domain::EcheanceStatus,
    /// For `confirmCardPayment`: only while 3D Secure is awaited.
    pub client_secret: Option<String>,
    /// The saved card to authenticate with.
    pub payment_method: Option<String>,
    /// For Stripe.js.
    pub publishable_key: String,
}
