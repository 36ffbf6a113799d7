//! First form of the schema, for the whole product.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppSettings {
    Table,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    DisplayName,
    Locale,
    StripeCustomerId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum LoginAttempts {
    Table,
    Id,
    Email,
    Ip,
    Succeeded,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PaymentMethods {
    Table,
    Id,
    UserId,
    StripePaymentMethodId,
    Brand,
    Last4,
    ExpMonth,
    ExpYear,
    IsDefault,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SetupRequests {
    Table,
    Id,
    UserId,
    IdempotencyKey,
    StripeSetupIntentId,
    Status,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Plans {
    Table,
    Id,
    Name,
    TotalAmountCents,
    Installments,
    Currency,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    UserId,
    PlanId,
    Status,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Echeances {
    Table,
    Id,
    SubscriptionId,
    UserId,
    Label,
    AmountCents,
    Currency,
    DueDate,
    Status,
    CurrentAttemptNo,
    CurrentPaymentIntentId,
    CheckoutSessionId,
    SoftDeclines,
    NextRetryAt,
    Version,
    PaidAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ChargeAttempts {
    Table,
    Id,
    EcheanceId,
    AttemptNo,
    IdempotencyKey,
    Trigger,
    AmountCents,
    Currency,
    StripeCustomerId,
    PaymentMethodId,
    PaymentIntentId,
    ClientSecret,
    Outcome,
    ErrorCode,
    DeclineCode,
    ErrorMessage,
    StripeCalls,
    RearmCount,
    StartedAt,
    LastSentAt,
    NextCheckAt,
    TokenExpiresAt,
    FinishedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StripeEvents {
    Table,
    Id,
    StripeEventId,
    EventType,
    Livemode,
    CreatedUnix,
    Payload,
    PaymentIntentId,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    Note,
    ReceivedAt,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum EmailTemplates {
    Table,
    Id,
    Kind,
    Locale,
    Subject,
    HtmlBody,
    TextBody,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    DedupKey,
    Kind,
    Locale,
    ToAddress,
    UserId,
    EcheanceId,
    Context,
    Status,
    Attempts,
    SendAfter,
    NextAttemptAt,
    LockedUntil,
    LastError,
    SentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    EcheanceId,
    FromStatus,
    ToStatus,
    Event,
    Cause,
    Actor,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum JobLeases {
    Table,
    Name,
    Holder,
    AcquiredAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ReconcileReports {
    Table,
    Id,
    Trigger,
    DryRun,
    Status,
    StartedAt,
    FinishedAt,
    Checked,
    Fixed,
    Unchanged,
    Errors,
    StripeCalls,
    EventsReplayed,
    Drift,
    ErrorMessages,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .on_update(ForeignKeyAction::NoAction)
        .to_owned()
}

pub(crate) async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.if_not_exists().name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    if unique {
        stmt.unique();
    }
    manager.create_index(stmt.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on SQLite too (its DDL is transactional): one connection applies
    /// the whole migration, and a crash never leaves it half done.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AppSettings::Table)
                    .if_not_exists()
                    .col(string(AppSettings::Key).primary_key())
                    .col(text(AppSettings::Value))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Users::Id))
                    .col(string_uniq(Users::Email))
                    .col(string(Users::PasswordHash))
                    .col(string(Users::Role))
                    .col(string(Users::DisplayName))
                    .col(string(Users::Locale))
                    .col(string_null(Users::StripeCustomerId))
                    .col(big_integer(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .if_not_exists()
                    .col(string(Sessions::Id).primary_key())
                    .col(big_integer(Sessions::UserId))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::ExpiresAt))
                    .foreign_key(&mut fk(
                        "fk_sessions_user",
                        (Sessions::Table, Sessions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_sessions_user", Sessions::Table, &["user_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(LoginAttempts::Id))
                    .col(string(LoginAttempts::Email))
                    .col(string(LoginAttempts::Ip))
                    .col(boolean(LoginAttempts::Succeeded))
                    .col(big_integer(LoginAttempts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_login_attempts_email_time", LoginAttempts::Table, &["email", "created_at"], false).await?;
        index(manager, "ix_login_attempts_ip_time", LoginAttempts::Table, &["ip", "created_at"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(PaymentMethods::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PaymentMethods::Id))
                    .col(big_integer(PaymentMethods::UserId))
                    .col(string_uniq(PaymentMethods::StripePaymentMethodId))
                    .col(string(PaymentMethods::Brand))
                    .col(string(PaymentMethods::Last4))
                    .col(integer(PaymentMethods::ExpMonth))
                    .col(integer(PaymentMethods::ExpYear))
                    .col(boolean(PaymentMethods::IsDefault))
                    .col(big_integer(PaymentMethods::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_payment_methods_user",
                        (PaymentMethods::Table, PaymentMethods::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_payment_methods_user", PaymentMethods::Table, &["user_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(SetupRequests::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SetupRequests::Id))
                    .col(big_integer(SetupRequests::UserId))
                    .col(string_null(SetupRequests::IdempotencyKey))
                    .col(string_null(SetupRequests::StripeSetupIntentId))
                    .col(string(SetupRequests::Status))
                    .col(big_integer(SetupRequests::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_setup_requests_user",
                        (SetupRequests::Table, SetupRequests::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_setup_requests_user", SetupRequests::Table, &["user_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(Plans::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Plans::Id))
                    .col(string(Plans::Name))
                    .col(big_integer(Plans::TotalAmountCents))
                    .col(integer(Plans::Installments))
                    .col(string(Plans::Currency))
                    .col(big_integer(Plans::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Subscriptions::Id))
                    .col(big_integer(Subscriptions::UserId))
                    .col(big_integer(Subscriptions::PlanId))
                    .col(string(Subscriptions::Status))
                    .col(big_integer(Subscriptions::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_subscriptions_user",
                        (Subscriptions::Table, Subscriptions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_subscriptions_plan",
                        (Subscriptions::Table, Subscriptions::PlanId),
                        (Plans::Table, Plans::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Echeances::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Echeances::Id))
                    .col(big_integer_null(Echeances::SubscriptionId))
                    .col(big_integer(Echeances::UserId))
                    .col(string(Echeances::Label))
                    .col(big_integer(Echeances::AmountCents).check(Expr::col(Echeances::AmountCents).gt(0)))
                    .col(string(Echeances::Currency))
                    .col(date(Echeances::DueDate))
                    .col(string(Echeances::Status))
                    .col(integer(Echeances::CurrentAttemptNo).default(0))
                    .col(string_null(Echeances::CurrentPaymentIntentId))
                    .col(string_null(Echeances::CheckoutSessionId))
                    .col(integer(Echeances::SoftDeclines).default(0))
                    .col(big_integer_null(Echeances::NextRetryAt))
                    .col(big_integer(Echeances::Version).default(0))
                    .col(big_integer_null(Echeances::PaidAt))
                    .col(big_integer(Echeances::CreatedAt))
                    .col(big_integer(Echeances::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_echeances_user",
                        (Echeances::Table, Echeances::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_echeances_subscription",
                        (Echeances::Table, Echeances::SubscriptionId),
                        (Subscriptions::Table, Subscriptions::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // The dashboard filters on status, customer, due date and amount; the engine looks up by PaymentIntent.
        index(manager, "ix_echeances_status_due", Echeances::Table, &["status", "due_date"], false).await?;
        index(manager, "ix_echeances_user_due", Echeances::Table, &["user_id", "due_date"], false).await?;
        index(manager, "ix_echeances_due", Echeances::Table, &["due_date"], false).await?;
        index(manager, "ix_echeances_amount", Echeances::Table, &["amount_cents"], false).await?;
        index(manager, "ix_echeances_pi", Echeances::Table, &["current_payment_intent_id"], false).await?;
        index(manager, "ix_echeances_checkout", Echeances::Table, &["checkout_session_id"], false).await?;
        index(manager, "ix_echeances_retry", Echeances::Table, &["status", "next_retry_at"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(ChargeAttempts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ChargeAttempts::Id))
                    .col(big_integer(ChargeAttempts::EcheanceId))
                    .col(integer(ChargeAttempts::AttemptNo))
                    .col(string_uniq(ChargeAttempts::IdempotencyKey))
                    .col(string(ChargeAttempts::Trigger))
                    .col(big_integer(ChargeAttempts::AmountCents))
                    .col(string(ChargeAttempts::Currency))
                    .col(string(ChargeAttempts::StripeCustomerId))
                    .col(string(ChargeAttempts::PaymentMethodId))
                    .col(string_null(ChargeAttempts::PaymentIntentId))
                    .col(string_null(ChargeAttempts::ClientSecret))
                    .col(string(ChargeAttempts::Outcome))
                    .col(string_null(ChargeAttempts::ErrorCode))
                    .col(string_null(ChargeAttempts::DeclineCode))
                    .col(text_null(ChargeAttempts::ErrorMessage))
                    .col(integer(ChargeAttempts::StripeCalls).default(0))
                    .col(integer(ChargeAttempts::RearmCount).default(0))
                    .col(big_integer(ChargeAttempts::StartedAt))
                    .col(big_integer_null(ChargeAttempts::LastSentAt))
                    .col(big_integer_null(ChargeAttempts::NextCheckAt))
                    .col(big_integer_null(ChargeAttempts::TokenExpiresAt))
                    .col(big_integer_null(ChargeAttempts::FinishedAt))
                    .col(big_integer(ChargeAttempts::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_charge_attempts_echeance",
                        (ChargeAttempts::Table, ChargeAttempts::EcheanceId),
                        (Echeances::Table, Echeances::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(manager, "ux_charge_attempts_echeance_no", ChargeAttempts::Table, &["echeance_id", "attempt_no"], true)
            .await?;
        index(manager, "ix_charge_attempts_pi", ChargeAttempts::Table, &["payment_intent_id"], false).await?;
        index(manager, "ix_charge_attempts_outcome_check", ChargeAttempts::Table, &["outcome", "next_check_at"], false)
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(StripeEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(StripeEvents::Id))
                    .col(string_uniq(StripeEvents::StripeEventId))
                    .col(string(StripeEvents::EventType))
                    .col(boolean(StripeEvents::Livemode))
                    .col(big_integer(StripeEvents::CreatedUnix))
                    .col(text(StripeEvents::Payload))
                    .col(string_null(StripeEvents::PaymentIntentId))
                    .col(string(StripeEvents::Status))
                    .col(integer(StripeEvents::Attempts).default(0))
                    .col(big_integer(StripeEvents::NextAttemptAt))
                    .col(big_integer_null(StripeEvents::LockedUntil))
                    .col(text_null(StripeEvents::LastError))
                    .col(text_null(StripeEvents::Note))
                    .col(big_integer(StripeEvents::ReceivedAt))
                    .col(big_integer_null(StripeEvents::ProcessedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_stripe_events_queue", StripeEvents::Table, &["status", "next_attempt_at"], false).await?;
        index(manager, "ix_stripe_events_pi", StripeEvents::Table, &["payment_intent_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailTemplates::Table)
                    .if_not_exists()
                    .col(big_pk_auto(EmailTemplates::Id))
                    .col(string(EmailTemplates::Kind))
                    .col(string(EmailTemplates::Locale))
                    .col(text(EmailTemplates::Subject))
                    .col(text(EmailTemplates::HtmlBody))
                    .col(text(EmailTemplates::TextBody))
                    .col(big_integer(EmailTemplates::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "ux_email_templates_kind_locale", EmailTemplates::Table, &["kind", "locale"], true).await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .if_not_exists()
                    .col(big_pk_auto(EmailOutbox::Id))
                    .col(string_uniq(EmailOutbox::DedupKey))
                    .col(string(EmailOutbox::Kind))
                    .col(string(EmailOutbox::Locale))
                    .col(string(EmailOutbox::ToAddress))
                    .col(big_integer_null(EmailOutbox::UserId))
                    .col(big_integer_null(EmailOutbox::EcheanceId))
                    .col(text(EmailOutbox::Context))
                    .col(string(EmailOutbox::Status))
                    .col(integer(EmailOutbox::Attempts).default(0))
                    .col(big_integer(EmailOutbox::SendAfter))
                    .col(big_integer(EmailOutbox::NextAttemptAt))
                    .col(big_integer_null(EmailOutbox::LockedUntil))
                    .col(text_null(EmailOutbox::LastError))
                    .col(big_integer_null(EmailOutbox::SentAt))
                    .col(big_integer(EmailOutbox::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_email_outbox_queue", EmailOutbox::Table, &["status", "next_attempt_at"], false).await?;
        index(manager, "ix_email_outbox_echeance", EmailOutbox::Table, &["echeance_id"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuditLog::Id))
                    .col(big_integer(AuditLog::EcheanceId))
                    .col(string_null(AuditLog::FromStatus))
                    .col(string(AuditLog::ToStatus))
                    .col(string(AuditLog::Event))
                    .col(string(AuditLog::Cause))
                    .col(string(AuditLog::Actor))
                    .col(text_null(AuditLog::Detail))
                    .col(big_integer(AuditLog::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_audit_echeance",
                        (AuditLog::Table, AuditLog::EcheanceId),
                        (Echeances::Table, Echeances::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_audit_log_echeance", AuditLog::Table, &["echeance_id", "created_at"], false).await?;

        manager
            .create_table(
                Table::create()
                    .table(JobLeases::Table)
                    .if_not_exists()
                    .col(string(JobLeases::Name).primary_key())
                    .col(string(JobLeases::Holder))
                    .col(big_integer(JobLeases::AcquiredAt))
                    .col(big_integer(JobLeases::ExpiresAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReconcileReports::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ReconcileReports::Id))
                    .col(string(ReconcileReports::Trigger))
                    .col(boolean(ReconcileReports::DryRun))
                    .col(string(ReconcileReports::Status))
                    .col(big_integer(ReconcileReports::StartedAt))
                    .col(big_integer_null(ReconcileReports::FinishedAt))
                    .col(integer(ReconcileReports::Checked).default(0))
                    .col(integer(ReconcileReports::Fixed).default(0))
                    .col(integer(ReconcileReports::Unchanged).default(0))
                    .col(integer(ReconcileReports::Errors).default(0))
                    .col(integer(ReconcileReports::StripeCalls).default(0))
                    .col(integer(ReconcileReports::EventsReplayed).default(0))
                    .col(text(ReconcileReports::Drift))
                    .col(text(ReconcileReports::ErrorMessages))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_reconcile_reports_started", ReconcileReports::Table, &["started_at"], false).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ReconcileReports::Table.into_iden(),
            JobLeases::Table.into_iden(),
            AuditLog::Table.into_iden(),
            EmailOutbox::Table.into_iden(),
            EmailTemplates::Table.into_iden(),
            StripeEvents::Table.into_iden(),
            ChargeAttempts::Table.into_iden(),
            Echeances::Table.into_iden(),
            Subscriptions::Table.into_iden(),
            Plans::Table.into_iden(),
            SetupRequests::Table.into_iden(),
            PaymentMethods::Table.into_iden(),
            LoginAttempts::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
            AppSettings::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
