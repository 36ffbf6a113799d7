//! `/admin/admins`: the admins — invited (a single-use link to choose a
//! password goes out by email), listed, disabled (never the last active one).

use leptos::prelude::*;

use super::listing::{RowButton, RowsTable};
use crate::api::accounts::{AdminDisableAdmin, AdminInviteAdmin, admin_list_admins};
use crate::api::dto::AdminLine;
use crate::domain::Locale;
use crate::ui::form_token::FormToken;
use crate::ui::i18n::texts;
use crate::ui::layout::{LoadedPage, hydration_marker};

/// The page.
#[component]
pub fn AdminAdmins() -> impl IntoView {
    let invite = ServerAction::<AdminInviteAdmin>::new();
    let disable = ServerAction::<AdminDisableAdmin>::new();
    let data = Resource::new(move || (invite.version().get(), disable.version().get()), |_| admin_list_admins());
    let render = move |admins: Vec<AdminLine>| view! { <Admins admins invite disable/> };
    view! { <LoadedPage data render/> }
}

#[component]
fn Admins(
    admins: Vec<AdminLine>,
    invite: ServerAction<AdminInviteAdmin>,
    disable: ServerAction<AdminDisableAdmin>,
) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let hydrated = hydration_marker();
    view! {
        <h1 data-hydrated=hydrated>{tx.admins_title}</h1>
        <p class="muted">{tx.admins_intro}</p>
        <section class="card" data-testid="admins">
            <RowsTable rows=admins row=move |a| {
                let status = match (a.disabled, a.invited) {
                    (true, _) => tx.admin_status_disabled,
                    (false, true) => tx.admin_status_invited,
                    (false, false) => tx.admin_status_active,
                };
                view! {
                    <tr data-disabled=a.disabled.to_string()>
                        <td>{a.email.clone()}" "{a.is_me.then_some(tx.admin_you)}</td>
                        <td>{a.name}</td>
                        <td>{status}{a.second_factor.then(|| view! { " · "<span class="badge">{tx.admin_second_factor}</span> })}</td>
                        <td>
                            {(!a.disabled).then(|| view! {
                                <RowButton
                                    action=disable id=a.id label=tx.admin_disable class="danger"
                                    aria_label=format!("{} {}", tx.admin_disable, a.email)
                                />
                            })}
                        </td>
                    </tr>
                }
            }>
                <th>{tx.plan_email}</th><th>{tx.plan_name}</th><th></th><th></th>
            </RowsTable>
            {move || disable.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.admin_message(locale)}</p> })}
        </section>
        <section class="card" data-testid="invite-admin">
            <h2>{tx.admin_invite}</h2>
            <ActionForm action=invite>
                <FormToken/>
                <label>{tx.plan_email}" "<input type="email" name="email" required maxlength="254"/></label>
                <label>{tx.plan_name}" "<input type="text" name="name" required maxlength="100"/></label>
                <label>{tx.admin_language}" "
                    <select name="locale">
                        <option value="fr">{tx.language_fr}</option>
                        <option value="en">{tx.language_en}</option>
                    </select>
                </label>
                <button type="submit" class="primary" disabled=move || invite.pending().get()>{tx.admin_invite}</button>
            </ActionForm>
            {move || invite.value().get().map(|r| match r {
                Ok(()) => view! { <p class="notice" role="status">{tx.admin_invited}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.admin_message(locale)}</p> }.into_any(),
            })}
        </section>
    }
}
