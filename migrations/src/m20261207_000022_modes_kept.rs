//! Test or live, kept with what belongs to a mode, as Stripe keeps it:
//! - an `Idempotency-Key` of the host API belongs to the installation's mode, not to the API key
//!   that sent it (a host that retries a creation after replacing its key gets the first answer,
//!   not a second plan); the rows kept so far take their key's mode, the ones past the day they
//!   are replayed for go (as they would at their next use), and where two keys of one mode used
//!   the same idempotency key, the first request that has an answer keeps it (the one replayed
//!   from now on; one still without an answer would let a retry run again);
//! - a plan keeps the mode it was made in, and a host event the mode of its plan: an event
//!   queued with test keys and delivered after the switch to live keys still says
//!   `"livemode": false`. Plans made before this migration take the mode in use when an instance
//!   of this version starts (`keys::keep_mode_of_older`); the events written before it have
//!   none: sent in the mode in use, as before (those of an échéance of no plan had none too,
//!   until the version of migration 24 gave them the mode in use when written).

use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{string, string_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiRequests {
    Table,
    Mode,
    IdempotencyKey,
    ApiKeyId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PaymentPlans {
    Table,
    Mode,
}

#[derive(DeriveIden)]
enum HostEvents {
    Table,
    Mode,
}

/// How long an answer is replayed (`host_api::idempotency`'s retention).
const REPLAYED_FOR_MS: i64 = 24 * 3_600_000;

const BY_KEY: &str = "ux_api_requests_key_idempotency";
const BY_MODE: &str = "ux_api_requests_mode_idempotency";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing, like the others.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiRequests::Table)
                    .add_column(string(ApiRequests::Mode).default("test"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE api_requests SET mode = (SELECT api_keys.mode FROM api_keys WHERE api_keys.id = api_requests.api_key_id)",
        )
        .await?;
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let day_ago = <i64 as TryFrom<u128>>::try_from(now_ms).unwrap_or(i64::MAX).saturating_sub(REPLAYED_FOR_MS);
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(ApiRequests::Table)
                    .and_where(Expr::col(ApiRequests::CreatedAt).lt(day_ago))
                    .to_owned(),
            )
            .await?;
        // Of two rows of one mode and key, the one kept: answered first, then the earlier.
        db.execute_unprepared(
            "DELETE FROM api_requests WHERE EXISTS (SELECT 1 FROM api_requests AS other \
             WHERE other.mode = api_requests.mode AND other.idempotency_key = api_requests.idempotency_key \
             AND other.id <> api_requests.id \
             AND ((other.response_status IS NOT NULL AND api_requests.response_status IS NULL) \
                  OR ((other.response_status IS NULL) = (api_requests.response_status IS NULL) \
                      AND other.id < api_requests.id)))",
        )
        .await?;
        manager.drop_index(Index::drop().name(BY_KEY).table(ApiRequests::Table).to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_MODE)
                    .table(ApiRequests::Table)
                    .col(ApiRequests::Mode)
                    .col(ApiRequests::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(PaymentPlans::Table).add_column(string_null(PaymentPlans::Mode)).to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(HostEvents::Table).add_column(string_null(HostEvents::Mode)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(HostEvents::Table).drop_column(HostEvents::Mode).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(PaymentPlans::Table).drop_column(PaymentPlans::Mode).to_owned())
            .await?;
        manager.drop_index(Index::drop().name(BY_MODE).table(ApiRequests::Table).to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_KEY)
                    .table(ApiRequests::Table)
                    .col(ApiRequests::ApiKeyId)
                    .col(ApiRequests::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager.alter_table(Table::alter().table(ApiRequests::Table).drop_column(ApiRequests::Mode).to_owned()).await
    }
}
