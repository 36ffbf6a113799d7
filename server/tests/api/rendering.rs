//! Pages render to the end while another server of the same process starts. Leptos' route-list
//! generation runs the app with a process-wide switch that leaves any resource first polled
//! meanwhile pending for ever (leptos-rs/leptos#4773): the tests start many servers in one
//! process, and an échéance's timeline was seen never answering under the whole suite's load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use server::startup;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_router_built_while_pages_render_leaves_none_of_them_pending() {
    let app = spawn_app().await;
    let (_, as_admin) = app.logged_in_admin().await;
    // Another server's router, built again and again on a thread of its own (as another test's is).
    let stop = Arc::new(AtomicBool::new(false));
    let building = std::thread::spawn({
        let (state, stop) = (app.state.clone(), stop.clone());
        move || {
            let mut built = 0_u32;
            while !stop.load(Ordering::Relaxed) {
                drop(startup::router(state.clone()));
                built += 1;
            }
            built
        }
    });

    let mut stalled = None;
    for path in ["/admin", "/admin/plans", "/admin/integration"].into_iter().cycle().take(30) {
        let url = format!("{}{path}", app.address);
        let page = async { as_admin.get(&url).send().await?.error_for_status()?.text().await };
        match tokio::time::timeout(Duration::from_secs(15), page).await {
            Ok(page) => assert!(page.expect("the page answers").contains("</html>"), "{path}: a whole page"),
            Err(_) => {
                stalled = Some(path);
                break;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let built = building.join().expect("the routers were built");

    assert!(built > 0, "another router was built meanwhile");
    assert_eq!(stalled, None, "a page left pending for 15 s while {built} routers were built");
}
