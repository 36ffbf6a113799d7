//! The demo data an admin sees first.

use app::api::dto::AdminFilter;
use app::domain::EcheanceStatus;
use app::ssr::services::admin::{self, Filter};
use app::ssr::services::seed;

use crate::helpers::{spawn_app, spawn_app_by_hand};

#[tokio::test]
async fn a_fresh_demo_tells_a_story_on_the_dashboard() {
    let app = spawn_app().await;
    let empty = admin::list(&app.state, &Filter::default(), 0).await.expect("dashboard").daily;
    assert_eq!(empty.len(), 1, "nothing collected yet: one chart, in euros");
    assert_eq!(empty[0].currency, app::domain::Currency::Eur);
    assert!(empty[0].days.len() == 30 && empty[0].days.iter().all(|d| d.cents == 0), "{empty:?}");
    assert!(seed::seed_demo(&app.state, app.today()).await.expect("seeded"), "written once");
    assert!(!seed::seed_demo(&app.state, app.today()).await.expect("checked"), "and only once");

    let page =
        admin::list(&app.state, &Filter::parse(&AdminFilter::default()).expect("filter"), 0).await.expect("dashboard");

    assert_eq!(page.daily.len(), 1, "one currency, one chart: {:?}", page.daily);
    let collected: i64 = page.daily[0].days.iter().map(|d| d.cents).sum();
    assert!(page.daily[0].days.iter().filter(|d| d.cents > 0).count() >= 3, "bars on the chart: {:?}", page.daily);
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
    let token = link.split("token=").nth(1).and_then(|t| t.split('&').next()).expect("token");
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

#[tokio::test]
async fn each_dashboard_view_shows_what_the_whole_joined_query_holds() {
    use app::ssr::entities::{echeance, echeance_total, user};
    use app::ssr::services::admin::totals;
    use sea_orm::ActiveValue::{Set, Unchanged};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
    // No background worker: the test folds the totals itself (the worker folds past `FOLD_FROM` rows,
    // a few more than this test writes) and the demo's webhooks change nothing between two reads.
    let app = spawn_app_by_hand().await;
    seed::seed_demo(&app.state, app.today()).await.expect("seeded");
    let extra = app.customer("zoe", None).await;
    let mut ids = Vec::new();
    for n in 0..40 {
        ids.push(app.echeance(&extra, 1_000 + n, app.today()).await);
    }
    // Writes of every kind, before and after a fold: the totals follow whatever writes an échéance.
    let set = |id: i64, change: &dyn Fn(&mut echeance::ActiveModel)| {
        let mut row = echeance::ActiveModel { id: Unchanged(id), ..Default::default() };
        change(&mut row);
        row
    };
    set(ids[0], &|r| r.status = Set(EcheanceStatus::Annulee)).update(&app.state.db).await.expect("status");
    set(ids[1], &|r| r.amount_cents = Set(7_777)).update(&app.state.db).await.expect("amount");
    let folded = totals::fold(&app.state.db).await.expect("fold");
    assert!(folded > 40, "{folded} rows folded");
    let kept_rows = echeance_total::Entity::find().count(&app.state.db).await.expect("rows");
    assert_eq!(kept_rows, u64::try_from(totals::kept(&app.state.db).await.expect("kept").len()).expect("small"));
    let paid_now = app.state.now_ms();
    set(ids[2], &|r| {
        r.status = Set(EcheanceStatus::Payee);
        r.currency = Set("usd".to_owned());
        r.paid_at = Set(Some(paid_now));
    })
    .update(&app.state.db)
    .await
    .expect("status and currency");
    set(ids[3], &|r| r.label = Set("Renommée".to_owned())).update(&app.state.db).await.expect("label");
    set(ids[5], &|r| r.current_payment_intent_id = Set(Some("pi_searched".to_owned())))
        .update(&app.state.db)
        .await
        .expect("pi");
    echeance::Entity::delete_by_id(ids[4]).exec(&app.state.db).await.expect("delete");
    // A customer renamed after their échéances were written: the search follows the rename.
    let renamed = app.customer("yannick", None).await;
    let renamed_row = app.echeance(&renamed, 2_000, app.today()).await;
    user::Entity::update_many()
        .col_expr(user::Column::DisplayName, sea_orm::sea_query::Expr::value("Yann Kerbrat"))
        .filter(user::Column::Id.eq(renamed.id.get()))
        .exec(&app.state.db)
        .await
        .expect("rename");
    let today = app.today();
    // Text that must find something (a name in any case or cut to two letters, a renamed name, a renamed
    // label, an id, a PaymentIntent, a name under a status), and text that must not.
    let found = |text: &str| AdminFilter { q: Some(text.into()), ..Default::default() };
    let searches = [
        (found("zoe"), true),
        (found("ZOE"), true),
        (found("zo"), true),
        (found("nommée"), true),
        (found("kerbrat"), true),
        (found(&format!("#{renamed_row}")), true),
        (found("pi_searched"), true),
        (found("yannick"), true),
        (found("Le Goff"), false),
        (AdminFilter { customer: Some("ALICE".into()), ..Default::default() }, true),
        (AdminFilter { q: Some("zoe".into()), status: Some("annulee".into()), ..Default::default() }, true),
    ];
    let mut forms = vec![
        AdminFilter::default(),
        AdminFilter { customer: Some("alice".into()), ..Default::default() },
        AdminFilter { q: Some("zoe".into()), ..Default::default() },
        AdminFilter { due_from: Some(today.to_string()), due_to: Some(today.to_string()), ..Default::default() },
        AdminFilter { amount_min: Some("10,20".into()), status: Some("a_payer".into()), ..Default::default() },
    ];
    forms.extend(
        EcheanceStatus::ALL.iter().map(|s| AdminFilter { status: Some(s.as_str().to_owned()), ..Default::default() }),
    );
    for (form, finds) in &searches {
        let filter = Filter::parse(form).expect("filter");
        let count = filter.apply(echeance::Entity::find(), true).count(&app.state.db).await.expect("count");
        assert_eq!(count > 0, *finds, "{form:?}: {count} found");
    }
    forms.extend(searches.into_iter().map(|(form, _)| form));
    for form in forms {
        let filter = Filter::parse(&form).expect("filter");
        // What the dashboard read before it kept to its indexes: every échéance joined to its customer.
        let whole = filter
            .apply(echeance::Entity::find(), true)
            .order_by_asc(echeance::Column::DueDate)
            .order_by_asc(echeance::Column::Id)
            .select_also(user::Entity)
            .all(&app.state.db)
            .await
            .expect("whole");
        let count = filter.apply(echeance::Entity::find(), true).count(&app.state.db).await.expect("count");
        assert_eq!(count, u64::try_from(whole.len()).expect("small"));
        let pages = count.div_ceil(25).max(1);
        for page in [0, 1, pages - 1, pages + 3, u64::MAX] {
            let shown = admin::list(&app.state, &filter, page).await.expect("dashboard");
            assert_eq!((shown.total, shown.pages), (count, pages), "{form:?}");
            let at = usize::try_from(page.min(pages - 1)).expect("small") * 25;
            let expected: Vec<(i64, String)> =
                whole.iter().skip(at).take(25).map(|(e, u)| (e.id, u.as_ref().expect("user").email.clone())).collect();
            let rows: Vec<(i64, String)> = shown.rows.iter().map(|r| (r.id, r.customer.email.clone())).collect();
            assert_eq!(rows, expected, "{form:?}, page {page}");
        }
        let by_status = admin::list(&app.state, &filter, 0).await.expect("dashboard").totals;
        let all_statuses = filter.apply(echeance::Entity::find(), false).all(&app.state.db).await.expect("all");
        for total in &by_status {
            let of_status: Vec<_> = all_statuses
                .iter()
                .filter(|e| e.status == total.status && e.currency == total.money.currency.code())
                .collect();
            assert_eq!(total.count, u64::try_from(of_status.len()).expect("small"), "{form:?} {}", total.status);
            assert_eq!(total.money.minor, of_status.iter().map(|e| e.amount_cents).sum::<i64>());
        }
        assert_eq!(by_status.iter().map(|t| t.count).sum::<u64>(), u64::try_from(all_statuses.len()).expect("small"));
    }
    // The chart: a series per currency, each of the last 30 days (the schedule's time zone) with what was
    // collected on it in that currency (euros and dollars do not add up).
    let tz = app.state.settings.schedule_timezone;
    let mut expected: std::collections::BTreeMap<(bool, &str), Vec<(chrono::NaiveDate, i64)>> = Default::default();
    for e in echeance::Entity::find().all(&app.state.db).await.expect("all") {
        let code = if e.currency == "eur" { "eur" } else { "usd" };
        let series = expected
            .entry((code != "eur", code))
            .or_insert_with(|| (0..30).rev().map(|n| (today - chrono::Days::new(n), 0)).collect());
        if let Some(paid_at) = e.paid_at.filter(|_| e.status.was_collected()) {
            let day =
                chrono::DateTime::from_timestamp_millis(paid_at).expect("instant").with_timezone(&tz).date_naive();
            if let Some((_, sum)) = series.iter_mut().find(|(d, _)| *d == day) {
                *sum += e.amount_cents;
            }
        }
    }
    let chart = admin::list(&app.state, &Filter::default(), 0).await.expect("dashboard").daily;
    let chart: Vec<(&str, Vec<(chrono::NaiveDate, i64)>)> = chart
        .iter()
        .map(|series| (series.currency.code(), series.days.iter().map(|d| (d.day, d.cents)).collect()))
        .collect();
    let expected: Vec<(&str, Vec<(chrono::NaiveDate, i64)>)> =
        expected.into_iter().map(|((_, code), days)| (code, days)).collect();
    assert_eq!(chart, expected);
    assert_eq!(chart.iter().map(|(code, _)| *code).collect::<Vec<_>>(), ["eur", "usd"], "euros first");
    assert!(chart[0].1.iter().filter(|(_, cents)| *cents > 0).count() >= 3, "{chart:?}");
    assert_eq!(chart[1].1.iter().map(|(_, cents)| cents).sum::<i64>(), 1_002, "the dollars apart: {chart:?}");
}

#[tokio::test]
async fn the_kept_totals_are_folded_once_they_have_grown_and_stay_the_same() {
    use app::ssr::entities::echeance_total;
    use app::ssr::services::admin::totals;
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = spawn_app_by_hand().await;
    let zoe = app.customer("zoe", None).await;
    for n in 0..30 {
        app.echeance(&zoe, 1_000 + n, app.today()).await;
    }
    let rows = || async { echeance_total::Entity::find().count(&app.state.db).await.expect("rows") };
    let kept = || async {
        totals::kept(&app.state.db).await.expect("kept").into_iter().collect::<std::collections::HashSet<_>>()
    };
    let few = rows().await;
    assert!((30..=totals::FOLD_FROM).contains(&few), "{few}");
    assert_eq!(totals::fold_when_grown(&app.state.db).await.expect("fold"), 0, "a few rows are left as they are");
    assert_eq!(rows().await, few);

    for n in 0..totals::FOLD_FROM {
        app.echeance(&zoe, 2_000 + i64::try_from(n).expect("small"), app.today()).await;
    }
    let before = kept().await;
    let folded = totals::fold_when_grown(&app.state.db).await.expect("fold");

    assert_eq!(u64::try_from(folded).expect("small"), few + totals::FOLD_FROM);
    assert_eq!(rows().await, u64::try_from(before.len()).expect("small"), "one row per status and currency");
    assert_eq!(kept().await, before);
}

#[tokio::test]
async fn a_search_reads_percent_underscore_backslash_and_the_escape_character_as_themselves() {
    use app::ssr::entities::echeance;
    use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, QueryOrder};
    let app = spawn_app().await;
    let underscore = app.customer("jean_dupont", None).await;
    let dash = app.customer("jean-dupont", None).await;
    let of_underscore = app.echeance(&underscore, 1_000, app.today()).await;
    let mut labelled = std::collections::BTreeMap::new();
    for label in [
        "Remise 100% solidaire",
        "Remise 1000 €",
        r"Dossier C:\archives",
        "Dossier C:archives",
        "Promo! été",
        "Promo été",
        "Lot!_1",
        "Lot_1",
        "Lot!x1",
    ] {
        let id = app.echeance(&dash, 2_000, app.today()).await;
        echeance::ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(id),
            label: sea_orm::ActiveValue::Set(label.to_owned()),
            ..Default::default()
        }
        .update(&app.state.db)
        .await
        .expect("label");
        labelled.insert(label, id);
    }
    // Each text, and the only échéances it may find: `%`, `_` or `\` read as LIKE's wildcards or
    // PostgreSQL's escape would find more; `t!_1` holds both a wildcard and the escape character
    // (were its `!` not escaped in turn, `_` would be a wildcard again and `Lot!x1` found too);
    // `o!` is the escape character in a text that needs none.
    let searches: [(&str, Vec<i64>); 8] = [
        ("100%", vec![labelled["Remise 100% solidaire"]]),
        ("%", vec![labelled["Remise 100% solidaire"]]),
        ("jean_d", vec![of_underscore]),
        ("_", vec![of_underscore, labelled["Lot!_1"], labelled["Lot_1"]]),
        (r"c:\a", vec![labelled[r"Dossier C:\archives"]]),
        ("t!_1", vec![labelled["Lot!_1"]]),
        ("o!", vec![labelled["Promo! été"]]),
        ("o! é", vec![labelled["Promo! été"]]),
    ];
    for (text, expected) in searches {
        let filter = Filter::parse(&AdminFilter { q: Some(text.into()), ..Default::default() }).expect("filter");
        let shown = admin::list(&app.state, &filter, 0).await.expect("dashboard");
        let mut ids: Vec<i64> = shown.rows.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, expected, "the dashboard, searching {text:?}");
        assert_eq!(shown.total, u64::try_from(expected.len()).expect("small"), "its count, searching {text:?}");
        // The joined query (the export's) finds the same.
        let joined = filter.apply(echeance::Entity::find(), true).order_by_asc(echeance::Column::Id);
        assert_eq!(joined.clone().count(&app.state.db).await.expect("count"), shown.total, "joined, {text:?}");
        let joined: Vec<i64> = joined.all(&app.state.db).await.expect("rows").into_iter().map(|e| e.id).collect();
        assert_eq!(joined, expected, "joined, searching {text:?}");
    }
    // Plain text, in any case, still finds both customers' rows.
    let filter = Filter::parse(&AdminFilter { q: Some("JEAN".into()), ..Default::default() }).expect("filter");
    assert_eq!(admin::list(&app.state, &filter, 0).await.expect("dashboard").total, 10);
}
