//! `email_templates`: subject, HTML and text bodies per (kind, locale).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_templates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: String,
    pub locale: String,
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub html_body: String,
    #[sea_orm(column_type = "Text")]
    pub text_body: String,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
