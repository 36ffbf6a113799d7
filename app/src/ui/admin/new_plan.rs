//! `/admin/plans/new`: « Nouvel échéancier ». The customer, the schedule, and
//! a preview of the échéances that follows every keystroke — computed in the
//! browser by the same domain code the server checks the plan with again.

use leptos::prelude::*;

use crate::api::dto::{PlanCreated, PlanDefaults, PlanForm};
use crate::api::plans::{AdminCreatePlan, admin_plan_defaults};
use crate::domain::{Locale, Money, Schedule, ScheduleInvalid};
use crate::ui::i18n::{Texts, fill, plan_problem_text, texts};
use crate::ui::layout::{LoadedPage, NeedsScript, marker_of, use_hydrated};

/// The page.
#[component]
pub fn AdminNewPlan() -> impl IntoView {
    let defaults = Resource::new(|| (), |()| admin_plan_defaults());
    let render = move |defaults: PlanDefaults| view! { <PlanEditor defaults/> };
    view! { <LoadedPage data=defaults render/> }
}

/// Which field of the form an input edits.
type FieldOf = fn(&mut PlanForm) -> &mut String;

#[component]
fn PlanEditor(defaults: PlanDefaults) -> impl IntoView {
    let tx = texts();
    let today = defaults.today;
    let form = RwSignal::new(PlanForm {
        locale: "fr".to_owned(),
        currency: "eur".to_owned(),
        count: "3".to_owned(),
        first_due: today.to_string(),
        interval: "month".to_owned(),
        mode: "split".to_owned(),
        ..PlanForm::default()
    });
    let preview = Memo::new(move |_| form.with(|f| f.schedule(today)));
    let create = ServerAction::<AdminCreatePlan>::new();
    // The preview follows the form only once the WASM runs: say when it does.
    let script = use_hydrated();
    let hydrated = marker_of(script);
    // The forms whose plan was made: the same form is not sent again (a second click would make a
    // second plan and email a second invitation); a change to any field makes another.
    let sent = RwSignal::new(None::<PlanForm>);
    let made = RwSignal::new(Vec::<PlanForm>::new());
    let submit = move |_| {
        let typed = form.get_untracked();
        sent.set(Some(typed.clone()));
        create.dispatch(AdminCreatePlan { form: typed });
    };
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_)))
            && let Some(typed) = sent.get_untracked()
        {
            made.update(|made| made.push(typed));
        }
    });
    let made_already = move || made.with(|made| form.with(|f| made.contains(f)));
    let blocked = move || {
        !script.get()
            || create.pending().get()
            || made_already()
            || preview.with(|p| {
                p.is_err() || p.as_ref().is_ok_and(|s| defaults.refuse_consumer_credit && s.is_consumer_credit())
            })
    };
    let languages = [("fr", tx.language_fr), ("en", tx.language_en)];
    let currencies = [("eur", "EUR (€)"), ("usd", "USD ($)"), ("gbp", "GBP (£)"), ("chf", "CHF")];
    let intervals = [("month", tx.interval_month), ("week", tx.interval_week)];
    let modes = [("split", tx.plan_mode_split), ("list", tx.plan_mode_list)];
    view! {
        <p><a href="/admin">{tx.back_to_dashboard}</a></p>
        <h1 data-hydrated=hydrated>{tx.new_plan}</h1>
        <p class="muted">{tx.new_plan_intro}</p>
        <NeedsScript hydrated=script text=tx.plan_form_needs_script/>
        <div class="two-cols">
            <section class="card stack" data-testid="plan-form">
                <h2>{tx.plan_customer}</h2>
                <Input label=tx.plan_email form field=|f| &mut f.email kind="email" testid="plan-email"/>
                <Input label=tx.plan_name form field=|f| &mut f.name testid="plan-name"/>
                <Input label=tx.plan_language form field=|f| &mut f.locale options=languages.to_vec() testid="plan-locale"/>
                <h2>{tx.plan_schedule}</h2>
                <Input label=tx.plan_label form field=|f| &mut f.label testid="plan-label"/>
                <Input label=tx.plan_currency form field=|f| &mut f.currency options=currencies.to_vec() testid="plan-currency"/>
                <Input label=tx.plan_mode form field=|f| &mut f.mode options=modes.to_vec() testid="plan-mode"/>
                <Show
                    when=move || form.with(|f| f.mode == "list")
                    fallback=move || view! {
                        <Input label=tx.plan_total form field=|f| &mut f.total testid="plan-total"/>
                        <Input label=tx.plan_count form field=|f| &mut f.count kind="number" testid="plan-count"/>
                        <Input label=tx.plan_first_due form field=|f| &mut f.first_due kind="date" testid="plan-first-due"/>
                        <Input label=tx.plan_interval form field=|f| &mut f.interval options=intervals.to_vec() testid="plan-interval"/>
                    }
                >
                    <label>{tx.plan_lines}
                        <textarea rows="6" data-testid="plan-lines" placeholder=tx.plan_lines_hint
                            prop:value=move || form.with(|f| f.lines.clone())
                            on:input=move |ev| form.update(|f| f.lines = event_target_value(&ev))></textarea>
                    </label>
                </Show>
                <div class="actions">
                    <button type="button" class="primary" data-testid="plan-create" disabled=blocked on:click=submit>
                        {move || if create.pending().get() { tx.plan_creating } else { tx.plan_create }}
                    </button>
                </div>
                {move || create.value().get().map(|result| match result {
                    Ok(created) => view! { <Created created/> }.into_any(),
                    Err(e) => {
                        let locale = use_context::<Locale>().unwrap_or_default();
                        view! { <p class="error" role="alert" data-testid="plan-error">{e.admin_message(locale)}</p> }.into_any()
                    }
                })}
            </section>
            <section class="card" data-testid="plan-preview">
                <h2>{tx.plan_preview}</h2>
                {move || preview.get().map_or_else(
                    |problems| if form.with(PlanForm::nothing_typed) {
                        view! { <p class="muted" data-testid="plan-preview-empty">{tx.plan_preview_empty}</p> }.into_any()
                    } else {
                        view! { <Problems problems/> }.into_any()
                    },
                    |schedule| view! { <Preview schedule refuse_credit=defaults.refuse_consumer_credit/> }.into_any(),
                )}
            </section>
        </div>
    }
}

/// An input bound to one field of the form: a text box, or a choice among
/// fixed values when `options` are given.
#[component]
fn Input(
    label: &'static str,
    form: RwSignal<PlanForm>,
    field: FieldOf,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] options: Vec<(&'static str, &'static str)>,
    testid: &'static str,
) -> impl IntoView {
    let value = move || form.with(|f| field(&mut f.clone()).clone());
    let set = move |ev| form.update(|f| *field(f) = event_target_value(&ev));
    let control = if options.is_empty() {
        view! { <input type=kind data-testid=testid prop:value=value on:input=set/> }.into_any()
    } else {
        view! {
            <select data-testid=testid on:change=set>
                {options
                    .into_iter()
                    .map(|(code, text)| view! { <option value=code selected=move || value() == code>{text}</option> })
                    .collect_view()}
            </select>
        }
        .into_any()
    };
    view! { <label>{label}{control}</label> }
}

/// The échéances the form would create.
#[component]
fn Preview(schedule: Schedule, refuse_credit: bool) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let currency = schedule.currency();
    let total = crate::domain::Total::of(schedule.total(), currency).format(locale);
    let credit = schedule.is_consumer_credit();
    view! {
        <table data-testid="plan-preview-rows">
            <thead><tr><th>{tx.col_seq}</th><th>{tx.col_due}</th><th>{tx.col_amount}</th></tr></thead>
            <tbody>
                {schedule.installments().iter().map(|i| view! {
                    <tr data-seq=i.seq>
                        <td>{i.seq}</td>
                        <td>{locale.format_date(i.due_date)}</td>
                        <td>{Money { amount: i.amount, currency }.format(locale)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
            <tfoot><tr><th colspan="2">{tx.plan_total}</th><th data-testid="plan-preview-total">{total}</th></tr></tfoot>
        </table>
        {credit.then(|| view! {
            <p class=if refuse_credit { "error" } else { "warning" } role="note">
                {tx.consumer_credit_notice}
                {refuse_credit.then(|| view! { " "{tx.consumer_credit_refused} })}
            </p>
        })}
    }
}

/// Why the form cannot be sent yet, field by field.
#[component]
fn Problems(problems: ScheduleInvalid) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    view! {
        <ul class="error" data-testid="plan-problems">
            {problems.0.iter().map(|p| view! { <li>{plan_problem_text(p, tx, locale)}</li> }).collect_view()}
        </ul>
    }
}

/// The plan just written, with a link to each échéance.
#[component]
fn Created(created: PlanCreated) -> impl IntoView {
    let tx: &Texts = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    view! {
        <div class="success" role="status" data-testid="plan-created" data-plan-id=created.id>
            <p><a href=format!("/admin/plans/{}", created.id)>{fill(tx.plan_created, &[("id", &created.id.to_string())])}</a></p>
            <ul>
                {created.echeances.into_iter().map(|e| view! {
                    <li>
                        <a href=format!("/admin/echeances/{}", e.id)>
                            {format!("{} — {} — {}", e.seq, locale.format_date(e.due_date), e.money.format(locale))}
                        </a>
                    </li>
                }).collect_view()}
            </ul>
        </div>
    }
}
