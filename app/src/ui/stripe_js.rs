//! Stripe.js, driven from the WASM through `wasm-bindgen` (no JavaScript file
//! of ours). The script itself is loaded once, from `STRIPE_JS_URL`, by the
//! page shell. On the server these functions are never called; they answer
//! "unavailable".

use crate::domain::ThreeDsStep;

/// Why Stripe.js could not do what was asked; the page words it (`ui::i18n::js_failure_text`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsFailure {
    /// Stripe.js has not loaded.
    NotReady,
    /// The card form is not on the page.
    NoCardForm,
    /// Stripe.js answered without what was expected.
    Incomplete,
    /// Called outside the browser.
    BrowserOnly,
    /// Stripe.js's own message (Stripe words it).
    Stripe(String),
}

/// Mounts a card input (Stripe Elements) into the element with id `container`.
///
/// # Errors
/// Stripe.js missing or refusing.
pub fn mount_card(publishable_key: &str, container: &str) -> Result<(), JsFailure> {
    imp::mount_card(publishable_key, container)
}

/// Confirms a SetupIntent with the mounted card; returns the SetupIntent id.
///
/// # Errors
/// Stripe's message (declined card, failed authentication…).
pub async fn confirm_card_setup(client_secret: &str) -> Result<String, JsFailure> {
    imp::confirm_card_setup(client_secret).await
}

/// Turns the mounted card input into a PaymentMethod (`createPaymentMethod`),
/// for a payment that saves the card; returns its id.
///
/// # Errors
/// Stripe's message (an incomplete or invalid card…).
pub async fn create_payment_method() -> Result<String, JsFailure> {
    imp::create_payment_method().await
}

/// Runs 3D Secure on a PaymentIntent as `step` says: `confirmCardPayment` with a saved card,
/// or `handleNextAction` on one already confirmed with it (never a second confirmation; Stripe's
/// way for a PaymentIntent confirmed on the server with automatic confirmation, as ours are —
/// `handleCardAction` is for manual confirmation only).
///
/// # Errors
/// Stripe's message (authentication failed or cancelled…).
pub async fn authenticate_payment(
    publishable_key: &str,
    client_secret: &str,
    step: &ThreeDsStep,
) -> Result<(), JsFailure> {
    match step {
        ThreeDsStep::Confirm { payment_method } => {
            imp::confirm_card_payment(publishable_key, client_secret, payment_method).await
        }
        ThreeDsStep::HandleAction => imp::handle_next_action(publishable_key, client_secret).await,
    }
}

#[cfg(feature = "hydrate")]
mod imp {
    use super::JsFailure;
    use std::cell::RefCell;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;

    #[wasm_bindgen]
    extern "C" {
        #[derive(Clone)]
        type StripeJs;
        #[wasm_bindgen(catch, js_name = Stripe)]
        fn new_stripe(key: &str, options: &JsValue) -> Result<StripeJs, JsValue>;
        #[wasm_bindgen(method, catch)]
        fn elements(this: &StripeJs) -> Result<Elements, JsValue>;
        #[wasm_bindgen(method, catch, js_name = confirmCardSetup)]
        fn confirm_card_setup(this: &StripeJs, secret: &str, data: &JsValue) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(method, catch, js_name = confirmCardPayment)]
        fn confirm_card_payment(this: &StripeJs, secret: &str, data: &JsValue) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(method, catch, js_name = handleNextAction)]
        fn handle_next_action(this: &StripeJs, options: &JsValue) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(method, catch, js_name = createPaymentMethod)]
        fn create_payment_method(this: &StripeJs, data: &JsValue) -> Result<js_sys::Promise, JsValue>;

        type Elements;
        #[wasm_bindgen(method, catch)]
        fn create(this: &Elements, kind: &str) -> Result<CardElement, JsValue>;

        #[derive(Clone)]
        type CardElement;
        #[wasm_bindgen(method, catch)]
        fn mount(this: &CardElement, selector: &str) -> Result<(), JsValue>;
    }

    thread_local! {
        static STRIPE: RefCell<Option<(String, StripeJs)>> = const { RefCell::new(None) };
        static CARD: RefCell<Option<CardElement>> = const { RefCell::new(None) };
    }

    fn describe(error: &JsValue) -> JsFailure {
        js_sys::Reflect::get(error, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .or_else(|| error.as_string())
            .map_or(JsFailure::Incomplete, JsFailure::Stripe)
    }

    /// One Stripe object per page and key.
    fn stripe(key: &str) -> Result<StripeJs, JsFailure> {
        STRIPE.with(|cell| {
            if let Some((k, s)) = cell.borrow().as_ref()
                && k == key
            {
                return Ok(s.clone());
            }
            // The card form and Stripe's messages in the page's language, not the browser's.
            let locale = crate::ui::i18n::page_locale().code();
            let s = new_stripe(key, &object(&[("locale", &JsValue::from_str(locale))])).map_err(|e| describe(&e))?;
            *cell.borrow_mut() = Some((key.to_owned(), s.clone()));
            Ok(s)
        })
    }

    pub fn mount_card(key: &str, container: &str) -> Result<(), JsFailure> {
        let stripe = stripe(key)?;
        let card = stripe.elements().and_then(|e| e.create("card")).map_err(|e| describe(&e))?;
        card.mount(&format!("#{container}")).map_err(|e| describe(&e))?;
        CARD.with(|c| *c.borrow_mut() = Some(card));
        Ok(())
    }

    fn object(pairs: &[(&str, &JsValue)]) -> JsValue {
        let o = js_sys::Object::new();
        for (k, v) in pairs {
            let _ = js_sys::Reflect::set(&o, &(*k).into(), v);
        }
        o.into()
    }

    /// `{ error }` → Err(message); otherwise the named field.
    async fn settle(promise: js_sys::Promise, field: &str) -> Result<JsValue, JsFailure> {
        let result = JsFuture::from(promise).await.map_err(|e| describe(&e))?;
        let error = js_sys::Reflect::get(&result, &"error".into()).unwrap_or(JsValue::NULL);
        if !error.is_null() && !error.is_undefined() {
            return Err(describe(&error));
        }
        js_sys::Reflect::get(&result, &field.into()).map_err(|e| describe(&e))
    }

    /// The Stripe object and the card input mounted by [`mount_card`].
    fn mounted() -> Result<(StripeJs, CardElement), JsFailure> {
        let (_, stripe) = STRIPE.with(|c| c.borrow().clone()).ok_or(JsFailure::NotReady)?;
        let card = CARD.with(|c| c.borrow().clone()).ok_or(JsFailure::NoCardForm)?;
        Ok((stripe, card))
    }

    fn id_of(object: &JsValue) -> Result<String, JsFailure> {
        js_sys::Reflect::get(object, &"id".into()).ok().and_then(|v| v.as_string()).ok_or(JsFailure::Incomplete)
    }

    pub async fn confirm_card_setup(client_secret: &str) -> Result<String, JsFailure> {
        let (stripe, card) = mounted()?;
        let data = object(&[("payment_method", &object(&[("card", card.as_ref())]))]);
        let promise = stripe.confirm_card_setup(client_secret, &data).map_err(|e| describe(&e))?;
        id_of(&settle(promise, "setupIntent").await?)
    }

    pub async fn create_payment_method() -> Result<String, JsFailure> {
        let (stripe, card) = mounted()?;
        let data = object(&[("type", &JsValue::from_str("card")), ("card", card.as_ref())]);
        let promise = stripe.create_payment_method(&data).map_err(|e| describe(&e))?;
        id_of(&settle(promise, "paymentMethod").await?)
    }

    pub async fn confirm_card_payment(key: &str, client_secret: &str, payment_method: &str) -> Result<(), JsFailure> {
        let stripe = stripe(key)?;
        let data = object(&[("payment_method", &JsValue::from_str(payment_method))]);
        let promise = stripe.confirm_card_payment(client_secret, &data).map_err(|e| describe(&e))?;
        settle(promise, "paymentIntent").await.map(|_| ())
    }

    pub async fn handle_next_action(key: &str, client_secret: &str) -> Result<(), JsFailure> {
        let stripe = stripe(key)?;
        let options = object(&[("clientSecret", &JsValue::from_str(client_secret))]);
        let promise = stripe.handle_next_action(&options).map_err(|e| describe(&e))?;
        settle(promise, "paymentIntent").await.map(|_| ())
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    use super::JsFailure;

    pub fn mount_card(_: &str, _: &str) -> Result<(), JsFailure> {
        Err(JsFailure::BrowserOnly)
    }

    pub async fn confirm_card_setup(_: &str) -> Result<String, JsFailure> {
        Err(JsFailure::BrowserOnly)
    }

    pub async fn create_payment_method() -> Result<String, JsFailure> {
        Err(JsFailure::BrowserOnly)
    }

    pub async fn confirm_card_payment(_: &str, _: &str, _: &str) -> Result<(), JsFailure> {
        Err(JsFailure::BrowserOnly)
    }

    pub async fn handle_next_action(_: &str, _: &str) -> Result<(), JsFailure> {
        Err(JsFailure::BrowserOnly)
    }
}
