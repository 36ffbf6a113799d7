//! What the admin's lists share: the status select of their filter form, the
//! table or the line saying it is empty, the one-button form acting on a row,
//! and the pager under them.

use leptos::prelude::*;
use leptos::server_fn::client::Client;
use leptos::server_fn::codec::PostUrl;
use leptos::server_fn::request::ClientReq;
use leptos::server_fn::{Http, ServerFn};
use serde::de::DeserializeOwned;

use crate::ui::form_token::FormToken;
use crate::ui::i18n::{Detail, texts};

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
    /// What the two links say, when not « Précédent » and « Suivant ».
    #[prop(optional)]
    labels: Option<(&'static str, &'static str)>,
) -> impl IntoView {
    let tx = texts();
    let (before, after) = labels.unwrap_or((tx.previous, tx.next));
    view! {
        <div class="pager">
            {previous.map(|href| view! { <a href=href>{before}</a> })}
            {position.map(|at| view! { <span>{at}</span> })}
            {next.map(|href| view! { <a href=href>{after}</a> })}
        </div>
    }
}

/// A table of `rows` under the header cells given as children, or the line `empty` when there is no row.
#[component]
pub fn RowsTable<T, R, V>(
    rows: Vec<T>,
    /// One `<tr>` a row.
    row: R,
    /// What is said instead of a table when there is no row (without it, the table is shown empty).
    #[prop(optional)]
    empty: Option<&'static str>,
    #[prop(optional)] testid: Option<&'static str>,
    children: Children,
) -> impl IntoView
where
    T: 'static,
    R: FnMut(T) -> V + 'static,
    V: IntoView + 'static,
{
    if let Some(empty) = empty.filter(|_| rows.is_empty()) {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    view! {
        <table data-testid=testid>
            <thead><tr>{children()}</tr></thead>
            <tbody>{rows.into_iter().map(row).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

/// A form of one button that sends `action` for the row `id` (the bounds are `ActionForm`'s); it waits
/// while the action is under way: a double click sends it once (two rolls of a secret would drop the one the
/// host is using).
#[component]
pub fn RowButton<ServFn, OutputProtocol>(
    action: ServerAction<ServFn>,
    id: i64,
    label: &'static str,
    /// The button's class (`danger` for what cannot be undone).
    #[prop(optional)]
    class: Option<&'static str>,
    /// What a screen reader says, when the label alone does not name the row.
    #[prop(optional)]
    aria_label: Option<String>,
    /// Whether the button waits (an action whose answer only the page's script can show).
    #[prop(optional, into)]
    disabled: Option<Signal<bool>>,
) -> impl IntoView
where
    ServFn: DeserializeOwned + ServerFn<Protocol = Http<PostUrl, OutputProtocol>> + Clone + Send + Sync + 'static,
    <<ServFn::Client as Client<ServFn::Error>>::Request as ClientReq<ServFn::Error>>::FormData: From<web_sys::FormData>,
    ServFn::Output: Send + Sync + 'static,
    ServFn::Error: Send + Sync + 'static,
    <ServFn as ServerFn>::Client: Client<<ServFn as ServerFn>::Error>,
{
    view! {
        <ActionForm action attr:class="inline">
            <FormToken/>
            <input type="hidden" name="id" value=id.to_string()/>
            <button type="submit" class=class aria-label=aria_label disabled=move || action.pending().get() || disabled.is_some_and(|d| d.get())>{label}</button>
        </ActionForm>
    }
}

/// Pieces of one sentence, each as [`detail_view`] shows it.
pub fn parts_view(parts: Vec<Detail>) -> impl IntoView {
    parts.into_iter().map(detail_view).collect_view()
}

/// A piece of worded text, or a machine's words set apart as code (not for translation).
pub fn detail_view(detail: Detail) -> AnyView {
    match detail {
        Detail::Worded(text) => text.into_any(),
        Detail::Technical(text) => view! { <code translate="no">{text}</code> }.into_any(),
    }
}
