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
