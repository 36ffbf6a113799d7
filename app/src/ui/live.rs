//! The page's end of `GET /events`: the status changes the server pushes to
//! this screen (its own échéances for a customer, every one for an admin),
//! as they happen — no polling. In the browser only; the stream closes with
//! the page's component.

use leptos::prelude::*;

use crate::api::dto::LiveChange;

/// What a screen hears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heard {
    /// One échéance's status changed.
    Change(LiveChange),
    /// The stream came back after a cut, or changes were missed: reload what the page shows.
    Resync,
}

/// Calls `on_heard` for everything the server pushes to this screen, until the component goes.
pub fn on_live(on_heard: impl Fn(Heard) + Clone + 'static) {
    on_live_at("/events".to_owned(), on_heard);
}

/// The 3D Secure page's stream: only the échéance of `payment_intent`, opened with the link's
/// `token` (or the owner's session); its status is told again on every (re)connection.
pub fn on_payment_intent_live(payment_intent: &str, token: Option<&str>, on_heard: impl Fn(Heard) + Clone + 'static) {
    let mut url = format!("/events?payment_intent={}", encode(payment_intent));
    if let Some(token) = token {
        url.push_str(&format!("&token={}", encode(token)));
    }
    on_live_at(url, on_heard);
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn on_live_at(url: String, on_heard: impl Fn(Heard) + Clone + 'static) {
    #[cfg(feature = "hydrate")]
    listen(&url, on_heard);
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, on_heard);
}

#[cfg(feature = "hydrate")]
fn listen(url: &str, on_heard: impl Fn(Heard) + Clone + 'static) {
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::closure::Closure;

    let Ok(source) = web_sys::EventSource::new(url) else { return };
    let heard = on_heard.clone();
    let change = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
        if let Some(change) = event.data().as_string().and_then(|data| serde_json::from_str(&data).ok()) {
            heard(Heard::Change(change));
        }
    });
    let heard = on_heard.clone();
    let resync = Closure::<dyn Fn(web_sys::Event)>::new(move |_| heard(Heard::Resync));
    // `ready` opens every connection: after the first, changes may have been missed while cut off.
    let first = Rc::new(Cell::new(true));
    let ready = Closure::<dyn Fn(web_sys::Event)>::new(move |_| {
        if !first.replace(false) {
            on_heard(Heard::Resync);
        }
    });
    for (name, callback) in [("echeance", change.as_ref()), ("resync", resync.as_ref()), ("ready", ready.as_ref())] {
        let _ = source.add_event_listener_with_callback(name, callback.unchecked_ref());
    }
    let kept = send_wrapper::SendWrapper::new((source, change, resync, ready));
    on_cleanup(move || {
        let (source, _change, _resync, _ready) = kept.take();
        source.close();
    });
}

/// Runs `reload` when the server pushes a change that `concerns` accepts, or
/// asks for a resync — at most every half second however many arrive (a
/// month-end run moves thousands of échéances).
pub fn reload_on_live(reload: impl Fn() + Clone + 'static, concerns: impl Fn(&LiveChange) -> bool + Clone + 'static) {
    let pending = std::rc::Rc::new(std::cell::Cell::new(false));
    on_live(move |heard| {
        let wanted = match &heard {
            Heard::Change(change) => concerns(change),
            Heard::Resync => true,
        };
        if wanted && !pending.replace(true) {
            let (pending, reload) = (pending.clone(), reload.clone());
            set_timeout(
                move || {
                    pending.set(false);
                    reload();
                },
                std::time::Duration::from_millis(500),
            );
        }
    });
}
