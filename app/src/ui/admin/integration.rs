//! `/admin/integration`: what the host site uses — its API keys (created
//! here, shown once, revoked), its webhook endpoints (signing secret shown
//! once, rolled, disabled) and every delivery with its tries, replayable one
//! by one or all failed at once.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::listing::{Pager, RowButton, RowsTable, StatusSelect, parts_view};
use crate::api::dto::{DeliveryLine, IntegrationView, ShownOnce};
use crate::api::error::AppError;
use crate::api::integration::{
    AdminCreateApiKey, AdminCreateEndpoint, AdminDisableEndpoint, AdminReplayDelivery, AdminReplayFailedDeliveries,
    AdminRevokeApiKey, AdminRollEndpointSecret, admin_integration,
};
use crate::domain::{HostDeliveryStatus, KeyMode, Locale};
use crate::ui::form_token::FormToken;
use crate::ui::i18n::{Detail, Texts, fill, format_datetime, texts, trouble_parts};
use crate::ui::layout::{LoadedPage, NeedsScript, marker_of, use_hydrated};

/// The page.
#[component]
pub fn AdminIntegration() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.read().get("status").filter(|s| !s.is_empty());
    let page = move || query.read().get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
    let create_key = ServerAction::<AdminCreateApiKey>::new();
    let revoke_key = ServerAction::<AdminRevokeApiKey>::new();
    let create_endpoint = ServerAction::<AdminCreateEndpoint>::new();
    let roll = ServerAction::<AdminRollEndpointSecret>::new();
    let disable = ServerAction::<AdminDisableEndpoint>::new();
    let replay = ServerAction::<AdminReplayDelivery>::new();
    let replay_failed = ServerAction::<AdminReplayFailedDeliveries>::new();
    let versions = move || {
        (
            create_key.version().get(),
            revoke_key.version().get(),
            create_endpoint.version().get(),
            roll.version().get(),
            disable.version().get(),
            replay.version().get(),
            replay_failed.version().get(),
        )
    };
    let data =
        Resource::new(move || (status(), page(), versions()), |(status, page, _)| admin_integration(status, page));
    let actions = Actions { create_key, revoke_key, create_endpoint, roll, disable, replay, replay_failed };
    let render =
        move |view: IntegrationView| view! { <Integration view actions selected=status().unwrap_or_default()/> };
    view! { <LoadedPage data render/> }
}

#[derive(Clone, Copy)]
struct Actions {
    create_key: ServerAction<AdminCreateApiKey>,
    revoke_key: ServerAction<AdminRevokeApiKey>,
    create_endpoint: ServerAction<AdminCreateEndpoint>,
    roll: ServerAction<AdminRollEndpointSecret>,
    disable: ServerAction<AdminDisableEndpoint>,
    replay: ServerAction<AdminReplayDelivery>,
    replay_failed: ServerAction<AdminReplayFailedDeliveries>,
}

/// A secret shown once, or the error of the action that should have made it.
fn shown_once(result: Option<Result<ShownOnce, AppError>>, caption: &'static str, locale: Locale) -> impl IntoView {
    result.map(|r| match r {
        Ok(shown) => view! {
            <p class="notice" role="status">{caption}" "<code translate="no" data-testid="shown-once">{shown.secret}</code></p>
        }
        .into_any(),
        Err(e) => view! { <p class="error" role="alert">{e.admin_message(locale)}</p> }.into_any(),
    })
}

fn failure<T: Clone + Send + Sync + 'static>(result: Option<Result<T, AppError>>, locale: Locale) -> impl IntoView {
    result.and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.admin_message(locale)}</p> })
}

fn delivery_status_label(status: HostDeliveryStatus, tx: &Texts) -> &'static str {
    match status {
        HostDeliveryStatus::Pending => tx.delivery_pending,
        HostDeliveryStatus::Delivered => tx.delivery_delivered,
        HostDeliveryStatus::Failed => tx.delivery_failed,
    }
}

#[component]
fn Integration(view: IntegrationView, actions: Actions, selected: String) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let Actions { create_key, revoke_key, create_endpoint, roll, disable, replay, replay_failed } = actions;
    let link = {
        let selected = selected.clone();
        move |page: u64| format!("/admin/integration?status={selected}&page={page}")
    };
    let failed = view.failed;
    let script = use_hydrated();
    let hydrated = marker_of(script);
    view! {
        <p><a href="/admin">{tx.back_to_dashboard}</a></p>
        <h1 data-hydrated=hydrated>{tx.integration_title}</h1>
        <p class="muted">{tx.integration_intro}</p>
        <NeedsScript hydrated=script text=tx.secrets_need_script/>

        <section class="card" data-testid="api-keys">
            <h2>{tx.api_keys}</h2>
            <RowsTable rows=view.keys empty=tx.api_keys_none row=move |k| view! {
                <tr data-revoked=k.revoked.to_string()>
                    <td>{k.name}</td>
                    <td><code translate="no">{format!("{}…", k.prefix)}</code></td>
                    <td>{k.last_used_at.map_or_else(|| tx.never.to_owned(), |at| format_datetime(at, tx))}</td>
                    <td>
                        {if k.revoked {
                            view! { <span class="muted">{tx.api_key_revoked}</span> }.into_any()
                        } else {
                            view! { <RowButton action=revoke_key id=k.id label=tx.api_key_revoke class="danger"/> }.into_any()
                        }}
                    </td>
                </tr>
            }>
                <th>{tx.api_key_name}</th><th>{tx.api_key_prefix}</th><th>{tx.api_key_last_used}</th><th></th>
            </RowsTable>
            <ActionForm action=create_key attr:class="inline">
                <FormToken/>
                <label>{tx.api_key_name}" "<input type="text" name="name" required maxlength="100" data-testid="api-key-name"/></label>
                <button type="submit" class="primary" data-testid="create-api-key" disabled=move || !script.get() || create_key.pending().get()>{tx.api_key_create}</button>
            </ActionForm>
            {move || shown_once(create_key.value().get(), tx.api_key_shown_once, locale)}
            {move || failure(revoke_key.value().get(), locale)}
        </section>

        <section class="card" data-testid="endpoints">
            <h2>{tx.endpoints}</h2>
            <RowsTable rows=view.endpoints empty=tx.endpoints_none row=move |e| view! {
                <tr data-enabled=e.enabled.to_string()>
                    <td><code translate="no">{e.url}</code>
                        {e.mode.map(|mode| view! {
                            <br/><span class="muted">{match mode { KeyMode::Test => tx.endpoint_mode_test, KeyMode::Live => tx.endpoint_mode_live }}</span>
                        })}
                    </td>
                    <td><code translate="no">{e.events.join(" ")}</code>
                        {e.previous_secret_until.map(|until| view! {
                            <br/><span class="muted">{fill(tx.endpoint_rolling, &[("at", &format_datetime(until, tx))])}</span>
                        })}
                    </td>
                    <td>
                        {if e.enabled {
                            view! {
                                <RowButton action=roll id=e.id label=tx.endpoint_roll disabled=Signal::derive(move || !script.get())/>
                                <RowButton action=disable id=e.id label=tx.endpoint_disable class="danger"/>
                            }.into_any()
                        } else {
                            view! { <span class="muted">{tx.endpoint_disabled}</span> }.into_any()
                        }}
                    </td>
                </tr>
            }>
                <th>{tx.endpoint_url}</th><th>{tx.endpoint_events}</th><th></th>
            </RowsTable>
            <ActionForm action=create_endpoint attr:class="inline">
                <FormToken/>
                <label>{tx.endpoint_url}" "<input type="url" name="url" required placeholder="https://" data-testid="endpoint-url"/></label>
                <label>{tx.endpoint_events}" "<input type="text" name="events" value="*" required data-testid="endpoint-events"/></label>
                <button type="submit" class="primary" data-testid="create-endpoint" disabled=move || !script.get() || create_endpoint.pending().get()>{tx.endpoint_create}</button>
            </ActionForm>
            {move || shown_once(create_endpoint.value().get(), tx.endpoint_secret_once, locale)}
            {move || shown_once(roll.value().get(), tx.endpoint_secret_once, locale)}
            {move || failure(disable.value().get(), locale)}
        </section>

        <section class="card" data-testid="deliveries">
            <h2>{tx.deliveries}</h2>
            <Form method="GET" action="/admin/integration" attr:class="filters">
                <StatusSelect
                    options=HostDeliveryStatus::ALL.iter().map(|&s| (s.as_str(), delivery_status_label(s, tx))).collect()
                    selected
                    testid="deliveries-status"
                />
                <div class="actions"><button type="submit" class="primary">{tx.apply}</button></div>
            </Form>
            {(failed > 0).then(|| view! {
                <ActionForm action=replay_failed attr:class="inline">
                    <FormToken/>
                    <button type="submit" data-testid="replay-failed">{tx.delivery_replay_failed.of(failed, locale)}</button>
                </ActionForm>
            })}
            {move || replay_failed.value().get().map(|r| match r {
                Ok(n) => view! { <p class="success" role="status">{tx.deliveries_replayed.of(n, locale)}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.admin_message(locale)}</p> }.into_any(),
            })}
            {move || failure(replay.value().get(), locale)}
            <RowsTable rows=view.deliveries empty=tx.deliveries_none testid="delivery-rows" row=move |d| view! { <Delivery d replay/> }>
                <th>{tx.delivery_event}</th><th>{tx.endpoint_url}</th><th>{tx.col_status}</th>
                <th>{tx.delivery_attempts}</th><th>{tx.delivery_last}</th><th></th>
            </RowsTable>
            <Pager previous=(view.page > 0).then(|| link(view.page - 1)) next=view.has_more.then(|| link(view.page + 1))/>
        </section>
    }
}

#[component]
fn Delivery(d: DeliveryLine, replay: ServerAction<AdminReplayDelivery>) -> impl IntoView {
    let tx = texts();
    let last = match (d.last_status, &d.last_error) {
        (Some(status), _) => vec![Detail::Worded(format!("HTTP {status}"))],
        (None, Some(trouble)) => trouble_parts(trouble, use_context::<Locale>().unwrap_or_default()),
        (None, None) => vec![Detail::Worded("—".to_owned())],
    };
    view! {
        <tr data-status=d.status.as_str()>
            <td><code translate="no">{d.event_type}</code><br/><span class="muted"><code translate="no">{d.event_id}</code>" · "{format_datetime(d.created_at, tx)}</span></td>
            <td><code translate="no">{d.endpoint_url}</code></td>
            <td>
                <span class="badge" data-status=d.status.as_str()>{delivery_status_label(d.status, tx)}</span>
                {d.next_attempt_at.map(|at| view! { <br/><span class="muted">{fill(tx.delivery_next, &[("at", &format_datetime(at, tx))])}</span> })}
            </td>
            <td>{d.attempts}</td>
            <td>{parts_view(last)}</td>
            <td>
                {(d.status != HostDeliveryStatus::Pending && !d.endpoint_deleted).then(|| view! {
                    <RowButton action=replay id=d.id label=tx.delivery_replay/>
                })}
            </td>
        </tr>
    }
}
