//! Listing the window's PaymentIntents in slices side by side.
//!
//! One cursor walks a list page after page, each a round trip to Stripe: at
//! month-end that is a thousand pages one after the other. Stripe lists by
//! `created`, so the window is cut into contiguous slices, each walked by its
//! own cursor, all at once; the adapter's per-endpoint limiter keeps them
//! within Stripe's rate. Where to cut comes from this database: the attempts
//! started in the window, which are most of what Stripe will list, so each
//! slice holds about as many pages. The cuts only balance the work: the slices
//! cover the whole window whatever they are, so a PaymentIntent this database
//! never heard of is listed too.

use futures::stream::{self, StreamExt};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::ssr::entities::charge_attempt;
use crate::ssr::payments::GatewayError;
use crate::ssr::payments::types::{CreatedRange, PaymentIntentSnapshot};
use crate::ssr::state::AppState;

/// Slices listed at once, at most.
pub const MAX_SLICES: usize = 8;

/// A slice is worth its own cursor from this many attempts on (16 pages of
/// 100): cutting costs up to one page that is not full per slice.
pub const ATTEMPTS_PER_SLICE: usize = 1_600;

/// What the listing found, the calls it made and the errors it met.
#[derive(Debug, Default)]
pub struct Listing {
    /// Every PaymentIntent listed, each once.
    pub payment_intents: Vec<PaymentIntentSnapshot>,
    /// Calls made to Stripe.
    pub calls: u32,
    /// Slices that could not be listed to their end.
    pub errors: Vec<GatewayError>,
}

/// Cuts the window that starts at `window_start` (Unix seconds) so that each
/// slice holds about as many of `started_ms` (our attempts' start times in
/// the window, milliseconds, in ascending order): one slice per `per_slice`
/// of them, at least one, at most [`MAX_SLICES`].
/// The slices are contiguous, the first starts at `window_start` and the last
/// has no end.
#[must_use]
pub fn cut(window_start: i64, started_ms: &[i64], per_slice: usize) -> Vec<CreatedRange> {
    let n = started_ms.len();
    let slices = (n / per_slice.max(1)).clamp(1, MAX_SLICES);
    let mut bounds: Vec<i64> = (1..slices).map(|k| started_ms[k * n / slices].div_euclid(1000)).collect();
    bounds.retain(|b| *b > window_start);
    bounds.dedup();
    let mut ranges = Vec::with_capacity(bounds.len() + 1);
    let mut gte = window_start;
    for lt in bounds {
        ranges.push(CreatedRange { gte, lt: Some(lt) });
        gte = lt;
    }
    ranges.push(CreatedRange::since(gte));
    ranges
}

/// Lists every PaymentIntent created since `window_start`, in slices of
/// about `per_slice` of the attempts this database started in the window
/// ([`ATTEMPTS_PER_SLICE`] for the reconciler).
///
/// # Errors
/// The database failing to say where to cut.
pub async fn list(state: &AppState, window_start: i64, per_slice: usize) -> Result<Listing, sea_orm::DbErr> {
    let started_ms: Vec<i64> = charge_attempt::Entity::find()
        .select_only()
        .column(charge_attempt::Column::StartedAt)
        .filter(charge_attempt::Column::StartedAt.gte(window_start.saturating_mul(1000)))
        .order_by_asc(charge_attempt::Column::StartedAt)
        .into_tuple()
        .all(&state.db)
        .await?;
    let slices = cut(window_start, &started_ms, per_slice);
    let walked: Vec<Listing> =
        stream::iter(slices).map(|slice| walk(state, slice)).buffer_unordered(MAX_SLICES).collect().await;
    let mut listing = Listing::default();
    for part in walked {
        listing.payment_intents.extend(part.payment_intents);
        listing.calls += part.calls;
        listing.errors.extend(part.errors);
    }
    Ok(listing)
}

/// One slice, page after page; stops at the first error with what it has.
async fn walk(state: &AppState, slice: CreatedRange) -> Listing {
    let mut listing = Listing::default();
    let mut after: Option<String> = None;
    loop {
        listing.calls += 1;
        match state.gateway.list_payment_intents(slice, None, after.as_deref()).await {
            Ok(page) => {
                let last = page.data.last().map(|p| p.id.clone());
                listing.payment_intents.extend(page.data);
                match (page.has_more, last) {
                    (true, Some(last)) => after = Some(last),
                    _ => return listing,
                }
            }
            Err(e) => {
                listing.errors.push(e);
                return listing;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_window_with_few_attempts_is_one_slice_from_its_start() {
        assert_eq!(cut(1_000, &[], ATTEMPTS_PER_SLICE), vec![CreatedRange::since(1_000)]);
        let few: Vec<i64> = (0..3_199).map(|i| 1_000_000 + i * 10).collect();
        assert_eq!(cut(1_000, &few, ATTEMPTS_PER_SLICE), vec![CreatedRange::since(1_000)]);
    }

    #[test]
    fn a_month_end_burst_is_cut_where_the_attempts_are() {
        // 100,000 attempts in the last hour of a day-long window.
        let start = 1_700_000_000;
        let burst: Vec<i64> = (0..100_000).map(|i| (start + 82_800) * 1000 + i * 36).collect();
        let slices = cut(start, &burst, ATTEMPTS_PER_SLICE);
        assert_eq!(slices.len(), MAX_SLICES);
        assert_eq!(slices[0], CreatedRange { gte: start, lt: Some(start + 82_800 + 450) });
        assert!(slices[1..].iter().all(|s| s.gte >= start + 82_800));
        for slice in &slices {
            let held = burst
                .iter()
                .filter(|ms| **ms / 1000 >= slice.gte && slice.lt.is_none_or(|lt| **ms / 1000 < lt))
                .count();
            assert!((12_450..=12_550).contains(&held), "{held} in {slice:?}");
        }
    }

    proptest! {
        #[test]
        fn the_slices_cover_the_window_without_gap_or_overlap(
            window_start in 0_i64..2_000_000_000,
            mut offsets in proptest::collection::vec(0_i64..200_000_000, 0..40_000),
        ) {
            offsets.sort_unstable();
            let started: Vec<i64> = offsets.iter().map(|o| window_start * 1000 + o).collect();
            let slices = cut(window_start, &started, ATTEMPTS_PER_SLICE);
            prop_assert!(!slices.is_empty() && slices.len() <= MAX_SLICES);
            prop_assert!(slices.len() <= (started.len() / ATTEMPTS_PER_SLICE).clamp(1, MAX_SLICES));
            prop_assert_eq!(slices[0].gte, window_start);
            prop_assert_eq!(slices.last().and_then(|s| s.lt), None);
            for pair in slices.windows(2) {
                prop_assert_eq!(pair[0].lt, Some(pair[1].gte));
                prop_assert!(pair[0].gte < pair[1].gte);
            }
        }
    }
}
