//! `/password/set?token=…`: a new admin, or someone who forgot their password,
//! chooses one through the single-use link they were sent, and is logged in.

use leptos::prelude::*;

use crate::api::accounts::SetPassword;
use crate::ui::form_token::FormToken;
use crate::ui::i18n::texts;
use crate::ui::layout::{FormPage, link_token};

/// The page.
#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let tx = texts();
    let token = link_token();
    let save = ServerAction::<SetPassword>::new();
    view! {
        <FormPage title=tx.password_title intro=tx.password_intro outcome=save.value()>
            <ActionForm action=save>
                <FormToken/>
                <input type="hidden" name="token" value=token/>
                <label>{tx.password_field}" "<input type="password" name="password" required minlength="12" maxlength="128" autocomplete="new-password"/></label>
                <label>{tx.password_again}" "<input type="password" name="again" required minlength="12" maxlength="128" autocomplete="new-password"/></label>
                <button type="submit" class="primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { tx.password_saving } else { tx.password_save }}
                </button>
            </ActionForm>
        </FormPage>
    }
}
