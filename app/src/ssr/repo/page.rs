//! Paging a list: how many rows a page skips, when a database can skip that many.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QuerySelect, Select};

/// The rows page `page` (from 0) of `per_page` skips, or `None` past what a database can skip
/// (an `OFFSET` is a signed 64-bit number on both engines): such a page is empty, never a panic
/// in the driver's conversion.
#[must_use]
pub fn offset(page: u64, per_page: u64) -> Option<u64> {
    page.checked_mul(per_page).filter(|o| i64::try_from(*o).is_ok())
}

/// Page `page` (from 0) of `select`, `per_page` rows, and whether another page follows (one row
/// more is read to know it); empty past what a database can skip ([`offset`]).
///
/// # Errors
/// Database failure.
pub async fn fetch<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<E::Model>, bool), DbErr> {
    let Some(offset) = offset(page, per_page) else { return Ok((Vec::new(), false)) };
    let mut rows = select.offset(offset).limit(per_page.saturating_add(1)).all(db).await?;
    let more = rows.len() as u64 > per_page;
    rows.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
    Ok((rows, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_past_a_signed_64_bit_offset_has_none() {
        assert_eq!(offset(0, 25), Some(0));
        assert_eq!(offset(3, 25), Some(75));
        assert_eq!(offset(u64::MAX, 25), None);
        assert_eq!(offset(u64::MAX / 50 + 1, 50), None);
        assert_eq!(offset(i64::MAX as u64 / 50, 50), Some(i64::MAX as u64 / 50 * 50));
    }
}
