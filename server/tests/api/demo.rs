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
