//! Backup and restore that cannot double-charge: a database restored from a
//! backup hands out again the ids and attempt numbers it had used after the
//! backup. It starts a new installation epoch (part of every key made after
//! it), charges nothing until a reconcile has covered the window since the
//! backup, and that reconcile finds on Stripe what was paid after the backup.

use std::sync::Arc;

use app::domain::{EcheanceId, EcheanceStatus, Refusal, Role};
use app::ssr::entities::app_setting;
use app::ssr::installation;
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::error::ServiceError;
use app::ssr::services::reconcile;
use app::ssr::services::schedule::{self, Job};
use sea_orm::EntityTrait;

use crate::helpers::database::TestDatabase;
use crate::helpers::database::tempdir::TempDir;
use crate::helpers::peer::Peer;
use crate::helpers::{Customer, Fault, Options, cards, spawn_on};

fn id(raw: i64) -> EcheanceId {
    EcheanceId::new(raw).expect("id")
}

fn quiet() -> Options {
    Options { workers: false, ..Default::default() }
}

#[tokio::test]
async fn a_restored_backup_waits_for_a_reconcile_finds_what_was_paid_after_it_and_never_sends_a_key_again() {
    let peer = Arc::new(Peer::start().await);
    let db = Arc::new(TestDatabase::create().await);
    let app = spawn_on(db.clone(), peer.clone(), quiet()).await;
    assert_eq!(app.state.epoch, 1);
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e1 = app.echeance(&alice, 1_000, app.today()).await;
    let e2 = app.echeance(&alice, 2_000, app.today()).await;
    let e3 = app.echeance(&alice, 3_000, app.today()).await;
    let e4 = app.echeance(&alice, 4_000, app.today()).await;
    // Dana exists in the backup, without a Stripe customer yet: she pays only after it.
    let (dana_id, dana_email, dana_password) = app.account("dana", Role::Customer).await;
    let dana_row = Customer { id: dana_id, email: dana_email, password: dana_password, stripe_customer: String::new() };
    let e5 = app.echeance(&dana_row, 5_000, app.today()).await;
    let paid = charge::charge(&app.state, id(e1), Trigger::Customer(alice.id)).await.expect("charged");
    assert_eq!(paid.status, EcheanceStatus::Payee);

    // The backup; then a payment and a new customer that the backup will not know.
    let dir = TempDir::new();
    let file = dir.path().join("backup");
    let url = db.url.clone();
    app::ssr::backup::write(&app.state.db, &url, &file, app.state.now_ms()).await.expect("backup written");
    assert!(
        app::ssr::backup::write(&app.state.db, &url, &file, app.state.now_ms()).await.is_err(),
        "never overwritten"
    );
    let marker = app_setting::Entity::find_by_id(installation::BACKUP_MARKER.to_owned()).one(&app.state.db).await;
    assert!(marker.expect("query").is_none(), "the marker is in the copy only");
    let paid = charge::charge(&app.state, id(e2), Trigger::Customer(alice.id)).await.expect("charged");
    assert_eq!(paid.status, EcheanceStatus::Payee);
    let bruno = app.customer("bruno", None).await;
    let dana = Customer {
        stripe_customer: app::ssr::services::cards::ensure_customer(&app.state, dana_id).await.expect("customer"),
        ..dana_row
    };
    app.add_card(&dana, cards::OK).await;
    let paid = charge::charge(&app.state, id(e5), Trigger::Customer(dana.id)).await.expect("charged");
    assert_eq!(paid.status, EcheanceStatus::Payee);
    // And an attempt whose request never reached Stripe: its key was sent all the same.
    for _ in 0..4 {
        app.stripe.inject("POST /v1/payment_intents", Fault::Unavailable);
    }
    let unknown = charge::charge(&app.state, id(e4), Trigger::Customer(alice.id)).await.expect("sent");
    assert_eq!(unknown.status, EcheanceStatus::EnCours);
    let keys_before_restore = app.stripe.keys();

    // Restored: a new epoch, and nothing charged before a reconcile.
    let restored_db = Arc::new(TestDatabase::restore(&file).await);
    let restored = spawn_on(restored_db.clone(), peer.clone(), quiet()).await;
    assert!(restored.state.epoch > 1, "a restored database starts a new epoch");
    assert_eq!(restored.status(e2).await, EcheanceStatus::APayer, "the backup does not know e2 was paid");
    for e in [e2, e3] {
        let refused = charge::charge(&restored.state, id(e), Trigger::Customer(alice.id)).await;
        assert!(matches!(refused, Err(ServiceError::Refused(Refusal::RestorePending))), "{e}: {refused:?}");
    }
    assert!(restored.stripe.keys().is_empty(), "nothing sent to Stripe");
    // A second start on the same database is not a second restore.
    let again = spawn_on(restored_db.clone(), peer.clone(), quiet()).await;
    assert_eq!(again.state.epoch, restored.state.epoch);
    drop(again);

    // The workers' schedule runs a reconcile at once (not at its nightly hour), over the window
    // since the backup: e2 is found paid.
    schedule::run_if_due(&restored.state, Job::Reconcile).await.expect("scheduled");
    let (report, drift) = reconcile::latest(&restored.state).await.expect("query").expect("a reconcile ran");
    assert_eq!(report.errors, 0, "{report:?}");
    assert_eq!(restored.status(e2).await, EcheanceStatus::Payee, "{drift:?}");
    assert!(drift.iter().any(|d| d.echeance_id == e2 && d.fixed), "{drift:?}");
    assert_eq!(restored.status(e5).await, EcheanceStatus::Payee, "paid by a customer the backup never knew: {drift:?}");
    assert_eq!(restored.attempts(e2).await.len(), 1, "the payment after the backup, as an attempt here");

    // Charges resume, with keys of the new epoch.
    let refused = charge::charge(&restored.state, id(e2), Trigger::Customer(alice.id)).await;
    assert!(matches!(refused, Err(ServiceError::Refused(Refusal::Settled))), "{refused:?}");
    for e in [e3, e4] {
        let paid = charge::charge(&restored.state, id(e), Trigger::Customer(alice.id)).await.expect("charged");
        assert_eq!(paid.status, EcheanceStatus::Payee, "{e}");
        assert_eq!(paid.attempt_no.get(), 1, "attempt 1 again, under a key of the new epoch");
    }
    // Chloé gets the user id Bruno had after the backup: her Stripe customer is her own.
    let chloe = restored.customer("chloe", None).await;
    assert_eq!(chloe.id, bruno.id, "the restored database hands the id out again");
    assert_ne!(chloe.stripe_customer, bruno.stripe_customer);

    // A refund asked now carries the new epoch in its key too.
    let admin = restored.admin("Ada").await;
    let ask = app::ssr::services::refunds::Ask {
        echeance: id(e3),
        seen: 0,
        amount: app::domain::Amount::from_minor(100).expect("amount"),
        reason: app::domain::RefundReason::RequestedByCustomer,
    };
    app::ssr::services::refunds::refund(&restored.state, ask, admin.id).await.expect("refund asked");
    let row = app::ssr::entities::refund::Entity::find().one(&restored.state.db).await.expect("query").expect("row");
    assert!(
        row.idempotency_key.starts_with(&format!("ech-{}-", restored.state.key_scope))
            && restored.state.key_scope.ends_with(&format!("r{}", restored.state.epoch)),
        "{} under scope {}",
        row.idempotency_key,
        restored.state.key_scope
    );

    let after_restore = restored.stripe.keys();
    assert!(!after_restore.is_empty());
    let reused: Vec<&String> = after_restore.iter().filter(|k| keys_before_restore.contains(k)).collect();
    assert!(reused.is_empty(), "keys sent again after the restore: {reused:?}");
    for e in [e1, e2, e3, e4, e5] {
        assert_eq!(peer.payment_intents_of(e).await.len(), 1, "échéance {e}: one PaymentIntent");
    }

    // The same backup restored once more, later: another epoch again (never the first restore's).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let twice = spawn_on(Arc::new(TestDatabase::restore(&file).await), peer.clone(), quiet()).await;
    assert!(
        twice.state.epoch > 1 && twice.state.epoch != restored.state.epoch,
        "{} vs {}",
        twice.state.epoch,
        restored.state.epoch
    );
    schedule::run_if_due(&twice.state, Job::Reconcile).await.expect("scheduled");
    for e in [e2, e3, e4, e5] {
        assert_eq!(twice.status(e).await, EcheanceStatus::Payee, "found paid by either later epoch: {e}");
    }
    let paid = charge::charge(&twice.state, id(e1), Trigger::Customer(alice.id)).await;
    assert!(matches!(paid, Err(ServiceError::Refused(Refusal::Settled))), "{paid:?}");
}

#[tokio::test]
async fn an_attempt_a_backup_holds_as_never_sent_waits_for_the_reconcile_after_its_restore() {
    const CANCEL: &str = "POST /v1/payment_intents/{id}/cancel";
    const READ: &str = "GET /v1/payment_intents/{id}";
    const CREATE: &str = "POST /v1/payment_intents";
    let peer = Arc::new(Peer::start().await);
    let db = Arc::new(TestDatabase::create().await);
    let app = spawn_on(db.clone(), peer.clone(), quiet()).await;
    let ada = app.admin("ada").await;
    // Declined, then charged again by an admin while Stripe answers neither the declined
    // PaymentIntent's cancel nor its read-back: the new attempt is claimed, never sent.
    let alice = app.customer("alice", Some(cards::DECLINED)).await;
    let e = app.echeance(&alice, 2_000, app.today()).await;
    let first = charge::charge(&app.state, id(e), Trigger::DueDate).await.expect("sent");
    assert_eq!(first.status, EcheanceStatus::Echouee);
    app.add_card(&alice, cards::OK).await;
    app.stripe.inject(READ, Fault::Delay(std::time::Duration::ZERO)); // read before the claim: not processing
    for _ in 0..4 {
        app.stripe.inject(CANCEL, Fault::Unavailable);
        app.stripe.inject(READ, Fault::Unavailable);
    }
    let silent = charge::charge(&app.state, id(e), Trigger::Admin(ada.id)).await;
    assert!(matches!(silent, Err(ServiceError::Unavailable)), "{silent:?}");
    let unsent = app.attempts(e).await;
    assert_eq!((unsent.len(), unsent[1].stripe_calls), (2, 0), "attempt 2 claimed, never sent");

    // The backup holds it so; restored, its follow-up sends nothing before a reconcile.
    let dir = TempDir::new();
    let file = dir.path().join("backup");
    app::ssr::backup::write(&app.state.db, &db.url, &file, app.state.now_ms()).await.expect("backup written");
    drop(app);
    let restored = spawn_on(Arc::new(TestDatabase::restore(&file).await), peer.clone(), quiet()).await;
    restored.clock.advance(std::time::Duration::from_secs(10 * 60));
    assert_eq!(charge::resume(&restored.state, 10).await.expect("resumed"), 0, "nothing settled yet");
    assert!(restored.stripe.keys().is_empty(), "nothing sent to Stripe: {:?}", restored.stripe.keys());
    assert_eq!(restored.stripe.calls(CREATE) + restored.stripe.calls(CANCEL), 0);
    assert_eq!(restored.status(e).await, EcheanceStatus::EnCours);

    // Once the reconcile has covered the window, it goes: paid once.
    schedule::run_if_due(&restored.state, Job::Reconcile).await.expect("scheduled");
    assert!(installation::restore_pending(&restored.state.db).await.expect("read").is_none(), "reconciled");
    assert!(charge::resume(&restored.state, 10).await.expect("resumed") > 0);
    assert_eq!(restored.status(e).await, EcheanceStatus::Payee);
    let succeeded =
        restored.peer.payment_intents_of(e).await.into_iter().filter(|p| p["status"] == "succeeded").count();
    assert_eq!(succeeded, 1, "paid once");
}
