//! Typed configuration from the environment, with defaults for local use.
//!
//! Layers: built-in defaults, then a `.env` file (loaded by the binary, never
//! overriding the real environment), then the process environment. A missing
//! or malformed variable is one [`ConfigError`] naming it; secrets are kept in
//! [`SecretString`] and never printed.

use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::time::Duration;
use url::Url;

use crate::domain::{DefaultPolicy, RetryPolicy};

/// One configuration variable that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub var: &'static str,
    /// What is wrong with it (never its value when it is a secret).
    pub reason: String,
}

/// Where the server runs: production refuses test-only settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// Local development and tests.
    Development,
    /// Real money.
    Production,
}

/// Everything the server needs to know, parsed once at start-up.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Development or production (`APP_ENV`, else `LEPTOS_ENV`).
    pub environment: Environment,
    /// `DATABASE_URL`: `sqlite://…` (default) or `postgres://…`.
    pub database_url: SecretString,
    /// `DATABASE_MAX_CONNECTIONS`.
    pub database_max_connections: u32,
    /// `STRIPE_SECRET_KEY`.
    pub stripe_secret_key: SecretString,
    /// `STRIPE_PUBLISHABLE_KEY`.
    pub stripe_publishable_key: String,
    /// `STRIPE_WEBHOOK_SECRET`, comma-separated so a secret can be rolled.
    pub stripe_webhook_secrets: Vec<SecretString>,
    /// `STRIPE_WEBHOOK_TOLERANCE_SECS`: how old a signed timestamp may be.
    pub stripe_webhook_tolerance: Duration,
    /// `STRIPE_WEBHOOK_MAX_BYTES`: body size limit of the webhook route.
    pub stripe_webhook_max_bytes: usize,
    /// `STRIPE_API_BASE`: Stripe's API, or a local peer.
    pub stripe_api_base: Url,
    /// `STRIPE_JS_URL`: Stripe.js, or the local peer's fake.
    pub stripe_js_url: Url,
    /// `STRIPE_TIMEOUT_SECS`: one HTTP call to Stripe.
    pub stripe_timeout: Duration,
    /// `STRIPE_RATE_LIMIT_PER_SEC`: requests per second per Stripe endpoint.
    pub stripe_rate_limit_per_sec: u32,
    /// `APP_BASE_URL`: the public address, for links in emails.
    pub app_base_url: Url,
    /// `APP_SECRET`: signs recovery links (at least 32 bytes in production).
    pub app_secret: SecretString,
    /// `SMTP_URL`: `smtp://host:port` (plain) or `smtps://user:pass@host` (TLS).
    pub smtp_url: SecretString,
    /// `MAIL_FROM`.
    pub mail_from: String,
    /// `LEPTOS_SITE_ADDR`: where the server listens.
    pub site_addr: SocketAddr,
    /// `RETRY_SCHEDULE_HOURS`: delays between automatic retries of soft declines.
    pub retry_policy: RetryPolicy,
    /// `RECOVERY_LINK_TTL_HOURS`: validity of the 3DS link (default 7 days).
    pub recovery_link_ttl: Duration,
    /// `RECOVERY_REMINDER_AFTER_HOURS`: when the reminder email goes out.
    pub recovery_reminder_after: Duration,
    /// `RECONCILE_CRON`: six-field cron expression (sec min hour day month weekday).
    pub reconcile_cron: String,
    /// `CHARGE_DUE_CRON`: when due échéances are charged.
    pub charge_due_cron: String,
    /// `SCHEDULE_TIMEZONE`: the zone both cron expressions are read in.
    pub schedule_timezone: chrono_tz::Tz,
    /// `CHARGE_DUE_RATE_PER_SEC`: bound on the due-date run.
    pub charge_due_rate_per_sec: u32,
    /// `DEBIT_REMINDER_DAYS`: the customer is told this many days before each debit (0: never).
    pub debit_reminder_days: u32,
    /// `DEBIT_REMINDER_CRON`: when the reminders of the coming debits (and of cards that will
    /// not last until them) are queued.
    pub debit_reminder_cron: String,
    /// `CARD_EXPIRY_NOTICE_DAYS`: a customer whose saved card expires before a debit is told
    /// this many days before that debit (0: never).
    pub card_expiry_notice_days: u32,
    /// `WORKERS`: run the background workers in this process (`true` by default).
    pub workers_enabled: bool,
    /// `EMAIL_RETRY_BASE_SECS`: first delay before an email is tried again (doubles each time, capped at 15 min).
    pub email_retry_base: Duration,
    /// `EMAIL_MAX_ATTEMPTS`: tries before an email is marked failed (default 40: about 8 hours).
    pub email_max_attempts: u32,
    /// Proxies in front of the server that append to `X-Forwarded-For` (0: the TCP peer is the client).
    pub trusted_proxy_hops: usize,
    /// An admin's session ends after this long without a request.
    pub session_idle_admin: Duration,
    /// A customer's session ends after this long without a request.
    pub session_idle_customer: Duration,
    /// Password hashes computed at once (off the async runtime).
    pub password_hash_concurrency: usize,
    /// Logins waiting for a hashing slot before the next one is answered 429.
    pub password_hash_queue: usize,
    /// Stripe-spending calls (card setup, pay, 3D Secure page) per customer per minute.
    pub stripe_calls_per_user_per_minute: u32,
    /// `PLAN_ON_DEFAULT`: `keep_charging` (default) or `stop` the other échéances of a plan in default.
    pub plan_on_default: DefaultPolicy,
    /// `REFUSE_CONSUMER_CREDIT`: refuse plans that French law treats as consumer
    /// credit (last échéance more than three months after the first) instead of warning.
    pub refuse_consumer_credit: bool,
    /// `ADMIN_TOTP_REQUIRED`: every admin must use a second factor (an authenticator app) to act as one.
    pub admin_totp_required: bool,
    /// `MERCHANT_NAME`: who the customer authorises to charge the card (the mandate text, emails).
    pub merchant_name: String,
    /// `INVITATION_TTL_DAYS`: validity of a plan's invitation link (default 14 days).
    pub invitation_ttl: Duration,
    /// `API_RATE_LIMIT_PER_SEC`: requests a second per API key, on average (25, like Stripe's per endpoint).
    pub api_rate_limit_per_sec: u32,
    /// `API_RATE_BURST`: requests an API key may send at once (50).
    pub api_rate_burst: u32,
    /// `WEBHOOK_TIMEOUT_SECS`: how long the host's endpoint has to answer (10).
    pub webhook_timeout: Duration,
    /// `WEBHOOK_RETRY_HOURS`: how long a delivery is retried before it is failed (72).
    pub webhook_retry_window: Duration,
    /// `WEBHOOK_SECRET_OVERLAP_HOURS`: how long a rolled secret keeps signing (24).
    pub webhook_secret_overlap: Duration,
}

const DEV_APP_SECRET: &str = "dev-only-secret-do-not-use-in-production-0123456789";

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first variable that is missing or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads from any source of variables (tests pass a map).
    ///
    /// # Errors
    /// The first variable that is missing or malformed.
    pub fn from_source(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // Production unless told otherwise: a server started without APP_ENV refuses
        // the public development secret, plain-http addresses and the demo data.
        let environment = match get("APP_ENV").or_else(|| get("LEPTOS_ENV")).map(|v| v.to_ascii_lowercase()) {
            None => Environment::Production,
            Some(v) if matches!(v.as_str(), "dev" | "development" | "test") => Environment::Development,
            Some(v) if matches!(v.as_str(), "prod" | "production") => Environment::Production,
            Some(_) => return Err(err("APP_ENV", "expected development or production")),
        };
        let prod = environment == Environment::Production;

        let database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/echeancier.db?mode=rwc".to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(err("DATABASE_URL", "must start with sqlite: or postgres://"));
        }

        let stripe_api_base = url_var(get, "STRIPE_API_BASE", "https://api.stripe.com/")?;
        let stripe_secret_key = match get("STRIPE_SECRET_KEY") {
            Some(k) if k.starts_with("sk_") || k.starts_with("rk_") => SecretString::from(k),
            Some(_) => return Err(err("STRIPE_SECRET_KEY", "must start with sk_ or rk_")),
            None => return Err(err("STRIPE_SECRET_KEY", "missing")),
        };
        let stripe_publishable_key = match get("STRIPE_PUBLISHABLE_KEY") {
            Some(k) if k.starts_with("pk_") => k,
            Some(_) => return Err(err("STRIPE_PUBLISHABLE_KEY", "must start with pk_")),
            None => return Err(err("STRIPE_PUBLISHABLE_KEY", "missing")),
        };
        let stripe_webhook_secrets: Vec<SecretString> = get("STRIPE_WEBHOOK_SECRET")
            .ok_or_else(|| err("STRIPE_WEBHOOK_SECRET", "missing"))?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| SecretString::from(s.to_owned()))
            .collect();
        if stripe_webhook_secrets.is_empty() {
            return Err(err("STRIPE_WEBHOOK_SECRET", "no secret given"));
        }

        let app_secret = match get("APP_SECRET") {
            Some(s) if s.len() >= 32 => SecretString::from(s),
            Some(_) => return Err(err("APP_SECRET", "at least 32 characters")),
            None if prod => return Err(err("APP_SECRET", "missing (required in production)")),
            None => SecretString::from(DEV_APP_SECRET.to_owned()),
        };

        let site_addr: SocketAddr = parse_var(get, "LEPTOS_SITE_ADDR", "127.0.0.1:3000")?;
        let app_base_url = url_var(get, "APP_BASE_URL", &format!("http://{site_addr}/"))?;
        let stripe_js_url = url_var(get, "STRIPE_JS_URL", "https://js.stripe.com/v3/")?;
        let smtp_url = get("SMTP_URL").unwrap_or_else(|| "smtp://127.0.0.1:1025".to_owned());
        if Url::parse(&smtp_url).map(|u| !matches!(u.scheme(), "smtp" | "smtps")).unwrap_or(true) {
            return Err(err("SMTP_URL", "expected smtp://host:port or smtps://user:password@host:port"));
        }

        let stripe_rate_limit_per_sec = positive(get, "STRIPE_RATE_LIMIT_PER_SEC", "25")?;
        let retry_policy = RetryPolicy::parse(&get("RETRY_SCHEDULE_HOURS").unwrap_or_else(|| "24,72,168".to_owned()))
            .map_err(|e| err("RETRY_SCHEDULE_HOURS", &e))?;
        let schedule_timezone: chrono_tz::Tz = get("SCHEDULE_TIMEZONE")
            .unwrap_or_else(|| "Europe/Paris".to_owned())
            .parse()
            .map_err(|_| err("SCHEDULE_TIMEZONE", "unknown IANA time zone"))?;
        let reconcile_cron = cron_var(get, "RECONCILE_CRON", "0 0 2 * * *")?;
        let charge_due_cron = cron_var(get, "CHARGE_DUE_CRON", "0 0 6 * * *")?;
        let debit_reminder_cron = cron_var(get, "DEBIT_REMINDER_CRON", "0 0 8 * * *")?;

        let settings = Self {
            environment,
            database_url: SecretString::from(database_url),
            database_max_connections: parse_var(get, "DATABASE_MAX_CONNECTIONS", "10")?,
            stripe_secret_key,
            stripe_publishable_key,
            stripe_webhook_secrets,
            stripe_webhook_tolerance: Duration::from_secs(parse_var(get, "STRIPE_WEBHOOK_TOLERANCE_SECS", "300")?),
            stripe_webhook_max_bytes: parse_var(get, "STRIPE_WEBHOOK_MAX_BYTES", "262144")?,
            stripe_api_base,
            stripe_js_url,
            stripe_timeout: Duration::from_secs(parse_var(get, "STRIPE_TIMEOUT_SECS", "30")?),
            stripe_rate_limit_per_sec,
            app_base_url,
            app_secret,
            smtp_url: SecretString::from(smtp_url),
            mail_from: get("MAIL_FROM").unwrap_or_else(|| "Échéancier <no-reply@echeancier.localhost>".to_owned()),
            site_addr,
            retry_policy,
            recovery_link_ttl: hours(get, "RECOVERY_LINK_TTL_HOURS", "168")?,
            recovery_reminder_after: hours(get, "RECOVERY_REMINDER_AFTER_HOURS", "72")?,
            reconcile_cron,
            charge_due_cron,
            schedule_timezone,
            charge_due_rate_per_sec: positive(
                get,
                "CHARGE_DUE_RATE_PER_SEC",
                &due_rate_default(stripe_rate_limit_per_sec),
            )?,
            debit_reminder_days: parse_var(get, "DEBIT_REMINDER_DAYS", "3")?,
            debit_reminder_cron,
            card_expiry_notice_days: parse_var(get, "CARD_EXPIRY_NOTICE_DAYS", "14")?,
            workers_enabled: parse_var(get, "WORKERS", "true")?,
            email_retry_base: Duration::from_secs(u64::from(positive(get, "EMAIL_RETRY_BASE_SECS", "30")?)),
            email_max_attempts: positive(get, "EMAIL_MAX_ATTEMPTS", "40")?,
            trusted_proxy_hops: parse_var(get, "TRUSTED_PROXY_HOPS", "0")?,
            session_idle_admin: minutes(get, "SESSION_IDLE_MINUTES_ADMIN", "30")?,
            session_idle_customer: minutes(get, "SESSION_IDLE_MINUTES_CUSTOMER", "1440")?,
            password_hash_concurrency: positive(get, "PASSWORD_HASH_CONCURRENCY", "2")? as usize,
            password_hash_queue: parse_var(get, "PASSWORD_HASH_QUEUE", "32")?,
            stripe_calls_per_user_per_minute: positive(get, "STRIPE_CALLS_PER_USER_PER_MINUTE", "20")?,
            plan_on_default: DefaultPolicy::parse(
                &get("PLAN_ON_DEFAULT").unwrap_or_else(|| "keep_charging".to_owned()),
            )
            .map_err(|_| err("PLAN_ON_DEFAULT", "expected keep_charging or stop"))?,
            refuse_consumer_credit: parse_var(get, "REFUSE_CONSUMER_CREDIT", "false")?,
            admin_totp_required: parse_var(get, "ADMIN_TOTP_REQUIRED", "false")?,
            merchant_name: get("MERCHANT_NAME")
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "Échéancier".to_owned()),
            invitation_ttl: Duration::from_secs(u64::from(positive(get, "INVITATION_TTL_DAYS", "14")?) * 86_400),
            api_rate_limit_per_sec: positive(get, "API_RATE_LIMIT_PER_SEC", "25")?,
            api_rate_burst: positive(get, "API_RATE_BURST", "50")?,
            webhook_timeout: Duration::from_secs(u64::from(positive(get, "WEBHOOK_TIMEOUT_SECS", "10")?)),
            webhook_retry_window: hours(get, "WEBHOOK_RETRY_HOURS", "72")?,
            webhook_secret_overlap: hours(get, "WEBHOOK_SECRET_OVERLAP_HOURS", "24")?,
        };
        if prod {
            settings.refuse_test_settings_in_production()?;
        }
        Ok(settings)
    }

    fn refuse_test_settings_in_production(&self) -> Result<(), ConfigError> {
        if self.stripe_api_base.scheme() != "https" {
            return Err(err("STRIPE_API_BASE", "must be https in production"));
        }
        if self.stripe_js_url.scheme() != "https" {
            return Err(err("STRIPE_JS_URL", "must be https in production"));
        }
        if self.app_secret.expose_secret() == DEV_APP_SECRET {
            return Err(err("APP_SECRET", "the development secret is refused in production"));
        }
        if self.app_base_url.scheme() != "https" {
            return Err(err("APP_BASE_URL", "must be https in production (the session cookie is Secure)"));
        }
        let smtp = Url::parse(self.smtp_url.expose_secret()).ok();
        if smtp.is_some_and(|u| u.scheme() == "smtp" && (!u.username().is_empty() || u.password().is_some())) {
            return Err(err("SMTP_URL", "credentials need TLS in production (smtps://)"));
        }
        Ok(())
    }
}

fn err(var: &'static str, reason: &str) -> ConfigError {
    ConfigError { var, reason: reason.to_owned() }
}

fn parse_var<T: std::str::FromStr>(
    get: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
) -> Result<T, ConfigError> {
    let raw = get(var).unwrap_or_else(|| default.to_owned());
    raw.trim().parse().map_err(|_| err(var, &format!("unreadable value {raw:?}")))
}

/// The due-date run's default rate: 80 % of Stripe's per-endpoint limit (`POST
/// /v1/payment_intents` is one endpoint), the rest kept for customers paying and the
/// webhooks' re-reads meanwhile (`scripts/bench` measures the run at this rate).
fn due_rate_default(stripe_per_endpoint: u32) -> String {
    (u64::from(stripe_per_endpoint) * 4 / 5).max(1).to_string()
}

fn positive(get: &dyn Fn(&str) -> Option<String>, var: &'static str, default: &str) -> Result<u32, ConfigError> {
    match parse_var::<u32>(get, var, default)? {
        0 => Err(err(var, "must be greater than 0")),
        n => Ok(n),
    }
}

fn hours(get: &dyn Fn(&str) -> Option<String>, var: &'static str, default: &str) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(u64::from(positive(get, var, default)?) * 3600))
}

fn minutes(get: &dyn Fn(&str) -> Option<String>, var: &'static str, default: &str) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(u64::from(positive(get, var, default)?) * 60))
}

fn url_var(get: &dyn Fn(&str) -> Option<String>, var: &'static str, default: &str) -> Result<Url, ConfigError> {
    let raw = get(var).unwrap_or_else(|| default.to_owned());
    let url = Url::parse(raw.trim()).map_err(|e| err(var, &format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err(var, "expected http:// or https://"));
    }
    Ok(url)
}

fn cron_var(get: &dyn Fn(&str) -> Option<String>, var: &'static str, default: &str) -> Result<String, ConfigError> {
    let raw = get(var).unwrap_or_else(|| default.to_owned());
    raw.parse::<cron::Schedule>()
        .map_err(|e| err(var, &format!("not a cron expression ({e}); six fields: sec min hour day month weekday")))?;
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn minimal() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("APP_ENV", "development"),
            ("STRIPE_SECRET_KEY", "sk_test_123"),
            ("STRIPE_PUBLISHABLE_KEY", "pk_test_123"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_a, whsec_b"),
        ])
    }

    fn load(vars: &HashMap<&'static str, &'static str>) -> Result<Settings, ConfigError> {
        Settings::from_source(&|k| vars.get(k).map(|v| (*v).to_owned()))
    }

    #[test]
    fn defaults_fill_everything_but_the_stripe_keys() {
        let s = load(&minimal()).expect("valid");
        assert_eq!(s.stripe_webhook_secrets.len(), 2);
        assert_eq!(s.stripe_webhook_tolerance, Duration::from_secs(300));
        assert_eq!(s.stripe_api_base.as_str(), "https://api.stripe.com/");
        assert_eq!(s.schedule_timezone, chrono_tz::Europe::Paris);
        assert!(s.database_url.expose_secret().starts_with("sqlite:"));
    }

    #[test]
    fn the_due_date_run_takes_four_fifths_of_the_stripe_endpoint_unless_told() {
        assert_eq!(load(&minimal()).expect("valid").charge_due_rate_per_sec, 20, "80 % of 25");
        let mut vars = minimal();
        vars.insert("STRIPE_RATE_LIMIT_PER_SEC", "100");
        assert_eq!(load(&vars).expect("valid").charge_due_rate_per_sec, 80);
        vars.insert("STRIPE_RATE_LIMIT_PER_SEC", "1");
        assert_eq!(load(&vars).expect("valid").charge_due_rate_per_sec, 1, "never 0");
        vars.insert("CHARGE_DUE_RATE_PER_SEC", "3");
        assert_eq!(load(&vars).expect("valid").charge_due_rate_per_sec, 3);
        vars.insert("CHARGE_DUE_RATE_PER_SEC", "0");
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("CHARGE_DUE_RATE_PER_SEC"));
    }

    #[test]
    fn a_missing_or_malformed_variable_is_named() {
        let mut vars = minimal();
        vars.remove("STRIPE_SECRET_KEY");
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("STRIPE_SECRET_KEY"));
        let mut vars = minimal();
        vars.insert("STRIPE_API_BASE", "not a url");
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("STRIPE_API_BASE"));
        let mut vars = minimal();
        vars.insert("RECONCILE_CRON", "every night");
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("RECONCILE_CRON"));
        let mut vars = minimal();
        vars.insert("LEPTOS_SITE_ADDR", "localhost");
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("LEPTOS_SITE_ADDR"));
    }

    #[test]
    fn production_refuses_the_dev_secret_and_plain_http_stripe() {
        let mut vars = minimal();
        vars.insert("APP_ENV", "production");
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("APP_SECRET"));
        vars.insert("APP_SECRET", "0123456789abcdef0123456789abcdef-prod");
        vars.insert("STRIPE_API_BASE", "http://127.0.0.1:8420/");
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("STRIPE_API_BASE"));
    }

    #[test]
    fn without_app_env_the_server_is_production_and_refuses_development_settings() {
        let mut vars = minimal();
        vars.remove("APP_ENV");
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("APP_SECRET"), "no secret: refused");
        vars.insert("APP_SECRET", DEV_APP_SECRET);
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("APP_SECRET"), "the public development secret");
        vars.insert("APP_SECRET", "0123456789abcdef0123456789abcdef-prod");
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("APP_BASE_URL"), "plain http");
        vars.insert("APP_BASE_URL", "https://pay.example.com/");
        vars.insert("SMTP_URL", "smtp://user:password@mail.example.com:587");
        assert_eq!(load(&vars).map(|_| ()).map_err(|e| e.var), Err("SMTP_URL"), "credentials in clear");
        vars.insert("SMTP_URL", "smtps://user:password@mail.example.com:465");
        let s = load(&vars).expect("a production configuration");
        assert_eq!(s.environment, Environment::Production);
        vars.insert("APP_ENV", "development");
        assert_eq!(load(&vars).map(|s| s.environment).ok(), Some(Environment::Development));
    }

    #[test]
    fn errors_never_contain_secret_values() {
        let mut vars = minimal();
        vars.insert("STRIPE_SECRET_KEY", "pk_live_oops");
        let e = load(&vars).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!e.contains("pk_live_oops"), "{e}");
    }
}
