//! Due-date charging and the automatic retry schedule of soft declines.

use app::domain::{AttemptOutcome, EcheanceStatus};
use app::ssr::services::due;
use chrono::Days;
use std::time::Duration;

use crate::helpers::{Options, cards, spawn_app, spawn_app_by_hand, spawn_app_with};

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

/// Moves the test's clock forward to the next `h:m:s` in the schedule's time zone.
fn clock_to_local(app: &crate::helpers::TestApp, h: u32, m: u32, s: u32) {
    use chrono::TimeZone as _;
    let tz = app.state.settings.schedule_timezone;
    let now = app.state.now_ms();
    let local_today = app.today();
    let at = |day: chrono::NaiveDate| {
        tz.from_local_datetime(&day.and_hms_opt(h, m, s).expect("time")).earliest().expect("exists").timestamp_millis()
    };
    let mut target = at(local_today);
    if target <= now {
        target = at(local_today.checked_add_days(Days::new(1)).expect("date"));
    }
    app.clock.advance(Duration::from_millis(u64::try_from(target - now).expect("forward")));
}

/// The retry date the failure email gives.
async fn retry_on(app: &crate::helpers::TestApp, echeance: i64) -> String {
    use app::ssr::entities::email_outbox;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let email = email_outbox::Entity::find()
        .filter(email_outbox::Column::EcheanceId.eq(echeance))
        .filter(email_outbox::Column::Kind.eq(app::domain::EmailKind::PaymentFailed))
        .order_by_desc(email_outbox::Column::Id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("the failure email");
    let context: serde_json::Value = serde_json::from_str(&email.context).expect("json");
    context["retry_on"].as_str().expect("a retry date").to_owned()
}

#[tokio::test]
async fn a_decline_is_retried_by_the_run_of_the_day_its_email_gives() {
    use app::domain::{EcheanceId, Locale};
    use app::ssr::services::charge::{self, Trigger};
    let app = spawn_app_by_hand().await;
    // During the 06:00 run (Paris), 40 s after it read its clock: the next morning's run retries it, as the email says.
    clock_to_local(&app, 6, 0, 40);
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let day = |n: u64| app.today().checked_add_days(Days::new(n)).expect("date");
    let (today, tomorrow) = (app.today(), day(1));
    let e = app.echeance(&bob, 1_000, today).await;
    due::charge_due(&app.state, today, 10).await.expect("run");
    assert_eq!(app.status(e).await, EcheanceStatus::Echouee);
    assert_eq!(retry_on(&app, e).await, Locale::Fr.format_date(tomorrow));
    app.clock.advance(Duration::from_secs(24 * 3600 - 30));
    assert_eq!(app.today(), tomorrow);
    let next_morning = due::charge_due(&app.state, tomorrow, 10).await.expect("run");
    assert_eq!(next_morning.charged, 1, "retried the next morning (it waited a day more)");
    assert_eq!(app.attempts(e).await.len(), 2);

    // One due today, declined at 14:00 by the customer's own « Payer »: due at 14:00 the next day, made by the 06:00 run after
    // that — the day the email gives (it gave the day before, when nothing runs).
    clock_to_local(&app, 14, 0, 0);
    let pressed = app.echeance(&bob, 2_000, app.today()).await;
    let declined = charge::charge(&app.state, EcheanceId::new(pressed).expect("id"), Trigger::Customer(bob.id)).await;
    assert_eq!(declined.expect("sent").status, EcheanceStatus::Echouee);
    let (next_day, day_after) = (
        app.today().checked_add_days(Days::new(1)).expect("d"),
        app.today().checked_add_days(Days::new(2)).expect("d"),
    );
    assert_eq!(retry_on(&app, pressed).await, Locale::Fr.format_date(day_after));
    clock_to_local(&app, 6, 0, 10);
    assert_eq!(due::charge_due(&app.state, next_day, 10).await.expect("run").charged, 0, "not the next morning");
    clock_to_local(&app, 6, 0, 10);
    assert_eq!(app.today(), day_after);
    assert_eq!(due::charge_due(&app.state, day_after, 10).await.expect("run").charged, 1, "the morning after");
}

#[tokio::test]
async fn a_payment_ahead_that_the_bank_declined_is_retried_from_its_date_on_not_before() {
    use app::domain::{EcheanceId, Locale, Refusal};
    use app::ssr::services::charge::{self, Trigger};
    use app::ssr::services::error::ServiceError;
    let app = spawn_app_by_hand().await;
    clock_to_local(&app, 14, 0, 0);
    let bob = app.customer("bob", Some(cards::DECLINED)).await;
    let due_on = app.today().checked_add_days(Days::new(10)).expect("date");
    let e = app.echeance(&bob, 2_000, due_on).await;
    let id = EcheanceId::new(e).expect("id");
    // Paid ahead by its customer, on-session, and declined: retried off-session, so on its date, as the email says.
    let declined = charge::charge(&app.state, id, Trigger::Customer(bob.id)).await;
    assert_eq!(declined.expect("sent").status, EcheanceStatus::Echouee);
    assert_eq!(retry_on(&app, e).await, Locale::Fr.format_date(due_on), "its date, not the next morning");
    for _ in 0..9 {
        clock_to_local(&app, 6, 0, 10);
        let run = due::charge_due(&app.state, app.today(), 10).await.expect("run");
        assert_eq!(run.charged, 0, "not on {}", app.today());
    }
    let early = charge::charge(&app.state, id, Trigger::AutoRetry).await;
    assert!(matches!(early, Err(ServiceError::Refused(Refusal::NotDueYet))), "{early:?}");
    assert_eq!(app.attempts(e).await.len(), 1, "nothing sent before its date");
    clock_to_local(&app, 6, 0, 10);
    assert_eq!(app.today(), due_on);
    assert_eq!(due::charge_due(&app.state, due_on, 10).await.expect("run").charged, 1, "retried on its date");
    assert_eq!(app.attempts(e).await.len(), 2);
}

#[tokio::test]
async fn the_command_line_charges_a_day_that_has_come_never_one_to_come() {
    use crate::helpers::binary::binary_env;
    use crate::helpers::peer::free_port;
    let app = spawn_app_by_hand().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 1_000, app.today().checked_add_days(Days::new(10)).expect("date")).await;
    let charge_due = |date: chrono::NaiveDate| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["charge-due", "--date", &date.to_string()])
            .envs(binary_env(&app, &app.stripe, free_port()))
            .output()
    };
    // A day to come would charge its échéances off-session before their date: refused, nothing sent.
    let later = charge_due(app.today().checked_add_days(Days::new(30)).expect("date")).await.expect("runs");
    assert!(!later.status.success(), "refused");
    assert!(String::from_utf8_lossy(&later.stderr).contains("is after today"), "{later:?}");
    assert!(app.attempts(e).await.is_empty());
    assert_eq!(app.status(e).await, EcheanceStatus::APayer);
    // A day that has come (one to catch up on) runs.
    let past = charge_due(app.today().checked_sub_days(Days::new(1)).expect("date")).await.expect("runs");
    assert!(past.status.success(), "{past:?}");
    assert!(app.attempts(e).await.is_empty(), "not due that day either");
}
