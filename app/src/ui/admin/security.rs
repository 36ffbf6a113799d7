//! `/admin/security`: the reader's second factor — enrol an authenticator app
//! (QR code or key, then a first code), see the recovery codes once, renew
//! them, turn it off (unless the settings require it).

use leptos::prelude::*;

use crate::api::accounts::{SecurityBegin, SecurityConfirm, SecurityRenewCodes, SecurityTurnOff, security_status};
use crate::api::dto::SecondFactorStatus;
use crate::api::error::AppError;
use crate::domain::Locale;
use crate::ui::form_token::FormToken;
use crate::ui::i18n::{fill, texts};
use crate::ui::layout::{LoadedPage, NeedsScript, marker_of, use_hydrated};

/// The page.
#[component]
pub fn AdminSecurity() -> impl IntoView {
    // Made here, not in the card it fills: the status is read again after every confirmation,
    // failed ones too, and the card made again; the key shown and the confirmation's refusal stay.
    let begin = ServerAction::<SecurityBegin>::new();
    let confirm = ServerAction::<SecurityConfirm>::new();
    let renew = ServerAction::<SecurityRenewCodes>::new();
    let turn_off = ServerAction::<SecurityTurnOff>::new();
    // A confirmed key is the app's now: an enrolment after turning it off starts afresh.
    Effect::new(move || {
        if matches!(confirm.value().get(), Some(Ok(_))) {
            begin.value().set(None);
        }
    });
    // The codes just made (by the enrolment or the last renewal), shown this once; gone with the
    // second factor. Kept here too: a card made again after a failed renewal would otherwise
    // find only the enrolment's answer and show codes the last good renewal replaced.
    let fresh = RwSignal::new(None::<Vec<String>>);
    Effect::new(move || {
        if let Some(Ok(codes)) = confirm.value().get() {
            fresh.set(Some(codes));
        }
    });
    Effect::new(move || {
        if let Some(Ok(codes)) = renew.value().get() {
            fresh.set(Some(codes));
        }
    });
    Effect::new(move || {
        if let Some(Ok(())) = turn_off.value().get() {
            fresh.set(None);
        }
    });
    let data = Resource::new(
        move || (confirm.version().get(), renew.version().get(), turn_off.version().get()),
        |_| security_status(),
    );
    let render = move |status: SecondFactorStatus| view! { <Security status fresh begin confirm renew turn_off/> };
    view! { <LoadedPage data render/> }
}

#[component]
fn Security(
    status: SecondFactorStatus,
    fresh: RwSignal<Option<Vec<String>>>,
    begin: ServerAction<SecurityBegin>,
    confirm: ServerAction<SecurityConfirm>,
    renew: ServerAction<SecurityRenewCodes>,
    turn_off: ServerAction<SecurityTurnOff>,
) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let script = use_hydrated();
    let hydrated = marker_of(script);
    let fresh_codes = move || fresh.get();
    let error = move |result: Option<Result<Vec<String>, AppError>>| {
        result.and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.admin_message(locale)}</p> })
    };
    view! {
        <h1 data-hydrated=hydrated>{tx.security_title}</h1>
        <p class="muted">{tx.security_intro}</p>
        <NeedsScript hydrated=script text=tx.secrets_need_script/>
        {(status.required && !status.on).then(|| view! { <p class="notice" role="status">{tx.security_required}</p> })}
        <section class="card" data-testid="second-factor-status" data-on=status.on.to_string()>
            <p><strong>{if status.on { tx.security_on } else { tx.security_off }}</strong></p>
            {status.on.then(|| view! {
                <p data-testid="codes-left">{fill(tx.security_codes_left, &[("count", &status.codes_left.to_string())])}</p>
            })}
        </section>
        {move || fresh_codes().map(|codes| view! {
            <section class="card" data-testid="recovery-codes">
                <h2>{tx.security_codes_title}</h2>
                <p class="muted">{tx.security_codes_intro}</p>
                <ol class="codes">{codes.into_iter().map(|c| view! { <li><code translate="no">{c}</code></li> }).collect_view()}</ol>
                <p><a class="button primary" href="/admin">{tx.security_to_dashboard}</a></p>
            </section>
        })}
        {(!status.on).then(|| view! {
            <section class="card" data-testid="enrol">
                <ActionForm action=begin attr:class="inline">
                    <FormToken/>
                    <button type="submit" class="primary" data-testid="begin-second-factor" disabled=move || !script.get() || begin.pending().get()>{tx.security_begin}</button>
                </ActionForm>
                {move || begin.value().get().map(|r| match r {
                    Ok(enrollment) => view! {
                        <p>{tx.security_scan}</p>
                        <div class="qr" inner_html=enrollment.qr_svg></div>
                        <p>{fill(tx.labelled, &[("label", tx.security_secret)])}<code translate="no" data-testid="totp-secret">{enrollment.secret}</code></p>
                        <ActionForm action=confirm attr:class="stack">
                            <FormToken/>
                            <label>{tx.security_code}" "
                                <input type="text" name="code" required inputmode="numeric" autocomplete="one-time-code" maxlength="9"/>
                            </label>
                            <label>{tx.security_password}" "
                                <input type="password" name="password" required autocomplete="current-password"/>
                            </label>
                            <button type="submit" class="primary" disabled=move || !script.get() || confirm.pending().get()>{tx.security_confirm}</button>
                        </ActionForm>
                        {move || error(confirm.value().get())}
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.admin_message(locale)}</p> }.into_any(),
                })}
            </section>
        })}
        {status.on.then(|| view! {
            <section class="card" data-testid="renew-codes">
                <h2>{tx.security_renew}</h2>
                <ActionForm action=renew attr:class="inline">
                    <FormToken/>
                    <label>{tx.security_code}" "<input type="text" name="code" required autocomplete="one-time-code" maxlength="20"/></label>
                    <button type="submit" data-testid="renew-codes-button" disabled=move || !script.get() || renew.pending().get()>{tx.security_renew}</button>
                </ActionForm>
                {move || error(renew.value().get())}
            </section>
            {(!status.required).then(|| view! {
                <section class="card" data-testid="turn-off">
                    <h2>{tx.security_turn_off}</h2>
                    <ActionForm action=turn_off attr:class="inline">
                        <FormToken/>
                        <label>{tx.security_code}" "<input type="text" name="code" required autocomplete="one-time-code" maxlength="20"/></label>
                        <button type="submit" class="danger" disabled=move || turn_off.pending().get()>{tx.security_turn_off}</button>
                    </ActionForm>
                    {move || turn_off.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.admin_message(locale)}</p> })}
                </section>
            })}
        })}
    }
}
