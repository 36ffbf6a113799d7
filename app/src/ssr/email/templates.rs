//! Rendering email templates with minijinja: HTML bodies auto-escaped, every
//! variable required (a typo is an error, not a blank), errors worded by the
//! engine itself.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::domain::{EmailKind, Locale};
use crate::ssr::entities::email_template;

/// A template's three parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateSource {
    /// Subject line (plain text).
    pub subject: String,
    /// HTML body (auto-escaped).
    pub html: String,
    /// Plain-text body.
    pub text: String,
}

/// A rendered email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body.
    pub text: String,
}

/// A template that does not compile or render; the message is minijinja's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// Instructions one render may execute: an email template needs a few
/// thousand; a runaway loop stops here instead of eating the CPU.
const FUEL: u64 = 200_000;
/// The most one part may write (a loop that prints stops here, not at the memory's end).
const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// The longest a render may take, whatever the template.
const RENDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// The largest source of one part.
const MAX_SOURCE_BYTES: usize = 64 * 1024;
/// Renders running at once in this process. Fuel counts instructions, not
/// their cost (one `'x' * 100000000` is one instruction), and a render past
/// its timeout keeps its thread until it ends: a slot is held that long, so
/// hostile templates can keep at most this many threads busy.
static RENDER_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Renders `source` with `context` on the blocking pool, within
/// [`RENDER_TIMEOUT`] and a render slot: what requests and the email worker call.
///
/// # Errors
/// As [`render`], a render that takes too long, or no free slot in time.
pub async fn render_bounded(source: &TemplateSource, context: &serde_json::Value) -> Result<Rendered, TemplateError> {
    let slot = match tokio::time::timeout(RENDER_TIMEOUT, RENDER_SLOTS.acquire()).await {
        Ok(Ok(slot)) => slot,
        _ => return Err(TemplateError("the template renderer is busy; try again".to_owned())),
    };
    let (source, context) = (source.clone(), context.clone());
    let work = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        render(&source, &context)
    });
    match tokio::time::timeout(RENDER_TIMEOUT, work).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(TemplateError(format!("render task failed: {join}"))),
        Err(_) => Err(TemplateError(format!("render took longer than {} s", RENDER_TIMEOUT.as_secs()))),
    }
}

/// Renders `source` with `context`, bounded by [`FUEL`] and [`MAX_OUTPUT_BYTES`].
///
/// # Errors
/// A syntax error, an unknown variable or filter, fuel or output exhausted:
/// minijinja's own message, naming the part (`subject`, `html`, `text`) and line.
pub fn render(source: &TemplateSource, context: &serde_json::Value) -> Result<Rendered, TemplateError> {
    for (name, part) in [("subject", &source.subject), ("html", &source.html), ("text", &source.text)] {
        if part.len() > MAX_SOURCE_BYTES {
            return Err(TemplateError(format!("{name}: longer than {} KiB", MAX_SOURCE_BYTES / 1024)));
        }
    }
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| if name == "html" { AutoEscape::Html } else { AutoEscape::None });
    let describe = |e: minijinja::Error| TemplateError(describe_error(&e));
    env.add_template_owned("subject", source.subject.clone()).map_err(describe)?;
    env.add_template_owned("html", source.html.clone()).map_err(describe)?;
    env.add_template_owned("text", source.text.clone()).map_err(describe)?;
    let part = |name: &str| -> Result<String, TemplateError> {
        let mut out = Capped(Vec::new());
        env.get_template(name).and_then(|t| t.render_captured_to(context, &mut out).map(drop)).map_err(describe)?;
        String::from_utf8(out.0).map_err(|e| TemplateError(e.to_string()))
    };
    let subject = part("subject")?;
    if subject.contains(['\r', '\n']) {
        return Err(TemplateError("subject: a line break is not allowed in a subject".to_owned()));
    }
    Ok(Rendered { subject, html: part("html")?, text: part("text")? })
}

/// A writer that refuses to grow past [`MAX_OUTPUT_BYTES`].
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT_BYTES {
            return Err(std::io::Error::other(format!("output over {} KiB", MAX_OUTPUT_BYTES / 1024)));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn describe_error(e: &minijinja::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

/// Fills in `site_url`, and the variables a kind's templates came to use after some of its
/// emails were queued (a receipt queued before an upgrade has no `card`): templates are strict
/// about undefined variables, and such an email must still go out. A variable already there
/// is kept.
#[must_use]
pub fn with_defaults(kind: EmailKind, mut context: serde_json::Value, site_url: &str) -> serde_json::Value {
    let Some(map) = context.as_object_mut() else {
        return context;
    };
    // The site's address, for the emails queued where the settings are not at hand (a plan's).
    let site_url = if site_url.ends_with('/') { site_url.to_owned() } else { format!("{site_url}/") };
    map.entry("site_url").or_insert_with(|| serde_json::json!(site_url));
    if matches!(kind, EmailKind::PaymentReceived | EmailKind::UpcomingDebit) {
        let site = map.get("site_url").cloned().unwrap_or(serde_json::Value::Null);
        map.entry("portal_url").or_insert(site);
        map.entry("card").or_insert_with(|| serde_json::json!(""));
        map.entry("in_plan").or_insert(serde_json::json!(false));
        map.entry("remaining").or_insert(serde_json::Value::Null);
        map.entry("remaining_count").or_insert(serde_json::json!(0));
        map.entry("next_due_date").or_insert(serde_json::Value::Null);
    }
    if kind == EmailKind::AdminDisputeOpened {
        // Queued before a double charge's dispute was worded apart.
        map.entry("of_second_payment").or_insert(serde_json::Value::Bool(false));
    }
    if kind == EmailKind::PaymentFailed {
        // Queued before failures named their reason and carried a link: the site instead.
        let site = map.get("site_url").cloned().unwrap_or(serde_json::Value::Null);
        map.entry("link").or_insert(site);
        map.entry("reason").or_insert_with(|| serde_json::json!(""));
        map.entry("retry_on").or_insert_with(|| serde_json::json!(""));
    }
    context
}

/// Variables for a preview: what real emails of `kind` carry.
#[must_use]
pub fn sample_context(kind: EmailKind, locale: Locale) -> serde_json::Value {
    let fr = locale == Locale::Fr;
    let mut context = serde_json::json!({
        "customer_name": "Alice Martin",
        "echeance_id": 42,
        "label": if fr { "Échéance 3/6" } else { "Installment 3/6" },
        "amount": if fr { "300,00\u{a0}€" } else { "€300.00" },
        "due_date": if fr { "15/01/2027" } else { "15 Jan 2027" },
        "site_url": "https://echeancier.example/",
    });
    if matches!(kind, EmailKind::AuthenticationRequired | EmailKind::Reminder) {
        context["link"] = serde_json::json!("https://echeancier.example/payment/authenticate/pi_example?token=example");
        context["expires_on"] = serde_json::json!(if fr { "22/01/2027" } else { "22 Jan 2027" });
    }
    if kind == EmailKind::PaymentFailed {
        context["reason"] = serde_json::json!(if fr {
            "le solde de votre compte était insuffisant"
        } else {
            "your account balance was insufficient"
        });
        context["link"] = serde_json::json!("https://echeancier.example/login/link?token=example");
        context["retry_on"] = serde_json::json!(if fr { "18/01/2027" } else { "18 Jan 2027" });
    }
    if kind == EmailKind::AdminDisputeOpened {
        context["reader_name"] = serde_json::json!("Camille Admin");
        context["customer_email"] = serde_json::json!("alice@example.com");
        context["of_second_payment"] = serde_json::json!(false);
        context["reason"] = serde_json::json!("fraudulent");
        context["evidence_due_by"] = serde_json::json!(if fr { "29/01/2027" } else { "29 Jan 2027" });
        context["link"] = serde_json::json!("https://echeancier.example/admin/echeances/42");
    }
    if kind == EmailKind::Invitation {
        let (first, second, third) =
            if fr { ("15/01/2027", "15/02/2027", "15/03/2027") } else { ("15 Jan 2027", "15 Feb 2027", "15 Mar 2027") };
        context["label"] = serde_json::json!(if fr { "Formation 2027" } else { "Training 2027" });
        context["merchant"] = serde_json::json!("Échéancier");
        context["count"] = serde_json::json!(3);
        context["total"] = serde_json::json!(if fr { "900,00\u{a0}€" } else { "€900.00" });
        context["echeances"] = serde_json::json!([
            { "due_date": first, "amount": context["amount"] },
            { "due_date": second, "amount": context["amount"] },
            { "due_date": third, "amount": context["amount"] },
        ]);
        context["link"] = serde_json::json!("https://echeancier.example/plans/12/accept?token=example");
        context["expires_on"] = serde_json::json!(if fr { "29/12/2026" } else { "29 Dec 2026" });
    }
    if kind == EmailKind::CardExpiring {
        context["card"] = serde_json::json!("Visa •••• 4242");
        context["expires"] = serde_json::json!("01/2027");
        context["portal_url"] = serde_json::json!("https://echeancier.example/");
    }
    if matches!(kind, EmailKind::PaymentReceived | EmailKind::UpcomingDebit) {
        context["card"] = serde_json::json!("Visa •••• 4242");
        context["portal_url"] = serde_json::json!("https://echeancier.example/");
        context["remaining"] = serde_json::json!(if fr { "600,00\u{a0}€" } else { "€600.00" });
        context["remaining_count"] = serde_json::json!(2);
        context["in_plan"] = serde_json::json!(true);
        context["next_due_date"] = serde_json::json!(if fr { "15/02/2027" } else { "15 Feb 2027" });
    }
    if kind.is_about_a_plan() {
        // Exactly what `effects::plan_changed` puts in (no échéance of its own): a template
        // that previews is one that real emails render.
        let (first, second, third) =
            if fr { ("15/01/2027", "15/02/2027", "15/03/2027") } else { ("15 Jan 2027", "15 Feb 2027", "15 Mar 2027") };
        let amount = if fr { "300,00\u{a0}€" } else { "€300.00" };
        return serde_json::json!({
            "plan_id": 12,
            "label": if fr { "Formation 2027" } else { "Training 2027" },
            "customer_name": "Alice Martin",
            "reader_name": if kind.to_admins() { "Admin" } else { "Alice Martin" },
            "total": if fr { "900,00\u{a0}€" } else { "€900.00" },
            "count": 3,
            "echeances": [
                { "due_date": first, "amount": amount, "paid": true },
                { "due_date": second, "amount": amount, "paid": false },
                { "due_date": third, "amount": amount, "paid": false },
            ],
            "paid_count": 1,
            "paid_total": amount,
            "failed_due_date": second,
            "failed_amount": amount,
            "card": "Visa •••• 4242",
            "site_url": "https://echeancier.example/",
        });
    }
    if matches!(kind, EmailKind::SetPassword | EmailKind::LoginLink | EmailKind::PasswordReset) {
        context["name"] = serde_json::json!("Alice Martin");
        context["merchant"] = serde_json::json!("Échéancier");
        let path = if kind == EmailKind::LoginLink { "login/link" } else { "password/set" };
        context["link"] = serde_json::json!(format!("https://echeancier.example/{path}?token=example"));
        context["expires_on"] = serde_json::json!(if fr { "18/01/2027" } else { "18 Jan 2027" });
        context["minutes"] = serde_json::json!(if kind == EmailKind::LoginLink { 15 } else { 60 });
    }
    context
}

/// The stored template of `kind` in `locale` (falling back to French).
///
/// # Errors
/// Database failure, or no template at all.
pub async fn load(db: &DatabaseConnection, kind: EmailKind, locale: Locale) -> Result<TemplateSource, anyhow::Error> {
    for code in [locale.code(), Locale::Fr.code()] {
        if let Some(t) = email_template::Entity::find()
            .filter(email_template::Column::Kind.eq(kind.as_str()))
            .filter(email_template::Column::Locale.eq(code))
            .one(db)
            .await?
        {
            return Ok(TemplateSource { subject: t.subject, html: t.html_body, text: t.text_body });
        }
    }
    Err(anyhow::anyhow!("no {} template", kind.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(subject: &str, html: &str, text: &str) -> TemplateSource {
        TemplateSource { subject: subject.to_owned(), html: html.to_owned(), text: text.to_owned() }
    }

    #[test]
    fn html_is_escaped_text_and_subject_are_not() {
        let rendered = render(
            &source("Hi {{ name }}", "<p>{{ name }}</p>", "{{ name }}"),
            &serde_json::json!({"name": "<b>Tom & Jerry</b>"}),
        )
        .expect("renders");
        assert_eq!(rendered.html, "<p>&lt;b&gt;Tom &amp; Jerry&lt;&#x2f;b&gt;</p>");
        assert_eq!(rendered.text, "<b>Tom & Jerry</b>");
        assert_eq!(rendered.subject, "Hi <b>Tom & Jerry</b>");
    }

    #[test]
    fn a_broken_template_is_refused_with_the_engines_message() {
        let err =
            render(&source("ok", "<p>{{ name </p>", "ok"), &serde_json::json!({"name": "x"})).expect_err("broken");
        assert!(err.0.contains("syntax error"), "{err}");
        let err = render(&source("ok", "<p>{{ nmae }}</p>", "ok"), &serde_json::json!({"name": "x"}))
            .expect_err("unknown variable");
        assert!(err.0.contains("undefined"), "{err}");
    }

    #[test]
    fn a_runaway_loop_runs_out_of_fuel() {
        let looping = "{% for a in range(100000) %}{% for b in range(100000) %}{{ b }}{% endfor %}{% endfor %}";
        let err = render(&source("ok", looping, "ok"), &serde_json::json!({})).expect_err("bounded");
        assert!(err.0.contains("fuel"), "{err}");
    }

    #[test]
    fn a_huge_output_is_cut_short() {
        // Few instructions, much text: the output cap stops it, not the fuel.
        let big = "{{ 'x' * 100000 }}{{ 'x' * 100000 }}{{ 'x' * 100000 }}";
        let err = render(&source("ok", "ok", big), &serde_json::json!({})).expect_err("bounded");
        assert!(err.0.contains("output over"), "{err}");
    }

    #[test]
    fn an_oversized_source_is_refused_before_it_is_parsed() {
        let err = render(&source("ok", &"x".repeat(MAX_SOURCE_BYTES + 1), "ok"), &serde_json::json!({}))
            .expect_err("bounded");
        assert!(err.0.starts_with("html: longer than"), "{err}");
    }

    #[test]
    fn subjects_cannot_inject_headers() {
        assert!(render(&source("a\nBcc: x", "b", "c"), &serde_json::json!({})).is_err());
    }

    #[test]
    fn a_receipt_queued_before_its_template_grew_still_renders() {
        let receipt = source(
            "Reçu",
            "ok",
            "{{ amount }}{% if card %} {{ card }}{% endif %}{% if remaining %} {{ remaining }}{% elif in_plan %} soldé{% endif %} {{ portal_url }}",
        );
        let old = serde_json::json!({ "amount": "10,00 €", "site_url": "https://e.example/" });
        assert!(render(&receipt, &old).is_err(), "strict about undefined variables");
        let rendered = render(&receipt, &with_defaults(EmailKind::PaymentReceived, old, "https://other.example/"))
            .expect("renders");
        assert_eq!(rendered.text, "10,00 € https://e.example/");
        let new =
            serde_json::json!({ "amount": "10,00 €", "site_url": "s", "card": "Visa •••• 4242", "in_plan": true });
        let rendered = render(&receipt, &with_defaults(EmailKind::PaymentReceived, new, "https://other.example/"))
            .expect("renders");
        assert_eq!(rendered.text, "10,00 € Visa •••• 4242 soldé s", "what is there is kept");
    }

    #[test]
    fn samples_fill_every_variable_the_default_templates_use() {
        for &kind in EmailKind::ALL {
            let ctx = sample_context(kind, Locale::Fr);
            assert!(ctx.get("site_url").is_some());
            assert_eq!(
                ctx.get("amount").is_some(),
                !kind.is_about_a_plan(),
                "{kind}: a plan's email has no amount of its own"
            );
            if matches!(kind, EmailKind::AuthenticationRequired | EmailKind::Reminder) {
                assert!(ctx.get("link").is_some() && ctx.get("expires_on").is_some());
            }
        }
    }
}
