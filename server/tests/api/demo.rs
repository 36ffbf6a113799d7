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
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    seed::seed_demo(&app.state, app.today()).await.expect("seeded");

    let plans = payment_plan::Entity::find().all(&app.state.db).await.expect("plans");
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
