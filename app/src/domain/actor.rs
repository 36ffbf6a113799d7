//! Who made a change or started a run, as the rows store it (`admin:3`, `user:4`, `host`,
//! `stripe:evt_…`, `system:due-date`, `cli` …) and as the pages name it, in their reader's language.

use serde::{Deserialize, Serialize};

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "of", rename_all = "snake_case")]
pub enum Actor {
    /// An admin, by account id (`admin:{id}`).
    Admin(i64),
    /// The customer, logged in (`user:{id}`; a plan's rows say `customer:{id}`).
    Customer(i64),
    /// The customer through the link they were emailed (`link`).
    CustomerLink,
    /// The host website, through the REST API (`host`, or `api_key:{id}` for the key it used).
    Host(Option<i64>),
    /// Stripe: one of its events (`stripe:evt_…`), or Stripe itself (`stripe`).
    Stripe(Option<String>),
    /// The product on its own.
    System(SystemJob),
    /// Someone at the server's command line (`cli`).
    CommandLine,
    /// Anything else a row holds (written by another version): shown as stored.
    Unknown(String),
}

/// What the product was doing on its own when it made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemJob {
    /// The due-date run (`system:due-date`).
    DueDate,
    /// The nightly reconcile (`system:nightly`; `schedule` in earlier reports).
    Nightly,
    /// An automatic retry after a soft decline (`system:retry`).
    Retry,
    /// A charge resumed after a restart (`system:resume`).
    Resume,
    /// The reconciler (`system:reconciler`).
    Reconciler,
    /// A 3D Secure link that expired (`system:link-expiry`).
    LinkExpiry,
    /// The demonstration's data (`system:seed-demo`).
    SeedDemo,
    /// A customer seeded for tests or a demonstration (`system:seed-customer`).
    SeedCustomer,
    /// Not said (`system`, as plans created without an admin were stored before the host API).
    Unnamed,
}

impl SystemJob {
    /// Every job that has a name.
    pub const ALL: [Self; 8] = [
        Self::DueDate,
        Self::Nightly,
        Self::Retry,
        Self::Resume,
        Self::Reconciler,
        Self::LinkExpiry,
        Self::SeedDemo,
        Self::SeedCustomer,
    ];

    /// As stored after `system:` (nothing for [`SystemJob::Unnamed`], stored `system`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DueDate => "due-date",
            Self::Nightly => "nightly",
            Self::Retry => "retry",
            Self::Resume => "resume",
            Self::Reconciler => "reconciler",
            Self::LinkExpiry => "link-expiry",
            Self::SeedDemo => "seed-demo",
            Self::SeedCustomer => "seed-customer",
            Self::Unnamed => "",
        }
    }
}

impl Actor {
    /// Reads an actor as a row stores it; what it does not know is kept as [`Actor::Unknown`].
    #[must_use]
    pub fn parse(stored: &str) -> Self {
        let id = |raw: &str| raw.parse::<i64>().ok().filter(|id| *id > 0);
        let known = match stored.split_once(':') {
            None => match stored {
                "link" => Some(Self::CustomerLink),
                "host" => Some(Self::Host(None)),
                "stripe" => Some(Self::Stripe(None)),
                "cli" => Some(Self::CommandLine),
                "schedule" => Some(Self::System(SystemJob::Nightly)),
                "system" => Some(Self::System(SystemJob::Unnamed)),
                _ => None,
            },
            Some(("admin", raw)) => id(raw).map(Self::Admin),
            Some(("user" | "customer", raw)) => id(raw).map(Self::Customer),
            Some(("api_key", raw)) => id(raw).map(|id| Self::Host(Some(id))),
            Some(("stripe", event)) if !event.is_empty() => Some(Self::Stripe(Some(event.to_owned()))),
            Some(("system", job)) => SystemJob::ALL.into_iter().find(|j| j.as_str() == job).map(Self::System),
            Some(_) => None,
        };
        known.unwrap_or_else(|| Self::Unknown(stored.to_owned()))
    }

    /// As a row stores it ([`Actor::parse`] reads it back).
    #[must_use]
    pub fn stored(&self) -> String {
        match self {
            Self::Admin(id) => format!("admin:{id}"),
            Self::Customer(id) => format!("user:{id}"),
            Self::CustomerLink => "link".to_owned(),
            Self::Host(None) => "host".to_owned(),
            Self::Host(Some(key)) => format!("api_key:{key}"),
            Self::Stripe(None) => "stripe".to_owned(),
            Self::Stripe(Some(event)) => format!("stripe:{event}"),
            Self::System(SystemJob::Unnamed) => "system".to_owned(),
            Self::System(job) => format!("system:{}", job.as_str()),
            Self::CommandLine => "cli".to_owned(),
            Self::Unknown(stored) => stored.clone(),
        }
    }

    /// The admin's account id, for an admin.
    #[must_use]
    pub const fn admin_id(&self) -> Option<i64> {
        match self {
            Self::Admin(id) => Some(*id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn what_the_services_write_reads_back_as_who_wrote_it() {
        let cases = [
            ("admin:3", Actor::Admin(3)),
            ("user:4", Actor::Customer(4)),
            ("customer:4", Actor::Customer(4)),
            ("link", Actor::CustomerLink),
            ("host", Actor::Host(None)),
            ("api_key:7", Actor::Host(Some(7))),
            ("stripe", Actor::Stripe(None)),
            ("stripe:evt_1", Actor::Stripe(Some("evt_1".to_owned()))),
            ("system:due-date", Actor::System(SystemJob::DueDate)),
            ("system:seed-customer", Actor::System(SystemJob::SeedCustomer)),
            ("cli", Actor::CommandLine),
            ("schedule", Actor::System(SystemJob::Nightly)),
            ("system", Actor::System(SystemJob::Unnamed)),
        ];
        for (stored, actor) in cases {
            assert_eq!(Actor::parse(stored), actor, "{stored}");
        }
        for job in SystemJob::ALL {
            assert_eq!(Actor::parse(&format!("system:{}", job.as_str())), Actor::System(job));
        }
    }

    #[test]
    fn what_it_does_not_know_is_kept_as_stored() {
        for stored in ["", "admin:", "admin:x", "admin:-1", "user:0", "system:later", "stripe:", "test", "a:b:c"] {
            assert_eq!(Actor::parse(stored), Actor::Unknown(stored.to_owned()), "{stored:?}");
        }
    }

    proptest! {
        #[test]
        fn any_stored_actor_reads_back_the_same(stored in ".{0,24}") {
            // Read, written back, read again: the same actor (`customer:4` is written `user:4`).
            let actor = Actor::parse(&stored);
            prop_assert_eq!(Actor::parse(&actor.stored()), actor);
        }
    }
}
