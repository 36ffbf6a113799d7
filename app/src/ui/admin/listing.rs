//! What the admin's lists share: the status select of their filter form, and
//! the pager under them.

use leptos::prelude::*;

use crate::ui::i18n::texts;

/// « Statut » and its select: every status (`value`, label) in order, « all » first, `selected` chosen.
#[component]
pub fn StatusSelect(
    options: Vec<(&'static str, &'static str)>,
    selected: String,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let tx = texts();
    view! {
        <label>{tx.col_status}
            <select name="status" data-testid=testid>
                <option value="">{tx.all_statuses}</option>
                {options.into_iter().map(|(value, label)| view! {
                    <option value=value selected=selected == value>{label}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// The links to the previous and the next page, each when there is one, and where the reader is between them.
#[component]
pub fn Pager(
    previous: Option<String>,
    next: Option<String>,
    #[prop(optional)] position: Option<String>,
) -> impl IntoView {
    let tx = texts();
    view! {
        <div class="pager">
            {previous.map(|href| view! { <a href=href>{tx.previous}</a> })}
            {position.map(|at| view! { <span>{at}</span> })}
            {next.map(|href| view! { <a href=href>{tx.next}</a> })}
        </div>
    }
}
