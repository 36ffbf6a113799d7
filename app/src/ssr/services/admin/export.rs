//! The CSV export of the dashboard's current filter.

use sea_orm::{EntityTrait, QueryOrder};

use super::filter::Filter;
use super::list::row_of;
use crate::ssr::entities::{echeance, user};
use crate::ssr::repo::attempts;
use crate::ssr::services::error::ServiceError;
use crate::ssr::state::AppState;

/// The CSV of every row under `filter` (`;`-separated, as French spreadsheets
/// expect; the header and the status codes are the file's stable format).
///
/// # Errors
/// Database failure.
pub async fn export_csv(state: &AppState, filter: &Filter) -> Result<String, ServiceError> {
    let rows = filter
        .apply(echeance::Entity::find(), true)
        .order_by_asc(echeance::Column::DueDate)
        .order_by_asc(echeance::Column::Id)
        .select_also(user::Entity)
        .all(&state.db)
        .await?;
    let ids = rows.iter().map(|(e, _)| e.id).collect::<Vec<_>>();
    let mut paid_by = attempts::paying_payment_intents(&state.db, &ids).await?;
    let mut out = String::from("\u{feff}id;libelle;client;email;montant;devise;echeance;statut;payment_intent\r\n");
    for (e, u) in rows {
        let paid_by = paid_by.remove(&e.id);
        let row = row_of(e, u, paid_by)?;
        let cells = [
            row.id.to_string(),
            row.label,
            row.customer.name,
            row.customer.email,
            format!("{},{:02}", row.money.amount.minor() / 100, row.money.amount.minor() % 100),
            row.money.currency.code().to_uppercase(),
            row.due_date.to_string(),
            row.status.as_str().to_owned(),
            row.payment_intent.unwrap_or_default(),
        ];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    Ok(out)
}

/// Quotes a cell when needed and defuses spreadsheet formulas.
fn csv_cell(value: &str) -> String {
    let defused =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if defused.contains([';', '"', '\n', '\r']) { format!("\"{}\"", defused.replace('"', "\"\"")) } else { defused }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("Alice"), "Alice");
        assert_eq!(csv_cell("a;b"), "\"a;b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-5"), "'-5");
    }
}
