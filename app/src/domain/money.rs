//! Money: integer minor units and an ISO currency. Never floats.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::Locale;

/// A strictly positive amount in minor units (cents).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Amount(i64);

/// Why a value is not an [`Amount`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Zero or negative.
    #[error("the amount must be positive")]
    NotPositive,
    /// Above what Stripe accepts for one charge (99 999 999 minor units).
    #[error("the amount is over the maximum")]
    TooLarge,
    /// Not a decimal number with at most two decimals.
    #[error("unreadable amount {0:?}")]
    Unreadable(String),
}

impl Amount {
    /// Stripe's upper bound for one charge, in minor units.
    pub const MAX: i64 = 99_999_999;

    /// Parses a number of minor units.
    ///
    /// # Errors
    /// Zero, negative or above [`Amount::MAX`].
    pub fn from_minor(cents: i64) -> Result<Self, AmountError> {
        if cents <= 0 {
            Err(AmountError::NotPositive)
        } else if cents > Self::MAX {
            Err(AmountError::TooLarge)
        } else {
            Ok(Self(cents))
        }
    }

    /// Parses what a person types: `12`, `12,5`, `12.50`, `1 234,56`.
    ///
    /// # Errors
    /// Anything that is not a positive decimal with at most two decimals,
    /// or is more than one charge.
    pub fn parse_decimal(input: &str) -> Result<Self, AmountError> {
        Self::from_minor(decimal_minor(input)?)
    }

    /// The number of minor units.
    #[must_use]
    pub fn minor(self) -> i64 {
        self.0
    }
}

/// Reads what a person types as minor units, with no bound of one charge: a
/// plan's total, which is split into charges (`2 400 000` in 3 is three
/// charges of 800 000). Zero reads; whether it may be is the caller's rule.
///
/// # Errors
/// Not a decimal with at most two decimals ([`AmountError::Unreadable`]);
/// a negative one (`-100`: it reads, and is never an amount to ask for,
/// [`AmountError::NotPositive`]); more than twelve digits before the decimal
/// point ([`AmountError::TooLarge`]).
pub fn decimal_minor(input: &str) -> Result<i64, AmountError> {
    let cleaned: String = input
        .trim()
        .trim_end_matches('€')
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    let unreadable = || AmountError::Unreadable(input.trim().to_owned());
    // A minus sign, typed or pasted (U+2212): the number reads, and is never one to ask for.
    match cleaned.strip_prefix(['-', '\u{2212}']) {
        Some(magnitude) => match unsigned_minor(magnitude) {
            Some(Ok(_) | Err(AmountError::TooLarge)) => Err(AmountError::NotPositive),
            Some(Err(e)) => Err(e),
            None => Err(unreadable()),
        },
        None => unsigned_minor(&cleaned).unwrap_or_else(|| Err(unreadable())),
    }
}

/// Minor units of `cleaned` (digits, a point, at most two decimals): `None` when it does not read.
fn unsigned_minor(cleaned: &str) -> Option<Result<i64, AmountError>> {
    let (units, decimals) = cleaned.split_once('.').unwrap_or((cleaned, ""));
    if units.is_empty()
        || !units.bytes().all(|b| b.is_ascii_digit())
        || decimals.len() > 2
        || !decimals.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if units.trim_start_matches('0').len() > 12 {
        return Some(Err(AmountError::TooLarge));
    }
    let units: i64 = units.parse().ok()?;
    let decimals: i64 = match decimals.len() {
        0 => 0,
        1 => decimals.parse::<i64>().ok()? * 10,
        _ => decimals.parse().ok()?,
    };
    Some(Ok(units * 100 + decimals))
}

impl TryFrom<i64> for Amount {
    type Error = AmountError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::from_minor(value)
    }
}

impl From<Amount> for i64 {
    fn from(value: Amount) -> Self {
        value.0
    }
}

/// A currency this product collects in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Currency {
    /// Euro.
    Eur,
    /// US dollar.
    Usd,
    /// Pound sterling.
    Gbp,
    /// Swiss franc.
    Chf,
}

/// Not a currency this product collects in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported currency {0:?}")]
pub struct CurrencyError(pub String);

impl Currency {
    /// Parses an ISO 4217 code, any case.
    ///
    /// # Errors
    /// A code this product does not collect in.
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        match code.trim().to_ascii_lowercase().as_str() {
            "eur" => Ok(Self::Eur),
            "usd" => Ok(Self::Usd),
            "gbp" => Ok(Self::Gbp),
            "chf" => Ok(Self::Chf),
            other => Err(CurrencyError(other.to_owned())),
        }
    }

    /// Lower-case code, as Stripe spells it.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Eur => "eur",
            Self::Usd => "usd",
            Self::Gbp => "gbp",
            Self::Chf => "chf",
        }
    }

    /// The smallest charge Stripe accepts, in minor units (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
    #[must_use]
    pub fn minimum_charge(self) -> i64 {
        match self {
            Self::Eur | Self::Usd | Self::Chf => 50,
            Self::Gbp => 30,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Self::Eur => "€",
            Self::Usd => "$",
            Self::Gbp => "£",
            Self::Chf => "CHF",
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

/// An amount in a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Minor units.
    pub amount: Amount,
    /// Currency.
    pub currency: Currency,
}

/// An amount Stripe would refuse to charge: under the currency's minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{amount} is under the minimum charge of {minimum}")]
pub struct BelowMinimum {
    /// What was asked.
    pub amount: Money,
    /// The smallest charge in that currency.
    pub minimum: Money,
}

impl Money {
    /// An amount that can be charged: at least the currency's minimum charge.
    ///
    /// # Errors
    /// [`BelowMinimum`] (with the minimum, for the message).
    pub fn chargeable(amount: Amount, currency: Currency) -> Result<Self, BelowMinimum> {
        let money = Self { amount, currency };
        if amount.minor() < currency.minimum_charge() {
            let minimum = Amount(currency.minimum_charge());
            return Err(BelowMinimum { amount: money, minimum: Self { amount: minimum, currency } });
        }
        Ok(money)
    }

    /// Formats for a locale: `1 234,56 €` in French, `€1,234.56` in English.
    #[must_use]
    pub fn format(&self, locale: Locale) -> String {
        self.currency.format_minor(self.amount.minor(), locale)
    }
}

/// A sum of charges in one currency: a plan's total, what it collected or has
/// left, a status's sum on the dashboard. Unlike [`Money`], no one charge's
/// maximum bounds it (a plan of 1 500 000,00 € is three charges of 500 000,00 €).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    /// Minor units (never negative).
    pub minor: i64,
    /// Currency.
    pub currency: Currency,
}

impl Total {
    /// The sum of `minor` units of `currency`; a negative sum (which no sum
    /// of charges is) reads as zero.
    #[must_use]
    pub fn of(minor: i64, currency: Currency) -> Self {
        Self { minor: minor.max(0), currency }
    }

    /// Formats for a locale, as [`Money::format`] does.
    #[must_use]
    pub fn format(&self, locale: Locale) -> String {
        self.currency.format_minor(self.minor, locale)
    }
}

impl Currency {
    /// Formats `cents` minor units of this currency, as [`Money::format`] does — for a sum
    /// (a plan's total, what remains), which no single charge's bound applies to.
    #[must_use]
    pub fn format_minor(self, cents: i64, locale: Locale) -> String {
        let units = group_thousands(
            cents / 100,
            match locale {
                Locale::Fr => '\u{202f}',
                Locale::En => ',',
            },
        );
        let fraction = cents % 100;
        match locale {
            Locale::Fr => format!("{units},{fraction:02}\u{a0}{}", self.symbol()),
            // A sign sticks to the amount (€12.00); a code is a word (CHF 12.00).
            Locale::En if self.symbol().chars().all(|c| c.is_ascii_alphabetic()) => {
                format!("{}\u{a0}{units}.{fraction:02}", self.symbol())
            }
            Locale::En => format!("{}{units}.{fraction:02}", self.symbol()),
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(Locale::Fr))
    }
}

fn group_thousands(value: i64, separator: char) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charge_under_the_currency_minimum_is_refused_with_the_minimum() {
        let refused = Money::chargeable(Amount::from_minor(49).expect("positive"), Currency::Eur).expect_err("under");
        assert_eq!(refused.minimum.amount.minor(), 50);
        assert!(Money::chargeable(Amount::from_minor(50).expect("positive"), Currency::Eur).is_ok());
        assert!(Money::chargeable(Amount::from_minor(30).expect("positive"), Currency::Gbp).is_ok());
        assert!(Money::chargeable(Amount::from_minor(1).expect("positive"), Currency::Usd).is_err());
    }

    fn eur(cents: i64) -> Money {
        Money { amount: Amount::from_minor(cents).expect("valid"), currency: Currency::Eur }
    }

    #[test]
    fn amounts_must_be_positive_and_bounded() {
        assert_eq!(Amount::from_minor(0), Err(AmountError::NotPositive));
        assert_eq!(Amount::from_minor(-5), Err(AmountError::NotPositive));
        assert_eq!(Amount::from_minor(100_000_000), Err(AmountError::TooLarge));
        assert_eq!(Amount::from_minor(1).map(Amount::minor), Ok(1));
    }

    #[test]
    fn decimal_input_in_french_or_english_notation() {
        assert_eq!(Amount::parse_decimal("12").map(Amount::minor), Ok(1200));
        assert_eq!(Amount::parse_decimal("12,5").map(Amount::minor), Ok(1250));
        assert_eq!(Amount::parse_decimal("1 234.56 €").map(Amount::minor), Ok(123_456));
        assert!(Amount::parse_decimal("12.345").is_err());
        assert!(Amount::parse_decimal("-3").is_err());
        assert!(Amount::parse_decimal("abc").is_err());
        assert!(Amount::parse_decimal("").is_err());
        assert_eq!(Amount::parse_decimal("999 999,99").map(Amount::minor), Ok(Amount::MAX));
        assert_eq!(Amount::parse_decimal("1 000 000"), Err(AmountError::TooLarge));
        assert_eq!(Amount::parse_decimal("0,00"), Err(AmountError::NotPositive));
    }

    #[test]
    fn a_total_reads_beyond_one_charge_up_to_twelve_digits() {
        assert_eq!(decimal_minor("2 400 000"), Ok(240_000_000));
        assert_eq!(decimal_minor("999999999999,99"), Ok(99_999_999_999_999));
        assert_eq!(decimal_minor("0"), Ok(0));
        assert_eq!(decimal_minor("000000000000001,5"), Ok(150), "leading zeros are no digits of size");
        assert_eq!(decimal_minor("1000000000000"), Err(AmountError::TooLarge));
        assert_eq!(decimal_minor("12,345"), Err(AmountError::Unreadable("12,345".to_owned())));
        // A negative amount reads: it is said to be below zero, not unreadable.
        assert_eq!(decimal_minor("-5"), Err(AmountError::NotPositive));
        assert_eq!(decimal_minor("- 1 234,50 €"), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse_decimal("-0,01"), Err(AmountError::NotPositive));
        assert_eq!(decimal_minor("--5"), Err(AmountError::Unreadable("--5".to_owned())));
        assert_eq!(decimal_minor("-abc"), Err(AmountError::Unreadable("-abc".to_owned())));
        assert_eq!(decimal_minor("\u{2212}12,50"), Err(AmountError::NotPositive), "a pasted minus sign");
        assert_eq!(decimal_minor("-1000000000000"), Err(AmountError::NotPositive));
        assert_eq!(decimal_minor("-12,345"), Err(AmountError::Unreadable("-12,345".to_owned())));
        assert_eq!(decimal_minor("-"), Err(AmountError::Unreadable("-".to_owned())));
        assert_eq!(decimal_minor("5-"), Err(AmountError::Unreadable("5-".to_owned())));
        // However many signs it is sent, one look: a long input is refused, never read sign by sign.
        let signs = format!("{}5", "-".repeat(200_000));
        assert_eq!(decimal_minor(&signs), Err(AmountError::Unreadable(signs.clone())));
    }

    #[test]
    fn french_format_uses_narrow_spaces_and_comma() {
        assert_eq!(eur(123_456).format(Locale::Fr), "1\u{202f}234,56\u{a0}€");
        assert_eq!(eur(5).format(Locale::Fr), "0,05\u{a0}€");
        assert_eq!(eur(123_456).format(Locale::En), "€1,234.56");
    }

    #[test]
    fn a_currency_written_as_a_code_is_a_word_apart_in_english() {
        assert_eq!(Currency::Chf.format_minor(123_456, Locale::En), "CHF\u{a0}1,234.56");
        assert_eq!(Currency::Chf.format_minor(123_456, Locale::Fr), "1\u{202f}234,56\u{a0}CHF");
        assert_eq!(Currency::Usd.format_minor(1_200, Locale::En), "$12.00");
    }

    #[test]
    fn currencies_parse_any_case_and_refuse_unknown() {
        assert_eq!(Currency::parse("EUR"), Ok(Currency::Eur));
        assert!(Currency::parse("xyz").is_err());
    }
}
