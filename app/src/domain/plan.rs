//! A plan's schedule (*échéancier*): a total split into dated échéances.
//! Pure: the dashboard's live preview (in the browser) and the server build
//! it with the same code, and the server checks it again.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::money::{Amount, AmountError, Currency, Money};

/// The most échéances one plan may have.
pub const MAX_ECHEANCES: usize = 48;

/// How far ahead of today an échéance may fall (48 monthly échéances starting a few years out
/// fit; a year typed as 9999 does not).
pub const MAX_YEARS_AHEAD: u32 = 10;

/// The latest due date a plan may hold, seen from `today`.
#[must_use]
pub fn latest_due(today: NaiveDate) -> NaiveDate {
    today.checked_add_months(chrono::Months::new(12 * MAX_YEARS_AHEAD)).unwrap_or(NaiveDate::MAX)
}

/// How far apart the échéances of a split plan fall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    /// Every seven days.
    Week,
    /// The same day each month, clamped to the end of shorter months.
    Month,
}

crate::spelled!(Interval { Week => "week", Month => "month" });

impl Interval {
    /// The `index`-th date after `first` (0 is `first`), always computed from
    /// `first` so that 31 January gives 28/29 February then 31 March.
    #[must_use]
    pub fn nth(self, first: NaiveDate, index: u32) -> Option<NaiveDate> {
        match self {
            Self::Week => first.checked_add_days(Days::new(7 * u64::from(index))),
            Self::Month => first.checked_add_months(Months::new(index)),
        }
    }
}

/// What a merchant asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScheduleRequest {
    /// A total in `count` échéances, `interval` apart from `first_due`.
    Split {
        /// The total, in minor units.
        total: i64,
        /// How many échéances.
        count: u32,
        /// The first due date.
        first_due: NaiveDate,
        /// How far apart.
        interval: Interval,
    },
    /// The échéances as given: (due date, amount in minor units), in order.
    Explicit(Vec<(NaiveDate, i64)>),
}

/// One échéance of a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installment {
    /// 1, 2, 3… in date order.
    pub seq: u32,
    /// When it is charged.
    pub due_date: NaiveDate,
    /// How much.
    pub amount: Amount,
}

/// A schedule that passed every check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    currency: Currency,
    installments: Vec<Installment>,
}

/// The part of a request a problem is about (the form puts the message beside
/// it; the API names it in `param`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanField {
    /// The currency.
    Currency,
    /// The total.
    Total,
    /// The number of échéances.
    Count,
    /// The first due date of a split plan.
    FirstDueDate,
    /// The interval of a split plan.
    Interval,
    /// The list of échéances as a whole.
    Echeances,
    /// The due date of the échéance with this sequence number.
    DueDate(u32),
    /// The amount of the échéance with this sequence number.
    Amount(u32),
}

/// What is wrong with a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanProblem {
    /// Not a currency this product collects in.
    UnsupportedCurrency,
    /// Zero or negative.
    NotPositive,
    /// Above what Stripe accepts for one charge.
    TooLarge,
    /// Under Stripe's minimum charge in the currency (the minimum is given).
    BelowMinimum(Money),
    /// No échéance, or more than [`MAX_ECHEANCES`].
    CountOutOfRange,
    /// Before today.
    InThePast,
    /// Not after the previous échéance's date.
    OutOfOrder,
    /// Moved out of the span between the previous échéance's date and the next one's.
    OutsideNeighbours,
    /// Beyond the calendar.
    DateOutOfRange,
    /// More than [`MAX_YEARS_AHEAD`] years after today.
    TooFarAhead,
    /// Not a number, a date or a choice that reads.
    Unreadable,
}

/// One refused field and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    /// Where.
    pub field: PlanField,
    /// Why.
    pub problem: PlanProblem,
}

/// Every problem found in a request, each on its field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("invalid schedule: {0:?}")]
pub struct ScheduleInvalid(pub Vec<FieldProblem>);

impl Schedule {
    /// Builds and checks a schedule. `today` is the merchant's today: no due
    /// date may be before it (today itself is allowed: charged at once).
    ///
    /// # Errors
    /// Every problem found, each on its field; nothing is built.
    pub fn build(currency: &str, request: &ScheduleRequest, today: NaiveDate) -> Result<Self, ScheduleInvalid> {
        let mut problems = Vec::new();
        let mut refuse = |field, problem| problems.push(FieldProblem { field, problem });
        let currency =
            Currency::parse(currency).map_err(|_| refuse(PlanField::Currency, PlanProblem::UnsupportedCurrency)).ok();
        let dated = match request {
            ScheduleRequest::Split { total, count, first_due, interval } => {
                split_request(*total, *count, *first_due, *interval, currency, today, &mut refuse)
            }
            ScheduleRequest::Explicit(list) => {
                if list.is_empty() || list.len() > MAX_ECHEANCES {
                    refuse(PlanField::Echeances, PlanProblem::CountOutOfRange);
                }
                list.clone()
            }
        };
        let mut installments = Vec::with_capacity(dated.len());
        let mut previous: Option<NaiveDate> = None;
        let latest = latest_due(today);
        for (seq, (due_date, amount)) in (1..).zip(dated) {
            if due_date < today {
                refuse(PlanField::DueDate(seq), PlanProblem::InThePast);
            } else if due_date > latest {
                refuse(PlanField::DueDate(seq), PlanProblem::TooFarAhead);
            } else if previous.is_some_and(|p| due_date <= p) {
                refuse(PlanField::DueDate(seq), PlanProblem::OutOfOrder);
            }
            previous = Some(due_date);
            match amount_problem(amount, currency) {
                Ok(amount) => installments.push(Installment { seq, due_date, amount }),
                Err(problem) => refuse(PlanField::Amount(seq), problem),
            }
        }
        match currency {
            Some(currency) if problems.is_empty() => Ok(Self { currency, installments }),
            _ => Err(ScheduleInvalid(problems)),
        }
    }

    /// The currency.
    #[must_use]
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The échéances, in date order.
    #[must_use]
    pub fn installments(&self) -> &[Installment] {
        &self.installments
    }

    /// What the échéances add up to, in minor units.
    #[must_use]
    pub fn total(&self) -> i64 {
        self.installments.iter().map(|i| i.amount.minor()).sum()
    }

    /// The first due date.
    #[must_use]
    pub fn first_due(&self) -> NaiveDate {
        self.installments[0].due_date
    }

    /// The last due date.
    #[must_use]
    pub fn last_due(&self) -> NaiveDate {
        self.installments[self.installments.len() - 1].due_date
    }

    /// The last échéance falls more than three months after the first: in
    /// France such a payment facility is consumer credit (Code de la
    /// consommation, art. L312-4), with the obligations that go with it.
    #[must_use]
    pub fn is_consumer_credit(&self) -> bool {
        spans_consumer_credit(self.first_due(), self.last_due())
    }
}

/// Whether échéances from `first` to `last` are consumer credit in France
/// (the last more than three months after the first: art. L312-4).
#[must_use]
pub fn spans_consumer_credit(first: NaiveDate, last: NaiveDate) -> bool {
    Interval::Month.nth(first, 3).is_some_and(|limit| last > limit)
}

/// An échéance's due date moved by an admin, as its history keeps it (a note of its audit log,
/// event [`Rescheduled::EVENT`], this as its JSON detail): the timeline says when it was to be
/// charged and when it is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rescheduled {
    /// The date it had.
    pub from: NaiveDate,
    /// The date it has.
    pub to: NaiveDate,
}

impl Rescheduled {
    /// The audit event that carries it.
    pub const EVENT: &'static str = "Rescheduled";
}

/// Checks moving échéance number `seq` (from 1) of a plan whose due dates are
/// `dates`, in order, to `to`: not before `today`, and still strictly between
/// its neighbours' dates (a plan's dates always strictly increase).
///
/// # Errors
/// The problem, on [`PlanField::DueDate`]`(seq)`.
pub fn check_move(dates: &[NaiveDate], seq: u32, to: NaiveDate, today: NaiveDate) -> Result<(), FieldProblem> {
    let problem = |problem| FieldProblem { field: PlanField::DueDate(seq), problem };
    let index = usize::try_from(seq).ok().and_then(|s| s.checked_sub(1)).filter(|&i| i < dates.len());
    let Some(index) = index else { return Err(problem(PlanProblem::Unreadable)) };
    if to < today {
        return Err(problem(PlanProblem::InThePast));
    }
    if to > latest_due(today) {
        return Err(problem(PlanProblem::TooFarAhead));
    }
    let after_previous = index == 0 || dates[index - 1] < to;
    let before_next = dates.get(index + 1).is_none_or(|next| to < *next);
    if after_previous && before_next { Ok(()) } else { Err(problem(PlanProblem::OutsideNeighbours)) }
}

/// The dated amounts of a split request. Its own fields are checked here and
/// named in the refusal (the total, the count, the first date), so that a form
/// that asks for those three never hears of an échéance it did not type.
fn split_request(
    total: i64,
    count: u32,
    first_due: NaiveDate,
    interval: Interval,
    currency: Option<Currency>,
    today: NaiveDate,
    refuse: &mut impl FnMut(PlanField, PlanProblem),
) -> Vec<(NaiveDate, i64)> {
    let mut problems = Vec::new();
    if total <= 0 {
        problems.push((PlanField::Total, PlanProblem::NotPositive));
    } else if let Some(problem) = currency.and_then(|c| below_minimum(total.min(Amount::MAX), c)) {
        problems.push((PlanField::Total, problem));
    }
    let total_fine = problems.is_empty();
    if count == 0 || count as usize > MAX_ECHEANCES {
        problems.push((PlanField::Count, PlanProblem::CountOutOfRange));
    } else if total_fine {
        // The smallest part is the last one, the largest the first (the cents left over go first).
        let smallest = total / i64::from(count);
        let largest = smallest + i64::from(total % i64::from(count) != 0);
        if largest > Amount::MAX {
            problems.push((PlanField::Total, PlanProblem::TooLarge));
        } else if let Some(problem) = currency.and_then(|c| below_minimum(smallest.clamp(1, Amount::MAX), c)) {
            problems.push((PlanField::Count, problem));
        }
    }
    if first_due < today {
        problems.push((PlanField::FirstDueDate, PlanProblem::InThePast));
    }
    let dates = if problems.is_empty() {
        (0..count).map(|index| interval.nth(first_due, index)).collect::<Option<Vec<_>>>()
    } else {
        None
    };
    // The split's dates follow from its first one: a date beyond reach is that field's problem.
    match dates.as_ref().map(|dates| dates.last().is_some_and(|last| *last > latest_due(today))) {
        None if problems.is_empty() => problems.push((PlanField::FirstDueDate, PlanProblem::DateOutOfRange)),
        Some(true) => problems.push((PlanField::FirstDueDate, PlanProblem::TooFarAhead)),
        _ => {}
    }
    let dated = dates
        .filter(|_| problems.is_empty())
        .map(|dates| dates.into_iter().zip(split(total, count)).collect::<Vec<_>>());
    for (field, problem) in problems {
        refuse(field, problem);
    }
    dated.unwrap_or_default()
}

/// Whether a card expiring at the end of `exp_month`/`exp_year` can still be
/// charged on `last_due` (a card is valid through the last day of its month).
#[must_use]
pub fn card_lasts_until(exp_month: i32, exp_year: i32, last_due: chrono::NaiveDate) -> bool {
    use chrono::Datelike as _;
    let due = (i64::from(last_due.year()), i64::from(last_due.month()));
    (i64::from(exp_year), i64::from(exp_month)) >= due
}

/// `total` in `count` parts that add up to it exactly: the remainder goes one
/// cent each to the first parts, so no two parts differ by more than one.
///
/// # Panics
/// `count` is zero.
#[must_use]
pub fn split(total: i64, count: u32) -> Vec<i64> {
    let count_i = i64::from(count);
    let (base, remainder) = (total / count_i, total % count_i);
    (0..count_i).map(|i| base + i64::from(i < remainder)).collect()
}

fn amount_problem(amount: i64, currency: Option<Currency>) -> Result<Amount, PlanProblem> {
    let amount = Amount::from_minor(amount).map_err(|e| match e {
        AmountError::TooLarge => PlanProblem::TooLarge,
        AmountError::NotPositive | AmountError::Unreadable(_) => PlanProblem::NotPositive,
    })?;
    match currency.and_then(|c| below_minimum(amount.minor(), c)) {
        Some(problem) => Err(problem),
        None => Ok(amount),
    }
}

/// Under the currency's minimum charge: the problem, with that minimum.
fn below_minimum(minor: i64, currency: Currency) -> Option<PlanProblem> {
    let amount = Amount::from_minor(minor).ok()?;
    Money::chargeable(amount, currency).err().map(|refused| PlanProblem::BelowMinimum(refused.minimum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_date_moves_only_between_its_neighbours_and_never_into_the_past() {
        let dates = [d(2027, 1, 10), d(2027, 2, 10), d(2027, 3, 10)];
        let today = d(2027, 1, 5);
        assert_eq!(check_move(&dates, 2, d(2027, 2, 20), today), Ok(()));
        assert_eq!(check_move(&dates, 1, d(2027, 1, 5), today), Ok(()), "today is allowed");
        assert_eq!(check_move(&dates, 3, d(2028, 1, 1), today), Ok(()), "the last has no next");
        let refused = |seq, to| check_move(&dates, seq, to, today).map_err(|p| (p.field, p.problem));
        assert_eq!(refused(1, d(2027, 1, 4)), Err((PlanField::DueDate(1), PlanProblem::InThePast)));
        assert_eq!(refused(2, d(2027, 1, 10)), Err((PlanField::DueDate(2), PlanProblem::OutsideNeighbours)));
        assert_eq!(refused(2, d(2027, 3, 10)), Err((PlanField::DueDate(2), PlanProblem::OutsideNeighbours)));
        assert_eq!(refused(1, d(2027, 2, 11)), Err((PlanField::DueDate(1), PlanProblem::OutsideNeighbours)));
        assert_eq!(refused(4, d(2027, 4, 1)), Err((PlanField::DueDate(4), PlanProblem::Unreadable)));
        assert_eq!(refused(0, d(2027, 4, 1)), Err((PlanField::DueDate(0), PlanProblem::Unreadable)));
    }

    #[test]
    fn no_date_falls_more_than_ten_years_ahead_and_a_split_says_so_on_its_first_date() {
        let today = d(2027, 1, 5);
        let latest = d(2037, 1, 5);
        assert_eq!(latest_due(today), latest);
        let explicit =
            |dates: &[NaiveDate]| ScheduleRequest::Explicit(dates.iter().map(|&date| (date, 10_000)).collect());
        assert!(Schedule::build("eur", &explicit(&[d(2027, 2, 1), latest]), today).is_ok(), "the latest day itself");
        let of = |result| problems(result).into_iter().map(|p| (p.field, p.problem)).collect::<Vec<_>>();
        assert_eq!(
            of(Schedule::build("eur", &explicit(&[d(2027, 2, 1), d(2037, 1, 6), d(9999, 12, 31)]), today)),
            vec![(PlanField::DueDate(2), PlanProblem::TooFarAhead), (PlanField::DueDate(3), PlanProblem::TooFarAhead)]
        );
        // 24 months from nine years out: the last falls in the eleventh year.
        assert_eq!(
            of(Schedule::build("eur", &split_of(240_000, 24, d(2036, 1, 5), Interval::Month), today)),
            vec![(PlanField::FirstDueDate, PlanProblem::TooFarAhead)]
        );
        assert!(Schedule::build("eur", &split_of(240_000, 12, d(2036, 1, 5), Interval::Month), today).is_ok());
        let dates = [d(2027, 2, 1), d(2027, 3, 1)];
        assert_eq!(check_move(&dates, 2, latest, today), Ok(()));
        assert_eq!(check_move(&dates, 2, d(2037, 1, 6), today).map_err(|p| p.problem), Err(PlanProblem::TooFarAhead));
    }

    #[test]
    fn a_split_whose_parts_are_each_over_one_charge_is_refused_on_its_total() {
        let today = d(2027, 1, 5);
        let of = |total, count| {
            problems(Schedule::build("eur", &split_of(total, count, today, Interval::Month), today))
                .into_iter()
                .map(|p| (p.field, p.problem))
                .collect::<Vec<_>>()
        };
        assert_eq!(of(10_000_000_000, 2), vec![(PlanField::Total, PlanProblem::TooLarge)]);
        // One cent over twice the largest charge: its first part would be one cent over.
        assert_eq!(of(2 * Amount::MAX + 1, 2), vec![(PlanField::Total, PlanProblem::TooLarge)]);
        assert!(Schedule::build("eur", &split_of(2 * Amount::MAX, 2, today, Interval::Month), today).is_ok());
    }

    #[test]
    fn a_card_lasts_through_the_last_day_of_its_month() {
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).expect("date");
        assert!(card_lasts_until(3, 2027, d(2027, 3, 31)));
        assert!(!card_lasts_until(3, 2027, d(2027, 4, 1)));
        assert!(card_lasts_until(1, 2028, d(2027, 12, 15)));
        assert!(!card_lasts_until(12, 2026, d(2027, 1, 5)));
    }
    use chrono::Datelike;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn split_of(total: i64, count: u32, first: NaiveDate, interval: Interval) -> ScheduleRequest {
        ScheduleRequest::Split { total, count, first_due: first, interval }
    }

    fn problems(result: Result<Schedule, ScheduleInvalid>) -> Vec<FieldProblem> {
        result.expect_err("refused").0
    }

    #[test]
    fn monthly_dates_clamp_to_the_end_of_the_month_without_drifting() {
        let s = Schedule::build("eur", &split_of(40_000, 4, d(2027, 1, 31), Interval::Month), d(2027, 1, 1))
            .expect("valid");
        let dates: Vec<_> = s.installments().iter().map(|i| i.due_date).collect();
        assert_eq!(dates, vec![d(2027, 1, 31), d(2027, 2, 28), d(2027, 3, 31), d(2027, 4, 30)]);
        let leap =
            Schedule::build("eur", &split_of(9_000, 3, d(2028, 1, 31), Interval::Month), d(2028, 1, 1)).expect("valid");
        assert_eq!(leap.installments()[1].due_date, d(2028, 2, 29));
    }

    #[test]
    fn weekly_dates_are_seven_days_apart() {
        let s = Schedule::build("eur", &split_of(3_000, 3, d(2027, 12, 27), Interval::Week), d(2027, 12, 1))
            .expect("valid");
        let dates: Vec<_> = s.installments().iter().map(|i| i.due_date).collect();
        assert_eq!(dates, vec![d(2027, 12, 27), d(2028, 1, 3), d(2028, 1, 10)]);
    }

    #[test]
    fn the_remainder_goes_to_the_first_echeances() {
        assert_eq!(split(10_000, 3), vec![3_334, 3_333, 3_333]);
        assert_eq!(split(10_001, 3), vec![3_334, 3_334, 3_333]);
        assert_eq!(split(150, 3), vec![50, 50, 50]);
        let s = Schedule::build("EUR", &split_of(10_000, 3, d(2027, 1, 10), Interval::Month), d(2027, 1, 10))
            .expect("valid");
        assert_eq!(s.installments().iter().map(|i| i.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(s.total(), 10_000);
    }

    #[test]
    fn each_refusal_names_its_field() {
        let today = d(2027, 6, 1);
        let minimum = Money { amount: Amount::from_minor(50).expect("50"), currency: Currency::Eur };
        assert_eq!(
            problems(Schedule::build("eur", &split_of(40, 1, today, Interval::Month), today)),
            vec![FieldProblem { field: PlanField::Total, problem: PlanProblem::BelowMinimum(minimum) }]
        );
        // 1.00 € in 3: 34 + 33 + 33 cents, each under the 0.50 € minimum: too many échéances for the total.
        assert_eq!(
            problems(Schedule::build("eur", &split_of(100, 3, today, Interval::Month), today)),
            vec![FieldProblem { field: PlanField::Count, problem: PlanProblem::BelowMinimum(minimum) }]
        );
        assert_eq!(
            problems(Schedule::build("xyz", &split_of(10_000, 2, today, Interval::Month), today)),
            vec![FieldProblem { field: PlanField::Currency, problem: PlanProblem::UnsupportedCurrency }]
        );
        assert_eq!(
            problems(Schedule::build("eur", &split_of(10_000, 49, today, Interval::Week), today)),
            vec![FieldProblem { field: PlanField::Count, problem: PlanProblem::CountOutOfRange }]
        );
        assert_eq!(
            problems(Schedule::build("eur", &split_of(10_000, 0, today, Interval::Week), today)),
            vec![FieldProblem { field: PlanField::Count, problem: PlanProblem::CountOutOfRange }]
        );
        assert_eq!(
            problems(Schedule::build("eur", &split_of(10_000, 2, d(2027, 5, 31), Interval::Month), today)),
            vec![FieldProblem { field: PlanField::FirstDueDate, problem: PlanProblem::InThePast }]
        );
        let explicit =
            ScheduleRequest::Explicit(vec![(d(2027, 7, 1), 5_000), (d(2027, 7, 1), 5_000), (d(2027, 6, 15), 0)]);
        assert_eq!(
            problems(Schedule::build("eur", &explicit, today)),
            vec![
                FieldProblem { field: PlanField::DueDate(2), problem: PlanProblem::OutOfOrder },
                FieldProblem { field: PlanField::DueDate(3), problem: PlanProblem::OutOfOrder },
                FieldProblem { field: PlanField::Amount(3), problem: PlanProblem::NotPositive },
            ]
        );
        let explicit = ScheduleRequest::Explicit(vec![(d(2027, 5, 31), 5_000), (d(2027, 6, 30), 5_000)]);
        assert_eq!(
            problems(Schedule::build("eur", &explicit, today)),
            vec![FieldProblem { field: PlanField::DueDate(1), problem: PlanProblem::InThePast }]
        );
        let too_many = ScheduleRequest::Explicit((0..49).map(|i| (today + Days::new(i), 100)).collect());
        assert_eq!(
            problems(Schedule::build("eur", &too_many, today)),
            vec![FieldProblem { field: PlanField::Echeances, problem: PlanProblem::CountOutOfRange }]
        );
        assert_eq!(
            problems(Schedule::build("eur", &ScheduleRequest::Explicit(vec![]), today)),
            vec![FieldProblem { field: PlanField::Echeances, problem: PlanProblem::CountOutOfRange }]
        );
        assert_eq!(
            problems(Schedule::build("eur", &ScheduleRequest::Explicit(vec![(today, Amount::MAX + 1)]), today)),
            vec![FieldProblem { field: PlanField::Amount(1), problem: PlanProblem::TooLarge }]
        );
    }

    #[test]
    fn more_than_three_months_from_first_to_last_is_consumer_credit() {
        let today = d(2027, 1, 1);
        let build = |count, first| {
            Schedule::build("eur", &split_of(40_000, count, first, Interval::Month), today).expect("valid")
        };
        // 4 monthly échéances: the last is exactly three months after the first.
        assert!(!build(4, d(2027, 1, 31)).is_consumer_credit());
        assert!(build(5, d(2027, 1, 31)).is_consumer_credit());
        let explicit = |last| {
            Schedule::build("eur", &ScheduleRequest::Explicit(vec![(d(2027, 1, 31), 5_000), (last, 5_000)]), today)
                .expect("valid")
        };
        assert!(!explicit(d(2027, 4, 30)).is_consumer_credit());
        assert!(explicit(d(2027, 5, 1)).is_consumer_credit());
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (2026i32..2040, 1u32..=12, 1u32..=31)
            .prop_map(|(y, m, day)| (1..=day).rev().find_map(|dd| NaiveDate::from_ymd_opt(y, m, dd)).expect("a day"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn a_split_adds_up_and_never_differs_by_more_than_a_cent(total in 1i64..10_000_000_000, count in 1u32..=48) {
            let parts = split(total, count);
            prop_assert_eq!(parts.len(), count as usize);
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            let (min, max) = (parts.iter().min().copied().unwrap_or_default(), parts.iter().max().copied().unwrap_or_default());
            prop_assert!(max - min <= 1);
            // The larger parts come first.
            prop_assert!(parts.windows(2).all(|w| w[0] >= w[1]));
        }

        #[test]
        fn a_built_schedule_sums_to_its_total_with_dates_strictly_increasing(
            total in 50i64..5_000_000,
            count in 1u32..=48,
            first in any_date(),
            monthly in any::<bool>(),
        ) {
            let interval = if monthly { Interval::Month } else { Interval::Week };
            match Schedule::build("eur", &split_of(total, count, first, interval), first) {
                Ok(s) => {
                    prop_assert_eq!(s.total(), total);
                    prop_assert_eq!(s.installments().len(), count as usize);
                    prop_assert!(s.installments().windows(2).all(|w| w[0].due_date < w[1].due_date));
                    prop_assert!(s.installments().iter().all(|i| i.amount.minor() >= 50));
                    if monthly {
                        // Never drifts: each date is the first's day, or the end of a shorter month.
                        for i in s.installments() {
                            let day = i.due_date.day();
                            let end = i.due_date.checked_add_days(Days::new(1)).is_some_and(|next| next.day() == 1);
                            prop_assert!(day == first.day() || (day < first.day() && end));
                        }
                    }
                }
                // Refused only because a part falls under the minimum.
                Err(ScheduleInvalid(problems)) => {
                    prop_assert!(total / i64::from(count) < 50);
                    prop_assert!(problems.iter().all(|p| matches!(p.problem, PlanProblem::BelowMinimum(_))));
                }
            }
        }
    }
}
