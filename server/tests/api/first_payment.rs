//! The first échéance due when the customer accepts, paid with the card they
//! type for it: one PaymentIntent, sent on-session with `setup_future_usage =
//! off_session` (what was sent is read from the layer's request log), that
//! saves the card for the later échéances once it succeeds — learned from
//! Stripe's answer, from the 3DS page's check or from a webhook. Until then
//! the card is charged for nothing and the plan waits; a card Stripe does not
//! know, another customer's card or another customer's échéance writes nothing.

use std::time::Duration;

use app::domain::{AttemptOutcome, EcheanceId, EcheanceStatus, Invalid, PlanStatus, ThreeDsStep, UserId};
use app::ssr::entities::{charge_attempt, payment_method, payment_plan};
use app::ssr::services::authenticate::{self, Access};
use app::ssr::services::charge::Trigger;
use app::ssr::services::error::ServiceError;
use app::ssr::services::{cards, charge, due};
use chrono::Days;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::helpers::{Fault, Options, TestApp, cards as test_cards, spawn_app_by_hand, spawn_app_with};
use crate::plans::accepted_plan;

const CREATE: &str = "POST /v1/payment_intents";

fn id(raw: i64) -> EcheanceId {
    EcheanceId::new(raw).expect("id")
}

async fn plan_status(app: &TestApp, plan_id: i64) -> PlanStatus {
    payment_plan::Entity::find_by_id(plan_id).one(&app.state.db).await.expect("query").expect("plan").status
}

async fn card_rows(app: &TestApp, customer: UserId) -> Vec<payment_method::Model> {
    payment_method::Entity::find()
        .filter(payment_method::Column::UserId.eq(customer.get()))
        .all(&app.state.db)
        .await
        .expect("query")
}

/// The one field of a request the layer saw.
fn field<'a>(request: &'a std::collections::HashMap<String, String>, name: &str) -> Option<&'a str> {
    request.get(name).map(String::as_str)
}

#[tokio::test]
async fn one_payment_intent_pays_the_first_echeance_on_session_and_saves_the_card_the_next_one_is_charged_with() {
    let app = spawn_app_by_hand().await;
    let zoe = app.customer("zoe", None).await;
    // Weekly from today: the first échéance is due now; accepted, no card yet.
    let created = accepted_plan(&app, &zoe, 30_000, 3).await;
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::EnAttenteClient);
    let (first, second) = (created.echeances[0].id, created.echeances[1].id);

    let pm = app.payment_method(test_cards::OK).await;
    let result = charge::charge_with_new_card(&app.state, id(first), zoe.id, &pm).await.expect("paid");
    assert_eq!(result.status, EcheanceStatus::Payee);

    let sent = app.stripe.sent(CREATE);
    assert_eq!(sent.len(), 1, "one PaymentIntent: {sent:?}");
    assert_eq!(field(&sent[0], "setup_future_usage"), Some("off_session"), "it saves the card: {:?}", sent[0]);
    assert_eq!(field(&sent[0], "off_session"), Some("false"), "the customer is on the page");
    assert_eq!(field(&sent[0], "payment_method"), Some(pm.as_str()));
    assert_eq!(field(&sent[0], "customer"), Some(zoe.stripe_customer.as_str()));
    assert_eq!(app.stripe.calls("POST /v1/setup_intents"), 0, "no SetupIntent");
    let on_stripe = app.peer.get(&format!("/v1/payment_methods/{pm}")).await;
    assert_eq!(on_stripe["customer"], zoe.stripe_customer.as_str(), "Stripe saved the card for the customer");

    let card = cards::default_card(&app.state, zoe.id).await.expect("query").expect("the card is saved");
    assert_eq!(card.last4, "4242");
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::Actif, "consent and a usable card");

    // A week later the due-date run charges the next échéance with that card, off-session.
    let next_week = app.today().checked_add_days(Days::new(7)).expect("date");
    due::charge_due(&app.state, next_week, 100).await.expect("ran");
    assert_eq!(app.status(second).await, EcheanceStatus::Payee);
    let sent = app.stripe.sent(CREATE);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(field(&sent[1], "off_session"), Some("true"));
    assert_eq!(field(&sent[1], "payment_method"), Some(pm.as_str()));
    assert_eq!(field(&sent[1], "setup_future_usage"), None, "saved once, by the first payment");
}

#[tokio::test]
async fn with_3d_secure_the_card_waits_unused_until_the_webhook_says_the_payment_succeeded() {
    let app = spawn_app_with(Options::default()).await;
    let zoe = app.customer("zoe", None).await;
    let created = accepted_plan(&app, &zoe, 30_000, 3).await;
    let first = created.echeances[0].id;

    let pm = app.payment_method(test_cards::SCA_ALWAYS).await;
    let result = charge::charge_with_new_card(&app.state, id(first), zoe.id, &pm).await.expect("sent");
    assert_eq!(result.status, EcheanceStatus::EnAttente, "the bank asks for 3D Secure, in the page");
    let pi = result.payment_intent_id.expect("the PaymentIntent to authenticate");
    let sent = app.stripe.sent(CREATE);
    assert_eq!(
        (field(&sent[0], "setup_future_usage"), field(&sent[0], "off_session")),
        (Some("off_session"), Some("false"))
    );

    // Not paid yet: the card is recorded but neither shown nor charged, and the plan waits.
    let rows = card_rows(&app, zoe.id).await;
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].usable && !rows[0].is_default, "{rows:?}");
    assert!(cards::default_card(&app.state, zoe.id).await.expect("query").is_none());
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::EnAttenteClient);
    let far = app.today().checked_add_days(Days::new(30)).expect("date");
    let report = due::charge_due(&app.state, far, 100).await.expect("ran");
    assert_eq!(
        app.stripe.sent(CREATE).len(),
        1,
        "the due-date run charges nothing of a plan without a card: {report:?}"
    );
    let second = charge::charge(&app.state, id(created.echeances[1].id), Trigger::Customer(zoe.id)).await;
    assert!(
        matches!(second, Err(ServiceError::Invalid(Invalid::NoCard))),
        "the unsaved card pays nothing else: {second:?}"
    );
    assert_eq!(app.stripe.sent(CREATE).len(), 1);

    // The customer completes 3D Secure in Stripe.js; the webhook brings the news (no page check).
    let page = authenticate::prepare(&app.state, &pi, &Access::User(zoe.id), false).await.expect("the 3DS page");
    // Confirmed on-session with the card just typed: Stripe.js runs its 3DS, confirming nothing again.
    assert_eq!(page.step, Some(ThreeDsStep::HandleAction), "{page:?}");
    assert_eq!(app.peer.get(&format!("/v1/payment_intents/{pi}")).await["payment_method"], pm.as_str());
    let secret = page.client_secret.expect("the client secret");
    app.stripe.authenticate(&pi, &secret, true).await;
    app.assert_reaches(first, EcheanceStatus::Payee).await;

    let card = cards::default_card(&app.state, zoe.id).await.expect("query").expect("saved by the webhook");
    assert_eq!(card.last4, "3184");
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::Actif);
    let on_stripe = app.peer.get(&format!("/v1/payment_methods/{pm}")).await;
    assert_eq!(on_stripe["customer"], zoe.stripe_customer.as_str());
}

#[tokio::test]
async fn a_declined_card_is_not_saved_and_another_card_pays_and_is_saved_instead() {
    let app = spawn_app_by_hand().await;
    let zoe = app.customer("zoe", None).await;
    let created = accepted_plan(&app, &zoe, 30_000, 3).await;
    let first = created.echeances[0].id;

    let declined = app.payment_method(test_cards::DECLINED).await;
    let result = charge::charge_with_new_card(&app.state, id(first), zoe.id, &declined).await.expect("answered");
    assert!(matches!(result.status, EcheanceStatus::Echouee | EcheanceStatus::EchoueeDefinitive), "{result:?}");
    assert!(cards::default_card(&app.state, zoe.id).await.expect("query").is_none(), "a declined card is not saved");
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::EnAttenteClient);

    let good = app.payment_method(test_cards::OK).await;
    let result = charge::charge_with_new_card(&app.state, id(first), zoe.id, &good).await.expect("paid");
    assert_eq!(result.status, EcheanceStatus::Payee);
    let card = cards::default_card(&app.state, zoe.id).await.expect("query").expect("saved");
    assert_eq!(card.last4, "4242");
    let rows = card_rows(&app, zoe.id).await;
    let usable: Vec<_> = rows.iter().filter(|r| r.usable).map(|r| r.stripe_payment_method_id.as_str()).collect();
    assert_eq!(usable, vec![good.as_str()], "only the card that paid: {rows:?}");
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::Actif);
    let sent = app.stripe.sent(CREATE);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|s| field(s, "setup_future_usage") == Some("off_session")), "{sent:?}");
}

#[tokio::test]
async fn a_lost_answer_is_resent_with_the_same_key_and_the_same_request_and_the_card_is_saved_when_it_settles() {
    let app = spawn_app_by_hand().await;
    let zoe = app.customer("zoe", None).await;
    let created = accepted_plan(&app, &zoe, 30_000, 3).await;
    let first = created.echeances[0].id;
    for _ in 0..4 {
        app.stripe.inject(CREATE, Fault::DropResponse);
    }
    let pm = app.payment_method(test_cards::OK).await;
    let result = charge::charge_with_new_card(&app.state, id(first), zoe.id, &pm).await.expect("sent");
    assert_eq!(result.status, EcheanceStatus::EnCours, "every answer was lost");
    assert!(cards::default_card(&app.state, zoe.id).await.expect("query").is_none(), "not saved while unknown");

    app.clock.advance(Duration::from_secs(120));
    charge::resume(&app.state, 10).await.expect("resumed");
    assert_eq!(app.status(first).await, EcheanceStatus::Payee);
    let sent = app.stripe.sent(CREATE);
    assert!(sent.len() >= 2, "{sent:?}");
    assert!(sent.iter().all(|s| s == &sent[0]), "every re-send asks exactly the same: {sent:?}");
    assert_eq!(field(&sent[0], "setup_future_usage"), Some("off_session"));
    assert_eq!(app.peer.payment_intents_of(first).await.len(), 1, "one PaymentIntent on Stripe");
    assert_eq!(app.attempts(first).await.len(), 1, "one attempt, one key");
    assert_eq!(cards::default_card(&app.state, zoe.id).await.expect("query").map(|c| c.last4), Some("4242".to_owned()));
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::Actif);
}

#[tokio::test]
async fn a_failed_3d_secure_cancels_the_payment_intent_instead_of_reusing_the_unsaved_card() {
    let app = spawn_app_by_hand().await;
    let zoe = app.customer("zoe", None).await;
    let created = accepted_plan(&app, &zoe, 30_000, 3).await;
    let first = created.echeances[0].id;
    let pm = app.payment_method(test_cards::SCA_ALWAYS).await;
    let result = charge::charge_with_new_card(&app.state, id(first), zoe.id, &pm).await.expect("sent");
    let pi = result.payment_intent_id.expect("to authenticate");
    let page = authenticate::prepare(&app.state, &pi, &Access::User(zoe.id), false).await.expect("the 3DS page");
    app.stripe.authenticate(&pi, &page.client_secret.expect("secret"), false).await;

    // Back on the page: no retry offered on that card (Stripe would refuse it), the PaymentIntent is cancelled.
    let page = authenticate::prepare(&app.state, &pi, &Access::User(zoe.id), true).await.expect("the 3DS page");
    assert!(!page.can_retry && page.client_secret.is_none(), "{page:?}");
    assert_eq!(page.status, EcheanceStatus::APayer, "payable again");
    assert_eq!(app.peer.get(&format!("/v1/payment_intents/{pi}")).await["status"], "canceled");
    assert_eq!(app.attempts(first).await[0].outcome, AttemptOutcome::Canceled);
    assert!(cards::default_card(&app.state, zoe.id).await.expect("query").is_none(), "the card is not saved");

    let good = app.payment_method(test_cards::OK).await;
    let again = charge::charge_with_new_card(&app.state, id(first), zoe.id, &good).await.expect("paid");
    assert_eq!(again.status, EcheanceStatus::Payee);
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::Actif);
}

#[tokio::test]
async fn an_unknown_card_another_customers_card_or_echeance_writes_nothing_and_charges_nothing() {
    let app = spawn_app_by_hand().await;
    let zoe = app.customer("zoe", None).await;
    let bruno = app.customer("bruno", None).await;
    let created = accepted_plan(&app, &zoe, 30_000, 3).await;
    let first = created.echeances[0].id;
    let brunos_card = app.add_card(&bruno, test_cards::OK).await;
    let zoes_card = app.payment_method(test_cards::OK).await;
    // A card Bruno typed that was declined: recorded for him, attached to no one on Stripe.
    let brunos_echeance = app.echeance(&bruno, 5_000, app.today()).await;
    let brunos_declined = app.payment_method(test_cards::DECLINED).await;
    charge::charge_with_new_card(&app.state, id(brunos_echeance), bruno.id, &brunos_declined).await.expect("declined");
    let count = || async {
        (app.stripe.calls(CREATE), charge_attempt::Entity::find().count(&app.state.db).await.expect("count"))
    };
    let before = count().await;

    for (who, card, what) in [
        (zoe.id, "pm_unknown_to_stripe", "a card Stripe does not know"),
        (zoe.id, "pm_x'--", "not a PaymentMethod id"),
        (zoe.id, brunos_card.as_str(), "another customer's card"),
        (zoe.id, brunos_declined.as_str(), "a card another customer typed"),
        (bruno.id, zoes_card.as_str(), "another customer's échéance"),
    ] {
        let result = charge::charge_with_new_card(&app.state, id(first), who, card).await;
        assert!(matches!(result, Err(ServiceError::NotFound)), "{what}: {result:?}");
    }
    assert_eq!(count().await, before, "nothing charged, no attempt written");
    assert!(card_rows(&app, zoe.id).await.is_empty(), "no card recorded");
    assert_eq!(app.status(first).await, EcheanceStatus::APayer);
    assert_eq!(plan_status(&app, created.plan.id).await, PlanStatus::EnAttenteClient);
}
