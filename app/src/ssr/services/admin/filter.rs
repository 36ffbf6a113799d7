//! The dashboard's filter: parsed from the form (a field-level reason when a
//! value does not parse), applied to the échéance query.

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, Condition, DbBackend, ExprTrait, QueryFilter, QuerySelect, RelationTrait, Select};

use crate::api::dto::AdminFilter;
use crate::domain::{Amount, EcheanceStatus, Field, Invalid};
use crate::ssr::entities::{charge_attempt, echeance, user};
use crate::ssr::services::error::ServiceError;

/// A parsed filter.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    status: Option<EcheanceStatus>,
    customer: Option<String>,
    due_from: Option<NaiveDate>,
    due_to: Option<NaiveDate>,
    amount_min: Option<i64>,
    amount_max: Option<i64>,
    q: Option<String>,
}

fn clean(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

fn cents_to_form(cents: i64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

impl Filter {
    /// Parses the form's values.
    ///
    /// # Errors
    /// `Invalid` naming the field that does not parse, or an inverted date range.
    pub fn parse(form: &AdminFilter) -> Result<Self, ServiceError> {
        let date = |v: &Option<String>, field: Field| -> Result<Option<NaiveDate>, Invalid> {
            clean(v).map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| Invalid::Field(field))).transpose()
        };
        let amount = |v: &Option<String>, field: Field| -> Result<Option<i64>, Invalid> {
            clean(v)
                .map(|a| Amount::parse_decimal(&a).map(Amount::minor).map_err(|_| Invalid::Field(field)))
                .transpose()
        };
        let filter = Self {
            status: clean(&form.status)
                .map(|s| s.parse::<EcheanceStatus>().map_err(|_| Invalid::Field(Field::Status)))
                .transpose()?,
            customer: clean(&form.customer),
            due_from: date(&form.due_from, Field::DueFrom)?,
            due_to: date(&form.due_to, Field::DueTo)?,
            amount_min: amount(&form.amount_min, Field::AmountMin)?,
            amount_max: amount(&form.amount_max, Field::AmountMax)?,
            q: clean(&form.q),
        };
        if let (Some(from), Some(to)) = (filter.due_from, filter.due_to)
            && from > to
        {
            return Err(Invalid::DateRangeInverted.into());
        }
        Ok(filter)
    }

    /// Back to the form's shape, normalised.
    #[must_use]
    pub fn to_form(&self) -> AdminFilter {
        AdminFilter {
            status: self.status.map(|s| s.as_str().to_owned()),
            customer: self.customer.clone(),
            due_from: self.due_from.map(|d| d.to_string()),
            due_to: self.due_to.map(|d| d.to_string()),
            amount_min: self.amount_min.map(cents_to_form),
            amount_max: self.amount_max.map(cents_to_form),
            q: self.q.clone(),
        }
    }

    /// The status asked for, if any.
    #[must_use]
    pub const fn status(&self) -> Option<EcheanceStatus> {
        self.status
    }

    /// Nothing but a status is asked for: the totals by status, which ignore
    /// it, are those of every échéance.
    #[must_use]
    pub const fn is_status_only(&self) -> bool {
        self.customer.is_none()
            && self.due_from.is_none()
            && self.due_to.is_none()
            && self.amount_min.is_none()
            && self.amount_max.is_none()
            && self.q.is_none()
    }

    /// The échéances joined to their customer under this filter, each text
    /// condition a `LOWER(column) LIKE` on the joined rows (the export, which
    /// writes the customer's columns); without the status condition when
    /// `with_status` is false (the totals by status).
    #[must_use]
    pub fn apply(&self, query: Select<echeance::Entity>, with_status: bool) -> Select<echeance::Entity> {
        let query = query.join(sea_orm::JoinType::InnerJoin, echeance::Relation::User.def());
        self.conditions(query, with_status, Text::Joined)
    }

    /// The same échéances, read from the échéances alone: the customer's
    /// columns through a subquery on `users`, and on SQLite every text
    /// condition through the trigram indexes kept beside the tables (a
    /// substring found without reading every row; see the migration
    /// `dashboard_search`). What counts and pages the dashboard reads this.
    #[must_use]
    pub fn narrow(
        &self,
        query: Select<echeance::Entity>,
        with_status: bool,
        backend: DbBackend,
    ) -> Select<echeance::Entity> {
        let text = if backend == DbBackend::Sqlite { Text::Trigrams } else { Text::Subquery };
        self.conditions(query, with_status, text)
    }

    fn conditions(
        &self,
        mut query: Select<echeance::Entity>,
        with_status: bool,
        text: Text,
    ) -> Select<echeance::Entity> {
        if with_status && let Some(status) = self.status {
            query = query.filter(echeance::Column::Status.eq(status));
        }
        if let Some(customer) = &self.customer {
            query = query.filter(text.customer(&Needle::new(customer)));
        }
        if let Some(from) = self.due_from {
            query = query.filter(echeance::Column::DueDate.gte(from));
        }
        if let Some(to) = self.due_to {
            query = query.filter(echeance::Column::DueDate.lte(to));
        }
        if let Some(min) = self.amount_min {
            query = query.filter(echeance::Column::AmountCents.gte(min));
        }
        if let Some(max) = self.amount_max {
            query = query.filter(echeance::Column::AmountCents.lte(max));
        }
        if let Some(q) = &self.q {
            let needle = Needle::new(q);
            let mut any = Condition::any()
                .add(text.label(&needle))
                .add(text.customer(&needle))
                .add(echeance::Column::CurrentPaymentIntentId.eq(q.as_str()))
                // Any attempt's, not only the current one's: an earlier attempt may be the one that paid.
                .add(
                    echeance::Column::Id.in_subquery(
                        Query::select()
                            .column(charge_attempt::Column::EcheanceId)
                            .from(charge_attempt::Entity)
                            .and_where(charge_attempt::Column::PaymentIntentId.eq(q.as_str()))
                            .to_owned(),
                    ),
                );
            if let Ok(id) = q.trim_start_matches('#').parse::<i64>() {
                any = any.add(echeance::Column::Id.eq(id));
            }
            query = query.filter(any);
        }
        query
    }
}

/// A searched text, lower-cased, found anywhere in a column: a `%`, `_` or `\` in it is looked
/// for as itself, not as `LIKE`'s wildcard or PostgreSQL's escape (« 100% » does not find
/// « 1000 », « jean_d » not « jean-d »).
struct Needle(String);

impl Needle {
    /// `LIKE`'s escape character where one is needed: `\` means something of its own to
    /// PostgreSQL's `LIKE` and nothing to SQLite's. ASCII: sea-query writes it as one byte.
    const ESCAPE: char = '!';

    fn new(text: &str) -> Self {
        Self(text.to_lowercase())
    }

    /// `%text%` for a `LIKE` without `ESCAPE` (the pattern SQLite's trigram indexes answer),
    /// when both engines read it as the text itself: no `%`, `_` or `\` in it.
    fn plain(&self) -> Option<String> {
        (!self.0.contains(['%', '_', '\\'])).then(|| format!("%{}%", self.0))
    }

    /// `LOWER(column)` holds the text.
    fn in_lower(&self, column: (impl sea_orm::sea_query::IntoIden, impl sea_orm::sea_query::IntoIden)) -> Expr {
        let lower = Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(column)));
        match self.plain() {
            Some(pattern) => lower.like(pattern),
            None => {
                let mut pattern = String::from("%");
                for c in self.0.chars() {
                    if matches!(c, '%' | '_') || c == Self::ESCAPE {
                        pattern.push(Self::ESCAPE);
                    }
                    pattern.push(c);
                }
                pattern.push('%');
                lower.like(sea_orm::sea_query::LikeExpr::new(pattern).escape(Self::ESCAPE))
            }
        }
    }
}

/// How a text condition reads its column. The three give the same rows: SQLite's
/// `LIKE` ignores ASCII case, as `LOWER` does, and its trigram index answers
/// `LIKE` exactly (with a scan of the index when the text has fewer than three
/// characters); `each_dashboard_view_shows_what_the_whole_joined_query_holds` checks it.
/// A text holding `%`, `_` or `\` is read as `Subquery` reads it (a `LIKE … ESCAPE` is not one
/// the trigram index answers).
#[derive(Clone, Copy)]
enum Text {
    /// On the customer joined to the échéance.
    Joined,
    /// The customer's columns in a subquery on `users`.
    Subquery,
    /// SQLite's trigram indexes `echeance_search` and `user_search`.
    Trigrams,
}

impl Text {
    /// The échéance's label holds the text.
    fn label(self, needle: &Needle) -> Condition {
        match (self, needle.plain()) {
            (Self::Trigrams, Some(pattern)) => Condition::all().add(Expr::cust_with_values(
                r#""echeances"."id" IN (SELECT rowid FROM echeance_search WHERE label LIKE ?)"#,
                [pattern],
            )),
            _ => Condition::all().add(needle.in_lower((echeance::Entity, echeance::Column::Label))),
        }
    }

    /// The customer's email or name holds the text.
    fn customer(self, needle: &Needle) -> Condition {
        match (self, needle.plain()) {
            (Self::Joined, _) => user_matches(needle),
            (Self::Trigrams, Some(pattern)) => Condition::all().add(Expr::cust_with_values(
                r#""echeances"."user_id" IN (SELECT rowid FROM user_search WHERE email LIKE ?
                   UNION SELECT rowid FROM user_search WHERE display_name LIKE ?)"#,
                [pattern.clone(), pattern],
            )),
            (Self::Subquery | Self::Trigrams, _) => Condition::all().add(echeance::Column::UserId.in_subquery(
                Query::select().column(user::Column::Id).from(user::Entity).cond_where(user_matches(needle)).to_owned(),
            )),
        }
    }
}

/// The row of `users` (joined, or in a subquery) whose email or name holds the text.
fn user_matches(needle: &Needle) -> Condition {
    Condition::any()
        .add(needle.in_lower((user::Entity, user::Column::Email)))
        .add(needle.in_lower((user::Entity, user::Column::DisplayName)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_or_name_the_bad_field() {
        let ok = Filter::parse(&AdminFilter {
            amount_min: Some("12,5".into()),
            due_from: Some("2026-01-01".into()),
            ..Default::default()
        });
        assert!(ok.is_ok());
        let bad = Filter::parse(&AdminFilter { due_from: Some("01/01/2026".into()), ..Default::default() });
        assert!(matches!(bad, Err(ServiceError::Invalid(Invalid::Field(Field::DueFrom)))));
        let bad = Filter::parse(&AdminFilter { status: Some("paid".into()), ..Default::default() });
        assert!(matches!(bad, Err(ServiceError::Invalid(Invalid::Field(Field::Status)))));
        let inverted = Filter::parse(&AdminFilter {
            due_from: Some("2026-02-01".into()),
            due_to: Some("2026-01-01".into()),
            ..Default::default()
        });
        assert!(matches!(inverted, Err(ServiceError::Invalid(Invalid::DateRangeInverted))));
    }
}
