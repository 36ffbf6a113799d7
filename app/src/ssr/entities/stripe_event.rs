//! `stripe_events`: the webhook inbox, unique on Stripe's event id.

use sea_orm::entity::prelude::*;

use crate::domain::EcheanceStatus;
use crate::ssr::repo::queue::InboxStatus;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub stripe_event_id: String,
    pub event_type: String,
    pub livemode: bool,
    pub created_unix: i64,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub payment_intent_id: Option<String>,
    pub status: InboxStatus,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub received_at: i64,
    pub processed_at: Option<i64>,
}

impl Model {
    /// The status change applying it made, when its note records one (`a_payer -> payee`, as
    /// the inbox writes it): typed, for a page to word in its reader's language.
    #[must_use]
    pub fn status_move(&self) -> Option<(EcheanceStatus, EcheanceStatus)> {
        let (from, to) = self.note.as_deref()?.split_once(" -> ")?;
        Some((EcheanceStatus::parse(from).ok()?, EcheanceStatus::parse(to).ok()?))
    }
}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_that_records_a_status_change_reads_typed_and_another_does_not() {
        let with = |note: &str| Model {
            id: 1,
            stripe_event_id: "evt_1".to_owned(),
            event_type: "payment_intent.succeeded".to_owned(),
            livemode: false,
            created_unix: 0,
            payload: "{}".to_owned(),
            payment_intent_id: None,
            status: InboxStatus::Processed,
            attempts: 1,
            next_attempt_at: 0,
            locked_until: None,
            last_error: None,
            note: Some(note.to_owned()),
            received_at: 0,
            processed_at: None,
        };
        assert_eq!(with("a_payer -> payee").status_move(), Some((EcheanceStatus::APayer, EcheanceStatus::Payee)));
        assert_eq!(with("refund=re_1 succeeded echeance=3").status_move(), None);
        assert_eq!(with("paid -> payee").status_move(), None);
    }
}
