//! Building the state and the router, and serving with graceful shutdown.

use anyhow::Context as _;
use app::ssr::clock::{Clock, SystemClock};
use app::ssr::config::Settings;
use app::ssr::email::mailer::{Mailer, SmtpMailer};
use app::ssr::guards::Guards;
use app::ssr::payments::{PaymentGateway, StripeConfig, StripeGateway};
use app::ssr::services::webhooks::InboxWriter;
use app::ssr::state::{AppState, Counters, Wake};
use app::ssr::{db, installation};
use app::{App, shell};
use axum::Router;
use axum::handler::Handler as _;
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use secrecy::ExposeSecret as _;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{middleware, routes};

/// The pieces a state is built from; tests swap the gateway or the clock.
pub struct Ports {
    /// Stripe.
    pub gateway: Arc<dyn PaymentGateway>,
    /// SMTP.
    pub mailer: Arc<dyn Mailer>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl Ports {
    /// The real ones, from the settings.
    ///
    /// # Errors
    /// A client cannot be built.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let gateway = StripeGateway::new(StripeConfig {
            api_base: settings.stripe_api_base.clone(),
            secret_key: settings.stripe_secret_key.clone(),
            timeout: settings.stripe_timeout,
            rate_limit_per_sec: settings.stripe_rate_limit_per_sec,
            max_tries: 4,
        })?;
        let mailer = SmtpMailer::new(&settings.smtp_url, &settings.mail_from).context("SMTP_URL / MAIL_FROM")?;
        Ok(Self { gateway: Arc::new(gateway), mailer: Arc::new(mailer), clock: Arc::new(SystemClock) })
    }
}

/// Leptos' options from the environment cargo-leptos sets (with our address).
///
/// # Errors
/// A malformed `LEPTOS_*` variable.
pub fn leptos_options(settings: &Settings) -> anyhow::Result<LeptosOptions> {
    let conf = get_configuration(None).context("LEPTOS_* configuration")?;
    let mut options = conf.leptos_options;
    options.site_addr = settings.site_addr;
    Ok(options)
}

/// Connects, migrates and builds the state.
///
/// # Errors
/// Database unreachable or a migration failing.
pub async fn build_state(settings: Settings, ports: Ports, leptos_options: LeptosOptions) -> anyhow::Result<AppState> {
    let db = db::connect(&settings).await?;
    db::migrate(&db).await?;
    let mode = app::domain::KeyMode::of_stripe_key(settings.stripe_secret_key.expose_secret());
    let stamped = app::ssr::services::host_api::keys::keep_mode_of_older(&db, mode).await.context("the older modes")?;
    if stamped != app::ssr::services::host_api::keys::ModesKept::default() {
        tracing::info!(
            plans = stamped.plans,
            endpoints = stamped.endpoints,
            customers_and_cards = stamped.customers_and_cards,
            mode = mode.as_str(),
            "what was made before its mode was kept takes the mode in use"
        );
    }
    let installation = installation::open(&db, ports.clock.now_ms()).await.context("reading the installation")?;
    if let Some(taken_at) = installation.restored_from {
        tracing::warn!(
            epoch = installation.epoch,
            backup.taken_at_ms = taken_at,
            "this database was restored from a backup: a new installation epoch begins, and no charge goes out until a reconcile has covered the window since the backup"
        );
    }
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".to_owned());
    let instance_id = format!("{host}:{}:{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let guards = Guards::new(
        settings.password_hash_concurrency,
        settings.password_hash_queue,
        settings.stripe_calls_per_user_per_minute,
    );
    Ok(AppState {
        leptos_options,
        gateway: ports.gateway,
        mailer: ports.mailer,
        clock: ports.clock,
        settings: Arc::new(settings),
        key_scope: app::domain::key_scope(&installation.id, installation.epoch).into(),
        installation_id: installation.id.into(),
        epoch: installation.epoch,
        instance_id: instance_id.into(),
        wake: Arc::new(Wake::default()),
        counters: Arc::new(Counters::default()),
        guards: Arc::new(guards),
        live: Arc::default(),
        inbox_writer: Arc::new(InboxWriter::start(&db)),
        db,
    })
}

/// The app's pages, listed once per process. Leptos lists them by running the app with a
/// process-wide switch on that leaves any resource first polled meanwhile pending for ever
/// (leptos-rs/leptos#4773): a second server started in the process (the tests start many) would
/// leave a page the first one is rendering without an end.
fn routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The router: Leptos pages and server functions, the webhook, health, and static files.
///
/// The site's files (the WASM chunks of the split bundle, the CSS, the icon) are served by
/// `ServeDir` itself; only what it does not find reaches Leptos' handler, which renders the
/// not-found page. That handler reads the `ResponseOptions` of the reactive owner it runs in:
/// serving the files through it let a chunk's answer take the headers a page being rendered at
/// the same time had set (its Content-Security-Policy), once a page loaded dozens of chunks.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let site_root = leptos_options.site_root.to_string();
    let stripe_js = state.settings.stripe_js_url.to_string();
    let page_stripe_js = stripe_js.clone();
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    Router::new()
        .merge(routes::router(&state))
        .leptos_routes_with_context(&state, routes(), context.clone(), move || {
            shell(leptos_options.clone(), page_stripe_js.clone())
        })
        .fallback_service(
            tower_http::services::ServeDir::new(site_root).precompressed_gzip().precompressed_br().not_found_service(
                leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, move |options| {
                    shell(options, stripe_js.clone())
                })
                .with_state(state.clone()),
            ),
        )
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::cross_site_check))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(
            |request: &http::Request<axum::body::Body>| {
                // The path only: query strings may carry a recovery-link token.
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
            },
        ))
        .with_state(state)
}

/// Serves until `shutdown` fires, then drains in-flight requests.
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(state: AppState, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
    let feed = {
        let shutdown = shutdown.clone();
        tokio::spawn(app::ssr::live::run_feed(state.clone(), async move { shutdown.cancelled().await }))
    };
    let app = router(state);
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("serving")?;
    feed.abort();
    Ok(())
}
