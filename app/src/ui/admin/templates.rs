//! `/admin/templates`: edit the email templates, preview them with sample
//! data; a template that does not render is refused with the engine's message.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::listing::parts_view;
use crate::api::dto::EmailTemplateView;
use crate::api::emails::{AdminPreviewTemplate, AdminSaveTemplate, admin_templates};
use crate::domain::EmailKind;
use crate::domain::Locale;
use crate::ui::i18n::{admin_error_parts, email_kind_label, fill, texts};
use crate::ui::layout::{LoadedPage, hydration_marker};

/// The page.
#[component]
pub fn AdminTemplates() -> impl IntoView {
    let tx = texts();
    let query = use_query_map();
    // Without a choice, the template in the reader's own language.
    let reader = use_context::<Locale>().unwrap_or_default();
    let selected = move || {
        let q = query.read();
        (
            q.get("kind").unwrap_or_else(|| "authentication_required".to_owned()),
            q.get("locale").unwrap_or_else(|| reader.code().to_owned()),
        )
    };
    let save = ServerAction::<AdminSaveTemplate>::new();
    let data = Resource::new(move || save.version().get(), |_| admin_templates());
    let hydrated = hydration_marker();
    let render = move |templates: Vec<EmailTemplateView>| {
        let (kind, locale) = selected();
        let current = templates.iter().find(|t| t.kind.as_str() == kind && t.locale == locale).cloned();
        view! {
            <p><a href="/admin">{tx.back_to_dashboard}</a></p>
            <h1 data-hydrated=hydrated>{tx.templates}</h1>
            <p class="muted">{tx.templates_intro}</p>
            <nav class="actions" data-testid="template-list">
                {templates.iter().map(|t| {
                    let label = format!("{} ({})", email_kind_label(t.kind, tx), t.locale);
                    let class = if t.kind.as_str() == kind && t.locale == locale { "button primary" } else { "button" };
                    view! { <a class=class href=format!("/admin/templates?kind={}&locale={}", t.kind, t.locale)>{label}</a> }
                }).collect_view()}
            </nav>
            {current.map(|t| view! { <Editor template=t save/> })}
        }
    };
    view! { <LoadedPage data render/> }
}

#[component]
fn Editor(template: EmailTemplateView, save: ServerAction<AdminSaveTemplate>) -> impl IntoView {
    let tx = texts();
    let locale = use_context::<Locale>().unwrap_or_default();
    let preview = ServerAction::<AdminPreviewTemplate>::new();
    let subject = RwSignal::new(template.subject.clone());
    let html = RwSignal::new(template.html.clone());
    let text = RwSignal::new(template.text.clone());
    let (kind, lang) = (template.kind.as_str().to_owned(), template.locale.clone());
    let input = {
        let (kind, lang) = (kind.clone(), lang.clone());
        move || (kind.clone(), lang.clone(), subject.get(), html.get(), text.get())
    };
    let run_preview = {
        let input = input.clone();
        move |_| {
            let (kind, locale, subject, html, text) = input();
            preview.dispatch(AdminPreviewTemplate { kind, locale, subject, html, text });
        }
    };
    let run_save = move |_| {
        let (kind, locale, subject, html, text) = input();
        save.dispatch(AdminSaveTemplate { kind, locale, subject, html, text });
    };
    view! {
        <section class="card" data-testid="template-editor">
            <h2>{format!("{} ({lang})", EmailKind::parse(&kind).map_or("?", |k| email_kind_label(k, tx)))}</h2>
            <div class="stack" style="max-width: none">
                <label>{tx.subject}<input type="text" prop:value=move || subject.get() on:input=move |ev| subject.set(event_target_value(&ev))/></label>
                <label>{tx.html_body}<textarea rows="10" prop:value=move || html.get() on:input=move |ev| html.set(event_target_value(&ev))>{template.html.clone()}</textarea></label>
                <label>{tx.text_body}<textarea rows="8" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))>{template.text.clone()}</textarea></label>
                <div class="actions">
                    <button type="button" data-testid="template-preview" on:click=run_preview>{tx.preview}</button>
                    <button type="button" class="primary" data-testid="template-save" disabled=move || save.pending().get() on:click=run_save>{tx.save}</button>
                </div>
            </div>
            {move || save.value().get().map(|r| match r {
                Ok(()) => view! { <p class="success" role="status">{tx.saved}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-testid="template-error">{parts_view(admin_error_parts(&e, locale))}</p> }.into_any(),
            })}
        </section>
        {move || preview.value().get().map(|r| match r {
            Ok(p) => view! {
                <section class="card" data-testid="template-preview-result">
                    <h2>{tx.preview_title}</h2>
                    <p><strong>{fill(tx.labelled, &[("label", tx.subject)])}</strong><span data-testid="preview-subject">{p.subject}</span></p>
                    <div class="two-cols">
                        <iframe class="preview" sandbox="" title=tx.html_body srcdoc=p.html style="width:100%;min-height:16rem"></iframe>
                        <pre class="preview" data-testid="preview-text">{p.text}</pre>
                    </div>
                </section>
            }.into_any(),
            Err(e) => view! { <p class="error" role="alert" data-testid="template-error">{parts_view(admin_error_parts(&e, locale))}</p> }.into_any(),
        })}
    }
}
