//! Due-date charging and the automatic retry schedule of soft declines.

use app::domain::{AttemptOutcome, EcheanceStatus};
use app::ssr::services::due;
use chrono::Days;
use std::time::Duration;

use crate::helpers::{Options, cards, spawn_app, spawn_app_with};

#[tokio::test]
async fn due_echeances_with_a_saved_card_are_charged_the_rest_is_left_alone() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let no_card = app.customer("nocard", None).await;
    let today = app.today();
    let due_today = app.echeance(&alice, 1_000, today).await;
    let overdue = app.echeance(&alice, 1_000, today.checked_sub_days(Days::new(3)).expect("date")).await;
    let tomorrow = app.echeance(&alice, 1_000, today.checked_add_days(Days::new(1)).expect("date")).await;
    let cardless = app.echeance(&no_card, 1_000, today).await;

    let report = due::charge_due(&app.state, today, 100).await.expect("ran");

    assert_eq!((report.charged, report.paid, report.errors), (2, 2, 0), "{report:?}");
    assert_eq!(app.status(due_today).await, EcheanceStatus::Payee);
    assert_eq!(app.status(overdue).await, EcheanceStatus::Payee);
    assert_eq!(app.status(tomorrow).await, EcheanceStatus::APayer);
    assert_eq!(app.status(cardless).await, EcheanceStatus::APayer);
    assert_eq!(app.attempts(due_today).await[0].trigger.as_str(), "due_date");

    let again = due::charge_due(&app.state, today, 100).await.expect("ran");
    assert_eq!(again.charged, 0, "a second run charges nothing");
}

#[tokio::test]
async fn soft_declines_are_retried_on_schedule_then_given_up() {
    let app =
        spawn_app_with(Options { env: vec![("RETRY_SCHEDULE_HOURS", "1,2".to_owned())], ..Default::default() }).await;
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let today = app.today();
    let e = app.echeance(&bob, 1_000, today).await;

    due::charge_due(&app.state, today, 10).await.expect("first");
    assert_eq!(app.status(e).await, EcheanceStatus::Echouee);
    assert_eq!(
        due::charge_due(&app.state, today, 10).await.expect("too early").charged,
        0,
        "not before the retry time"
    );

    app.clock.advance(Duration::from_secs(3_700));
    due::charge_due(&app.state, app.today(), 10).await.expect("second");
    assert_eq!(app.status(e).await, EcheanceStatus::Echouee);

    app.clock.advance(Duration::from_secs(7_300));
    due::charge_due(&app.state, app.today(), 10).await.expect("third");
    assert_eq!(app.status(e).await, EcheanceStatus::EchoueeDefinitive, "the schedule is exhausted");

    let attempts = app.attempts(e).await;
    assert_eq!(attempts.len(), 3);
    assert!(attempts.iter().all(|a| a.outcome == AttemptOutcome::Declined));
    assert_eq!(attempts[1].trigger.as_str(), "auto_retry");
    let keys: std::collections::HashSet<_> = attempts.iter().map(|a| a.idempotency_key.clone()).collect();
    assert_eq!(keys.len(), 3, "each attempt has its own key");
    app.clock.advance(Duration::from_secs(30 * 24 * 3600));
    assert_eq!(
        due::charge_due(&app.state, app.today(), 10).await.expect("after").charged,
        0,
        "a final decline is not retried"
    );
}
