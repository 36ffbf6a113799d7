//! Every page reads in its reader's language: an English page holds no word that only the French
//! texts use, and a French page none that only the English texts use. The two vocabularies come from
//! the text tables themselves (`Texts::phrases`, `Texts::plurals`), so a text added in one language
//! and shown in the other is caught without a hand-kept word list. Ids, keys, addresses, amounts and
//! what a machine said in its own words (in `<code>`) are no language's words.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use app::domain::{Actor, Amount, EcheanceId, Interval, LinkHolder, Locale, RefundReason, ScheduleRequest};
use app::ssr::entities::user;
use app::ssr::services::charge::{self, Trigger};
use app::ssr::services::host_api::keys;
use app::ssr::services::plans::{self, NewCustomer, NewPlan};
use app::ssr::services::{invitations, reconcile, refunds};
use app::ui::i18n::Texts;
use sea_orm::EntityTrait;

use crate::helpers::receiver::Receiver;
use crate::helpers::{TestApp, cards as test_cards, spawn_app};
use crate::plans::consent;

/// The lowercase words of `text`.
fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// Every word of `locale`'s texts, their `{placeholders}` left out (both languages name them alike).
fn vocabulary(locale: Locale) -> BTreeSet<String> {
    let tx = Texts::of(locale);
    let mut texts: Vec<&str> = tx.phrases().into_iter().map(|(_, text)| text).collect();
    texts.extend(tx.plurals().into_iter().flat_map(|(_, plural)| [plural.one, plural.other]));
    let mut words: BTreeSet<String> = BTreeSet::new();
    for text in texts {
        let without_placeholders: String = text
            .split('{')
            .enumerate()
            .map(|(i, part)| if i == 0 { part } else { part.split_once('}').map_or(part, |(_, rest)| rest) })
            .collect::<Vec<_>>()
            .join(" ");
        words.extend(words_of(&without_placeholders));
    }
    words
}

/// The words of `locale`'s texts that the other language's never use, but the brand's and the
/// language switch's (« Français » on an English page, « English » on a French one).
fn words_only_in(locale: Locale) -> BTreeSet<String> {
    let other = if locale == Locale::Fr { Locale::En } else { Locale::Fr };
    let mut kept = vocabulary(other);
    for allowed in [Texts::of(locale).app_name, Texts::of(other).app_name, Texts::of(other).other_language] {
        kept.extend(words_of(allowed));
    }
    vocabulary(locale).difference(&kept).filter(|w| w.chars().count() >= 3).cloned().collect()
}

/// What a reader is told by the page: its text and the attributes read out (`aria-label`,
/// `placeholder`, `title`, `alt`), without scripts, styles and the resources' JSON.
fn interface_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        out.push(' ');
        let end = rest[start..].find('>').map_or(rest.len(), |e| start + e + 1);
        let tag = &rest[start..end];
        for attribute in ["aria-label=\"", "placeholder=\"", "title=\"", "alt=\""] {
            if let Some(at) = tag.find(attribute) {
                let value = &tag[at + attribute.len()..];
                out.push_str(value.split('"').next().unwrap_or_default());
                out.push(' ');
            }
        }
        rest = &rest[end..];
        // Code (ids, keys, a machine's own words) and what merchants type (templates) are not interface text.
        for (open, close) in [
            ("<script", "</script>"),
            ("<style", "</style>"),
            ("<template", "</template>"),
            ("<code", "</code>"),
            ("<textarea", "</textarea>"),
        ] {
            if tag.starts_with(open) {
                rest = rest.find(close).map_or("", |i| &rest[i..]);
            }
        }
    }
    out.push_str(rest);
    for (entity, character) in
        [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#x27;", "'"), ("&#39;", "'"), ("&nbsp;", " ")]
    {
        out = out.replace(entity, character);
    }
    out.replace("&amp;", "&")
}

/// An id, a key, an address, an amount or a date: no language's word.
fn is_technical(token: &str) -> bool {
    let inner_colon = token.trim_end_matches([':', ',', ';', '.', ')']).contains(':');
    inner_colon || token.contains(|c: char| c.is_ascii_digit() || matches!(c, '_' | '=' | '@' | '/'))
}

/// The words of `foreign` that page `path` shows, read in `lang`.
async fn foreign_words(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    lang: &str,
    foreign: &BTreeSet<String>,
) -> Vec<String> {
    let join = if path.contains('?') { '&' } else { '?' };
    let url = format!("{}{path}{join}lang={lang}", app.address);
    let asked = path.split('?').next().unwrap_or(path);
    // A page that never ends fails here rather than holding the suite (see `rendering`).
    let response = client.get(&url).timeout(Duration::from_secs(30)).send().await;
    let response = response.unwrap_or_else(|e| panic!("{lang} {path}: {e}"));
    assert!(response.status().is_success(), "{lang} {path}: {}", response.status());
    assert_eq!(response.url().path(), asked, "{lang} {path}: the page itself, not where it sends the reader");
    let html = response.text().await.unwrap_or_else(|e| panic!("{lang} {path}: {e}"));
    let text = interface_text(&html);
    // Who did what is worded, never shown as stored (`admin:3`, `system:due-date` …).
    let stored_actor = text.split_whitespace().find(|token| {
        ["admin:", "user:", "customer:", "api_key:", "system:"]
            .iter()
            .any(|prefix| token.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty()))
    });
    assert_eq!(stored_actor, None, "{lang} {path}: an actor as stored");
    let mut found: Vec<String> = text
        .split_whitespace()
        .filter(|token| !is_technical(token))
        .flat_map(words_of)
        .filter(|w| foreign.contains(w))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// A plan whose label and customer's name are no word of either language.
fn plan_for(email: &str, name: &str, app: &TestApp) -> NewPlan {
    NewPlan {
        customer: NewCustomer { email: email.to_owned(), name: name.to_owned(), locale: Locale::En },
        label: "Zorblax 2027".to_owned(),
        currency: "eur".to_owned(),
        schedule: ScheduleRequest::Split { total: 30_000, count: 3, first_due: app.today(), interval: Interval::Week },
        metadata: BTreeMap::new(),
        send_invitation: true,
        return_url: None,
    }
}

#[tokio::test]
async fn every_page_reads_in_its_readers_language_with_no_interface_word_of_the_other() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    // A host site told of payments and refunds: the integration page lists what it was sent.
    let receiver = Receiver::start().await;
    let key = keys::create(&app.state, "Zorblax").await.expect("key");
    crate::host_webhooks::endpoint(&app, key.key.expose(), &receiver, &["echeance.paid", "plan.activated"]).await;
    // Three customers whose names are no word of either language: one paid, one whose bank asks
    // for 3D Secure, one declined; and a plan still waiting for its customer.
    let mut paying = Vec::new();
    for (who, card) in [("zelda", test_cards::OK), ("vexa", test_cards::SCA_ALWAYS), ("orla", test_cards::DECLINED)] {
        let customer = app.customer(who, Some(card)).await;
        let created = plans::create(&app.state, None, plan_for(&customer.email, &format!("{who} Quix"), &app))
            .await
            .expect("created");
        plans::accept(&app.state, created.plan.id, customer.id, "Zorblax".to_owned(), consent())
            .await
            .expect("accepted");
        let first = created.echeances[0].id;
        let id = EcheanceId::new(first).expect("id");
        charge::charge(&app.state, id, Trigger::Customer(customer.id)).await.expect("charged");
        paying.push((customer, created.plan.id, first));
    }
    let waiting =
        plans::create(&app.state, None, plan_for("nyx@example.test", "Nyx Quix", &app)).await.expect("created");
    let expires = app.state.now_ms() + 86_400_000;
    let invitation =
        invitations::link(&app.state, waiting.plan.id, waiting.plan.customer_id, LinkHolder::Inbox, expires);
    let base = app.state.settings.app_base_url.as_str().trim_end_matches('/').to_owned();
    let invitation = invitation.trim_start_matches(&base).to_owned();
    // The 3D Secure email's link, without the language it was written in.
    let recovery = app.emails(paying[1].2).await.into_iter().find_map(|e| {
        let context: serde_json::Value = serde_json::from_str(&e.context).ok()?;
        context["link"].as_str().map(str::to_owned)
    });
    let recovery = recovery.expect("the 3D Secure email's link");
    let recovery =
        recovery[recovery.find("/payment/").expect("path")..].split("&lang=").next().expect("link").to_owned();

    let mut admin_pages: Vec<String> = [
        "/admin",
        "/admin/plans",
        "/admin/plans/new",
        "/admin/templates",
        "/admin/integration",
        "/admin/admins",
        "/admin/security",
    ]
    .map(str::to_owned)
    .to_vec();
    admin_pages.push(format!("/admin/plans/{}", waiting.plan.id));
    for (_, plan, echeance) in &paying {
        admin_pages.push(format!("/admin/plans/{plan}"));
        admin_pages.push(format!("/admin/echeances/{echeance}"));
    }
    // A refund the admin asked for (its « by » column), and a reconcile run they started (the
    // dashboard shows its report).
    let ask = refunds::Ask {
        echeance: EcheanceId::new(paying[0].2).expect("id"),
        seen: 0,
        amount: Amount::from_minor(1_000).expect("amount"),
        reason: RefundReason::RequestedByCustomer,
    };
    refunds::refund(&app.state, ask, admin.id).await.expect("refund asked");
    let options =
        reconcile::Options { since: Duration::from_secs(3600), dry_run: false, trigger: Actor::Admin(admin.id.get()) };
    reconcile::run(&app.state, &options, &reconcile::Silent).await.expect("reconciled");
    // What Stripe says of the refund is on its timeline before any page is read, whichever
    // language reads first (it came at any moment, and was read in one language only).
    let refund_events = ["refund.created", "charge.refunded"];
    app.apply_once_stored(&refund_events).await;
    let admin_name = user::Entity::find_by_id(admin.id.get()).one(&app.state.db).await.expect("query").expect("admin");
    let admin_name = admin_name.display_name;

    let anonymous_pages = ["/", invitation.as_str(), recovery.as_str(), "/password/set?token=x", "/login/link?token=x"];

    for locale in [Locale::En, Locale::Fr] {
        let lang = locale.code();
        let foreign = words_only_in(if locale == Locale::En { Locale::Fr } else { Locale::En });
        let mut shown: Vec<(String, Vec<String>)> = Vec::new();
        let anonymous = app.browser();
        for path in anonymous_pages {
            shown.push((path.to_owned(), foreign_words(&app, &anonymous, path, lang, &foreign).await));
        }
        let as_admin = app.browser();
        app.login(&as_admin, &admin).await;
        for path in &admin_pages {
            shown.push((path.clone(), foreign_words(&app, &as_admin, path, lang, &foreign).await));
        }
        for (i, (customer, _, echeance)) in paying.iter().enumerate() {
            let as_customer = app.browser();
            app.login(&as_customer, customer).await;
            let mut pages = vec!["/".to_owned()];
            if i == 0 {
                pages.push(format!("/receipts/{echeance}"));
            }
            for path in pages {
                shown.push((
                    format!("{path} ({})", customer.email),
                    foreign_words(&app, &as_customer, &path, lang, &foreign).await,
                ));
            }
        }
        // An admin's page in `lang`, as served.
        let admin_page = |path: String| {
            let url = format!("{}{path}?lang={lang}", app.address);
            let client = as_admin.clone();
            async move { client.get(url).send().await.expect("answers").text().await.expect("page") }
        };
        // The report names who started it, in the reader's words.
        let dashboard = admin_page("/admin".to_owned()).await;
        let started_by = app::ui::i18n::fill(Texts::of(locale).report_started_by, &[("actor", &admin_name)]);
        assert!(dashboard.contains(&started_by), "{lang}: « {started_by} » not on the dashboard");
        // The email templates open on the reader's own language's.
        let templates = admin_page("/admin/templates".to_owned()).await;
        let chosen = format!(
            "href=\"/admin/templates?kind=authentication_required&amp;locale={lang}\" class=\"button primary\""
        );
        assert!(templates.contains(&chosen), "{lang}: {chosen} not in the templates page");
        // Machines' words are shown as they said them, set apart as code: Stripe's event types and
        // decline code on the timelines, the host's event types among its deliveries.
        let shown_as_code = [
            (format!("/admin/echeances/{}", paying[0].2), refund_events.to_vec()),
            (format!("/admin/echeances/{}", paying[2].2), vec!["card_declined"]),
            ("/admin/integration".to_owned(), vec!["plan.activated"]),
        ];
        for (path, words) in shown_as_code {
            let page = admin_page(path.clone()).await;
            for word in words {
                let code = format!("<code translate=\"no\">{word}</code>");
                assert!(page.contains(&code), "{lang}: {code} not on {path}");
            }
        }
        let mixed: Vec<_> = shown.into_iter().filter(|(_, words)| !words.is_empty()).collect();
        assert!(mixed.is_empty(), "{lang} pages with words of the other language: {mixed:#?}");
    }
}

#[test]
fn each_language_has_words_the_other_never_uses() {
    // The check above is only as good as these lists: they hold the words a reader would notice.
    let french = words_only_in(Locale::Fr);
    let english = words_only_in(Locale::En);
    for word in ["échéance", "payée", "annuler", "carte", "banque", "refusé"] {
        assert!(french.contains(word), "{word}");
    }
    for word in ["installment", "paid", "cancel", "card", "bank", "declined"] {
        assert!(english.contains(word), "{word}");
    }
    assert!(!french.contains("stripe") && !english.contains("stripe"), "the brand of both");
}
