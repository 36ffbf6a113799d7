//! The command line. `serve` is the default; the other commands run one job
//! against the same database and Stripe, and exit.

use anyhow::Context as _;
use app::ssr::config::Settings;
use app::ssr::services::{charge, due, reconcile, reminders, seed, webhooks};
use app::ssr::state::AppState;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::startup::{self, Ports};

#[derive(Parser, Debug)]
#[command(name = "server", about = "Échéancier — collects installment payments through Stripe")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the site, the webhook and the background workers (default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write the demo data (an admin, two customers, échéances) unless users exist.
    SeedDemo,
    /// Converge échéances waiting on Stripe with Stripe's truth, once.
    Reconcile {
        /// Window listed on Stripe: `24h`, `90m`, `7d`.
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        since: Duration,
        /// Report what would change without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Charge every échéance due (today in the schedule's time zone, or --date) that has a saved card.
    ChargeDue {
        /// The day to charge for (YYYY-MM-DD): a past day to catch up on, not one to come.
        #[arg(long)]
        date: Option<NaiveDate>,
        /// At most this many charges.
        #[arg(long, default_value_t = 10_000)]
        limit: u64,
    },
    /// Queue the customers' notices as the daily job does (`DEBIT_REMINDER_CRON`): the reminders
    /// of the debits of the coming days and the warnings of cards that will not last.
    Notices {
        /// The day to run as (YYYY-MM-DD; default today in the schedule's time zone).
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Apply stored webhooks and settle unknown charge outcomes, once.
    Process,
    /// Write a backup a restore can start from without charging twice (SQLite: an online copy;
    /// PostgreSQL: `pg_dump`, plain SQL). See the README's « Backup and restore ».
    Backup {
        /// The file to write (never overwritten).
        path: std::path::PathBuf,
    },
    /// The host site's API keys.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Admin accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Test fixture: write one user with échéances and print their ids as JSON (refused in production).
    SeedCustomer {
        /// Login.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long, default_value = "Client de test")]
        name: String,
        /// Password.
        #[arg(long)]
        password: String,
        /// `fr` or `en`.
        #[arg(long, default_value = "fr")]
        locale: app::domain::Locale,
        /// An admin instead of a customer.
        #[arg(long)]
        admin: bool,
        /// `DAYS:CENTS:STATUS`, due DAYS from today (negative: in the past), e.g. `0:30000:a_payer`.
        #[arg(long = "echeance", value_parser = parse_fixture_echeance)]
        echeances: Vec<seed::DemoEcheance>,
    },
}

#[derive(Subcommand, Debug)]
enum UserAction {
    /// Make an admin and email them a single-use link to choose a password (or print it).
    Create {
        /// An admin (customers come with their plans).
        #[arg(long)]
        admin: bool,
        /// Their login.
        #[arg(long)]
        email: String,
        /// Their name.
        #[arg(long, default_value = "Administrateur")]
        name: String,
        /// `fr` or `en`.
        #[arg(long, default_value = "fr")]
        locale: app::domain::Locale,
        /// Print the link instead of emailing it.
        #[arg(long)]
        print_link: bool,
    },
    /// List the admins.
    List,
    /// Disable an admin (never the last active one).
    Disable {
        /// Their login.
        #[arg(long)]
        email: String,
    },
    /// Turn off the second factor of an admin who lost both the app and the
    /// recovery codes, and end their sessions (they set one up again when it is required).
    ResetSecondFactor {
        /// Their login.
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand, Debug)]
enum ApiKeyAction {
    /// Make a key (in the mode of the Stripe key in use) and print it, once.
    Create {
        /// What it is for (`site principal`).
        #[arg(long)]
        name: String,
    },
    /// List the keys with their last use.
    List,
    /// Revoke a key by id: it gets 401 from now on.
    Revoke {
        /// The key's id (from `list`).
        id: i64,
    },
}

/// Parses `DAYS:CENTS:STATUS`.
///
/// # Errors
/// Anything else.
fn parse_fixture_echeance(input: &str) -> Result<seed::DemoEcheance, String> {
    let mut parts = input.splitn(3, ':');
    let (Some(days), Some(cents), Some(status)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{input:?}: expected DAYS:CENTS:STATUS"));
    };
    let days = days.parse().map_err(|_| format!("{days:?}: not a number of days"))?;
    let cents = cents.parse().map_err(|_| format!("{cents:?}: not an amount in cents"))?;
    let status: app::domain::EcheanceStatus =
        status.parse().map_err(|e: app::domain::UnknownSpelling| e.to_string())?;
    Ok((days, cents, status))
}

/// Parses `24h`, `90m`, `7d`, `3600s`.
///
/// # Errors
/// Anything else.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let input = input.trim();
    let split = input.find(|c: char| !c.is_ascii_digit()).unwrap_or(input.len());
    let (number, unit) = input.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("invalid duration {input:?} (e.g. 24h, 90m, 7d)"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" | "" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("unknown unit {unit:?} (s, m, h, d)")),
    };
    Ok(Duration::from_secs(secs))
}

/// Entry point: parses arguments and the environment, runs the command.
pub async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    crate::telemetry::init();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    match run(cli.command.unwrap_or(Command::Serve), settings).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    if let Command::Migrate = command {
        let db = app::ssr::db::connect(&settings).await?;
        app::ssr::db::migrate(&db).await?;
        println!("migrations applied");
        return Ok(ExitCode::SUCCESS);
    }
    let options = startup::leptos_options(&settings)?;
    let ports = Ports::from_settings(&settings)?;
    let state = startup::build_state(settings, ports, options).await?;
    match command {
        Command::Serve => serve(state).await,
        Command::Migrate => Ok(ExitCode::SUCCESS),
        Command::SeedDemo => {
            let today = today_of(&state);
            let wrote = seed::seed_demo(&state, today).await.map_err(anyhow::Error::from)?;
            println!("{}", if wrote { "demo data written" } else { "users exist: demo data left as is" });
            Ok(ExitCode::SUCCESS)
        }
        Command::SeedCustomer { email, name, password, locale, admin, echeances } => {
            let today = today_of(&state);
            let role = if admin { app::domain::Role::Admin } else { app::domain::Role::Customer };
            let account = seed::Account { email: &email, password: &password, name: &name, role, locale };
            let seeded = seed::seed_customer(&state, &account, &echeances, today).await.map_err(anyhow::Error::from)?;
            println!("{}", serde_json::to_string(&seeded)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile { since, dry_run } => reconcile_once(&state, since, dry_run).await,
        Command::ChargeDue { date, limit } => {
            let today = today_of(&state);
            // A day to catch up on, never one to come: its échéances would be charged off-session before their date.
            if let Some(later) = date.filter(|d| *d > today) {
                anyhow::bail!("--date {later} is after today ({today}): only a day that has come can be charged");
            }
            let today = date.unwrap_or(today);
            let report = due::charge_due(&state, today, limit).await.map_err(anyhow::Error::from)?;
            println!(
                "charged {} at {}/s (paid {}, awaiting 3DS {}, declined {}), skipped {}, errors {}",
                report.charged,
                state.settings.charge_due_rate_per_sec,
                report.paid,
                report.awaiting_customer,
                report.declined,
                report.skipped,
                report.errors
            );
            Ok(if report.errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Notices { date } => {
            let today = date.unwrap_or_else(|| today_of(&state));
            let queued = reminders::queue_notices(&state, today).await.map_err(anyhow::Error::from)?;
            println!("as of {today}: debit reminders queued {}, card warnings queued {}", queued.debits, queued.cards);
            Ok(ExitCode::SUCCESS)
        }
        Command::ApiKey { action } => api_key(&state, action).await,
        Command::User { action } => user(&state, action).await,
        Command::Backup { path } => {
            use secrecy::ExposeSecret;
            let url = state.settings.database_url.expose_secret().to_owned();
            app::ssr::backup::write(&state.db, &url, &path, state.now_ms()).await?;
            println!("backup written to {} (epoch {})", path.display(), state.epoch);
            Ok(ExitCode::SUCCESS)
        }
        Command::Process => {
            let events = webhooks::process_pending(&state, 10_000).await.map_err(anyhow::Error::from)?;
            let attempts = charge::resume(&state, 10_000).await.map_err(anyhow::Error::from)?;
            println!("webhooks handled {events}, attempts settled {attempts}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn user(state: &AppState, action: UserAction) -> anyhow::Result<ExitCode> {
    use app::ssr::services::admins;
    match action {
        UserAction::Create { admin, email, name, locale, print_link } => {
            if !admin {
                anyhow::bail!("only admins are made here (--admin): customers come with their plans");
            }
            let input = admins::NewAdmin { email, name, locale };
            let created = admins::create(state, None, input, !print_link).await.map_err(anyhow::Error::from)?;
            if print_link {
                println!("{}", created.link);
                eprintln!("admin {} created: the link above works once, for 72 hours", created.id);
            } else {
                // Sent now when SMTP answers; otherwise it stays queued for the server's outbox worker.
                app::ssr::email::sender::send_pending(state, 10).await.map_err(anyhow::Error::from)?;
                println!(
                    "admin {} created: a link to choose a password was emailed (it works once, for 72 hours)",
                    created.id
                );
            }
        }
        UserAction::List => {
            for a in admins::list(state).await.map_err(anyhow::Error::from)? {
                let status = match (a.disabled, a.has_password) {
                    (true, _) => "disabled",
                    (false, true) => "active",
                    (false, false) => "invited",
                };
                let factor = if a.second_factor { "totp" } else { "password" };
                println!("{}\t{}\t{}\t{status}\t{factor}", a.id, a.email, a.name);
            }
        }
        UserAction::Disable { email } => {
            let id = admins::by_email(state, &email).await.map_err(anyhow::Error::from)?;
            admins::disable(state, None, id).await.map_err(anyhow::Error::from)?;
            println!("admin {email} disabled");
        }
        UserAction::ResetSecondFactor { email } => {
            app::ssr::services::second_factor::reset(state, &email).await.map_err(anyhow::Error::from)?;
            println!("second factor of {email} turned off, their sessions ended");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn api_key(state: &AppState, action: ApiKeyAction) -> anyhow::Result<ExitCode> {
    use app::ssr::services::host_api::keys;
    let when = |ms: Option<i64>| {
        ms.map_or_else(
            || "never".to_owned(),
            |ms| app::ssr::clock::from_ms(ms).format("%Y-%m-%d %H:%M UTC").to_string(),
        )
    };
    match action {
        ApiKeyAction::Create { name } => {
            let created = keys::create(state, &name).await.map_err(anyhow::Error::from)?;
            println!("{}", created.key.expose());
            eprintln!("API key {} ({}) created: keep it now, it is not shown again.", created.row.id, created.row.name);
        }
        ApiKeyAction::List => {
            for key in keys::list(state).await.map_err(anyhow::Error::from)? {
                let revoked = key.revoked_at.map_or(String::new(), |at| format!(", revoked {}", when(Some(at))));
                println!(
                    "{}\t{}…\t{}\t{}\tlast used {}{revoked}",
                    key.id,
                    key.prefix,
                    key.mode.as_str(),
                    key.name,
                    when(key.last_used_at)
                );
            }
        }
        ApiKeyAction::Revoke { id } => {
            keys::revoke(state, id).await.map_err(anyhow::Error::from)?;
            println!("API key {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(state: AppState) -> anyhow::Result<ExitCode> {
    let listener = tokio::net::TcpListener::bind(state.settings.site_addr)
        .await
        .with_context(|| format!("binding {} (LEPTOS_SITE_ADDR)", state.settings.site_addr))?;
    let shutdown = CancellationToken::new();
    let mut workers = if state.settings.workers_enabled {
        crate::workers::spawn_all(&state, &shutdown)
    } else {
        tokio::task::JoinSet::new()
    };
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        signal.cancel();
    });
    startup::serve(state, listener, shutdown.clone()).await?;
    shutdown.cancel();
    while workers.join_next().await.is_some() {}
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

struct Bar(indicatif::ProgressBar);

impl reconcile::Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn inc(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

async fn reconcile_once(state: &AppState, since: Duration, dry_run: bool) -> anyhow::Result<ExitCode> {
    let options = reconcile::Options { since, dry_run, trigger: app::domain::Actor::CommandLine };
    let terminal = std::io::stdout().is_terminal();
    let report = if terminal {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} échéances ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        reconcile::run(state, &options, &Bar(bar)).await
    } else {
        reconcile::run(state, &options, &reconcile::Silent).await
    };
    let report = match report {
        Ok(r) => r,
        Err(reconcile::ReconcileError::AlreadyRunning) => {
            eprintln!("a reconciliation is already running on another instance");
            return Ok(ExitCode::from(3));
        }
        Err(e) => return Err(e.into()),
    };
    println!("reconcile{}: {}, drift {}", if dry_run { " (dry run)" } else { "" }, report.counts, report.drift.len());
    for d in &report.drift {
        println!(
            "  échéance {}: here {} / Stripe {} -> {}{}",
            d.echeance_id,
            d.local,
            d.stripe,
            d.resolved,
            if d.fixed { " (fixed)" } else { "" }
        );
    }
    Ok(if report.counts.errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Today, in the schedule's time zone.
fn today_of(state: &AppState) -> NaiveDate {
    state.clock.now().with_timezone(&state.settings.schedule_timezone).date_naive()
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3w").is_err());
    }
}
