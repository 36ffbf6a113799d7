//! The demo data an admin sees first.

use app::api::dto::AdminFilter;
use app::domain::EcheanceStatus;
use app::ssr::services::admin::{self, Filter};
use app::ssr::services::seed;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_fresh_demo_tells_a_story_on_the_dashboard() {
    let app = spawn_app().await;
    assert!(seed::seed_demo(&app.state, app.today()).await.expect("seeded"), "written once");
    assert!(!seed::seed_demo(&app.state, app.today()).await.expect("checked"), "and only once");

    let page =
        admin::list(&app.state, &Filter::parse(&AdminFilter::default()).expect("filter"), 0).await.expect("dashboard");

    let collected: i64 = page.daily.iter().map(|d| d.cents).sum();
    assert!(page.daily.iter().filter(|d| d.cents > 0).count() >= 3, "bars on the 30-day chart: {:?}", page.daily);
    assert!(collected > 0);
    let shown: Vec<EcheanceStatus> = page.totals.iter().map(|t| t.status).collect();
    for status in EcheanceStatus::matching(|s| !s.is_pending_on_stripe()) {
        assert!(shown.contains(&status), "{status} is missing from the demo: {shown:?}");
    }
}

#[tokio::test]
async fn the_demo_has_a_plan_waiting_for_its_customer_whose_invitation_the_home_page_links_to() {
    use app::domain::{EmailKind, Locale, PlanStatus};
    use app::ssr::entities::{email_outbox, payment_plan};
    use app::ssr::services::{invitations, queries};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn_app().await;
    seed::seed_demo(&app.state, app.today()).await.expect("seeded");

    let plans = payment_plan::Entity::find()
        .filter(payment_plan::Column::Label.eq("Atelier céramique"))
        .all(&app.state.db)
        .await
        .expect("plans");
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].status, PlanStatus::EnAttenteClient);
    let queued = email_outbox::Entity::find().all(&app.state.db).await.expect("outbox");
    assert!(queued.iter().any(|m| m.kind == EmailKind::Invitation && m.to_address == "chloe@echeancier.test"));

    let landing = queries::landing(&app.state, None).await.expect("landing");
    assert_eq!(landing.demo_invitations.len(), 1);
    let link = &landing.demo_invitations[0].link;
    let token = link.split("token=").nth(1).expect("token");
    let shown = invitations::open(&app.state, plans[0].id, token, Locale::Fr).await.expect("the link opens the plan");
    assert_eq!(shown.customer_name, "Chloé Petit");
}

#[tokio::test]
async fn each_demo_customer_has_an_accepted_plan_that_their_card_makes_active_and_bruno_one_in_default() {
    use app::domain::{PlanStatus, UserId};
    use app::ssr::entities::{echeance, payment_plan, plan_consent, user};
    use app::ssr::services::queries;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let app = spawn_app().await;
    seed::seed_demo(&app.state, app.today()).await.expect("seeded");
    let db = &app.state.db;
    let id_of = |email: &'static str| async move {
        user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await.expect("user").expect(email).id
    };
    let (alice, bruno) = (id_of("alice@echeancier.test").await, id_of("bruno@echeancier.test").await);
    let plans_of = |customer: i64| async move {
        payment_plan::Entity::find()
            .filter(payment_plan::Column::CustomerId.eq(customer))
            .order_by_asc(payment_plan::Column::Id)
            .all(db)
            .await
            .expect("plans")
            .into_iter()
            .map(|p| (p.label, p.status))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        plans_of(alice).await,
        vec![
            ("Formation — acompte".to_owned(), PlanStatus::Termine),
            ("Formation annuelle — 4 échéances".to_owned(), PlanStatus::EnAttenteClient),
        ]
    );
    assert_eq!(
        plans_of(bruno).await,
        vec![
            ("Cours de langue — 6 échéances".to_owned(), PlanStatus::EnDefaut),
            ("Stage d’été — 2 échéances".to_owned(), PlanStatus::EnAttenteClient),
        ]
    );
    // Every plan a demo customer holds was accepted: its consent is on record, its échéances add up.
    for plan in payment_plan::Entity::find()
        .filter(payment_plan::Column::CustomerId.is_in([alice, bruno]))
        .all(db)
        .await
        .expect("plans")
    {
        let consent = plan_consent::Entity::find()
            .filter(plan_consent::Column::PaymentPlanId.eq(plan.id))
            .one(db)
            .await
            .expect("consent")
            .unwrap_or_else(|| panic!("no consent for {}", plan.label));
        assert!(consent.mandate_text.contains(&plan.label), "{}", consent.mandate_text);
        let was_active = matches!(plan.status, PlanStatus::Actif | PlanStatus::Termine | PlanStatus::EnDefaut);
        assert_eq!(plan.accepted_at.is_some(), was_active, "{}: {}", plan.label, plan.status);
        let rows = echeance::Entity::find()
            .filter(echeance::Column::PaymentPlanId.eq(plan.id))
            .order_by_asc(echeance::Column::Seq)
            .all(db)
            .await
            .expect("échéances");
        assert_eq!(rows.iter().map(|e| e.amount_cents).sum::<i64>(), plan.total_cents, "{}", plan.label);
        let seqs: Vec<Option<i32>> = rows.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=i32::try_from(rows.len()).expect("few")).map(Some).collect::<Vec<_>>());
    }
    // No échéance of a demo customer is loose: each belongs to a plan.
    let loose = echeance::Entity::find()
        .filter(echeance::Column::UserId.is_in([alice, bruno]))
        .filter(echeance::Column::PaymentPlanId.is_null())
        .all(db)
        .await
        .expect("échéances");
    assert!(loose.is_empty(), "{loose:?}");

    // What scripts/run does next: each customer saves a card.
    for customer in [alice, bruno] {
        app.save_card_through_setup(UserId::new(customer).expect("id"), crate::helpers::cards::OK).await;
    }
    let statuses: Vec<PlanStatus> = plans_of(alice).await.into_iter().map(|(_, s)| s).collect();
    assert_eq!(statuses, vec![PlanStatus::Termine, PlanStatus::Actif]);
    let statuses: Vec<PlanStatus> = plans_of(bruno).await.into_iter().map(|(_, s)| s).collect();
    assert_eq!(statuses, vec![PlanStatus::EnDefaut, PlanStatus::Actif]);

    // The development home page says where each one is.
    let landing = queries::landing(&app.state, None).await.expect("landing");
    let shown: Vec<(&str, &str, PlanStatus)> =
        landing.demo_plans.iter().map(|p| (p.customer_name.as_str(), p.label.as_str(), p.status)).collect();
    assert_eq!(
        shown,
        vec![
            ("Alice Martin", "Formation — acompte", PlanStatus::Termine),
            ("Alice Martin", "Formation annuelle — 4 échéances", PlanStatus::Actif),
            ("Bruno Lefèvre", "Cours de langue — 6 échéances", PlanStatus::EnDefaut),
            ("Bruno Lefèvre", "Stage d’été — 2 échéances", PlanStatus::Actif),
        ]
    );
}
