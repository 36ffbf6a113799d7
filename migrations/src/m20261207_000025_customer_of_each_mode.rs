//! A customer's Stripe record and saved cards belong to a mode (test or live), as Stripe keeps
//! them: a customer made with the test keys is not there for the live keys ("No such customer"),
//! nor are its cards. So a customer has one Stripe record per mode (`stripe_customers`, which
//! replaces `users.stripe_customer_id`), and a saved card keeps the mode it was saved in
//! (`payment_methods.mode`). What was kept before takes the mode in use when the upgraded version
//! first starts (left empty here: the Stripe key is not the migration's to read).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string_null, string_uniq};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StripeCustomers {
    Table,
    Id,
    UserId,
    Mode,
    StripeCustomerId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    StripeCustomerId,
}

#[derive(DeriveIden)]
enum PaymentMethods {
    Table,
    Mode,
}

const ONE_A_MODE: &str = "ux_stripe_customers_user_mode";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StripeCustomers::Table)
                    .col(big_pk_auto(StripeCustomers::Id))
                    .col(big_integer(StripeCustomers::UserId))
                    .col(string_null(StripeCustomers::Mode))
                    .col(string_uniq(StripeCustomers::StripeCustomerId))
                    .col(big_integer(StripeCustomers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StripeCustomers::Table, StripeCustomers::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ONE_A_MODE)
                    .table(StripeCustomers::Table)
                    .col(StripeCustomers::UserId)
                    .col(StripeCustomers::Mode)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO stripe_customers (user_id, mode, stripe_customer_id, created_at) \
             SELECT id, NULL, stripe_customer_id, created_at FROM users WHERE stripe_customer_id IS NOT NULL",
        )
        .await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::StripeCustomerId).to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table(PaymentMethods::Table).add_column(string_null(PaymentMethods::Mode)).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(PaymentMethods::Table).drop_column(PaymentMethods::Mode).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Users::Table).add_column(string_null(Users::StripeCustomerId)).to_owned())
            .await?;
        // One record a customer: the test one where there are two (the earlier version knew no other).
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE users SET stripe_customer_id = (SELECT c.stripe_customer_id FROM stripe_customers c \
                 WHERE c.user_id = users.id ORDER BY CASE WHEN c.mode = 'live' THEN 1 ELSE 0 END, c.id LIMIT 1)",
            )
            .await?;
        manager.drop_table(Table::drop().table(StripeCustomers::Table).to_owned()).await
    }
}
