//! The interface language. French first.

use serde::{Deserialize, Serialize};

/// A language the interface and emails are written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Locale {
    /// Français (default).
    #[default]
    Fr,
    /// English.
    En,
}

impl Locale {
    /// The two-letter code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::En => "en",
        }
    }

    /// The language the header offers to switch to.
    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::Fr => Self::En,
            Self::En => Self::Fr,
        }
    }

    /// A calendar date as people of this locale write it: `15/01/2027`, `15 Jan 2027`.
    #[must_use]
    pub fn format_date(self, date: chrono::NaiveDate) -> String {
        match self {
            Self::Fr => date.format("%d/%m/%Y").to_string(),
            Self::En => date.format("%d %b %Y").to_string(),
        }
    }

    /// A day without its year, as a chart's axis shows it: `15/01`, `15 Jan`.
    #[must_use]
    pub fn format_day_month(self, date: chrono::NaiveDate) -> String {
        match self {
            Self::Fr => date.format("%d/%m").to_string(),
            Self::En => date.format("%d %b").to_string(),
        }
    }

    /// Reads a language someone chose: exactly `fr` or `en`.
    ///
    /// # Errors
    /// Any other text, which is refused rather than read as French (a form,
    /// the REST API, the command line).
    pub fn parse(code: &str) -> Result<Self, UnknownLocale> {
        match code {
            "fr" => Ok(Self::Fr),
            "en" => Ok(Self::En),
            other => Err(UnknownLocale(other.to_owned())),
        }
    }

    /// The product's language a browser prefers, from its `Accept-Language`
    /// header (`en-GB,en;q=0.9,fr;q=0.8`): the `fr` or `en` range of highest
    /// weight (the first of equal weights), none when it names neither.
    #[must_use]
    pub fn preferred(accept_language: &str) -> Option<Self> {
        accept_language
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';');
                let tag = parts.next()?.trim();
                let primary = tag.split(['-', '_']).next()?;
                let locale = [Self::Fr, Self::En].into_iter().find(|l| primary.eq_ignore_ascii_case(l.code()))?;
                let weight = parts
                    .find_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>().unwrap_or(0.0)))
                    .unwrap_or(1.0);
                (weight > 0.0).then_some((locale, weight))
            })
            .fold(None, |best: Option<(Self, f32)>, (locale, weight)| match best {
                Some((_, top)) if top >= weight => best,
                _ => Some((locale, weight)),
            })
            .map(|(locale, _)| locale)
    }

    /// Reads what a browser sends (a cookie or an `Accept-Language` header):
    /// anything unknown is French, the interface's first language.
    #[must_use]
    pub fn from_code(value: &str) -> Self {
        let first = value.split([',', ';', '-', '_']).next().unwrap_or_default().trim();
        if first.eq_ignore_ascii_case("en") { Self::En } else { Self::Fr }
    }
}

/// Not a language of the product (`fr` or `en`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: fr or en")]
pub struct UnknownLocale(pub String);

impl std::str::FromStr for Locale {
    type Err = UnknownLocale;
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::parse(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_languages_fall_back_to_french() {
        assert_eq!(Locale::from_code("en-GB,en;q=0.9"), Locale::En);
        assert_eq!(Locale::from_code("de"), Locale::Fr);
        assert_eq!(Locale::from_code(""), Locale::Fr);
    }

    #[test]
    fn a_browser_gets_the_product_language_it_weighs_highest() {
        assert_eq!(Locale::preferred("en-US,en;q=0.9"), Some(Locale::En));
        assert_eq!(Locale::preferred("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"), Some(Locale::Fr));
        assert_eq!(
            Locale::preferred("de-DE,de;q=0.9,en;q=0.5,fr;q=0.4"),
            Some(Locale::En),
            "German first, then English"
        );
        assert_eq!(Locale::preferred("fr;q=0.2,EN;q=0.8"), Some(Locale::En), "by weight, not by place");
        assert_eq!(Locale::preferred("en;q=0,fr;q=0.1"), Some(Locale::Fr), "q=0 is refused");
        assert_eq!(Locale::preferred("en;q=0.5,fr;q=0.5"), Some(Locale::En), "the first of equal weights");
        for none in ["", "de", "*", "es-ES,it;q=0.9", "en;q=0", "french", "enx"] {
            assert_eq!(Locale::preferred(none), None, "{none:?}");
        }
    }

    #[test]
    fn a_chosen_language_is_fr_or_en_and_nothing_else() {
        assert_eq!(Locale::parse("fr"), Ok(Locale::Fr));
        assert_eq!("en".parse::<Locale>(), Ok(Locale::En));
        for refused in ["de", "", "EN", " en", "en-GB", "fr\0"] {
            assert_eq!(Locale::parse(refused), Err(UnknownLocale(refused.to_owned())), "{refused:?}");
        }
    }

    #[test]
    fn dates_are_written_the_local_way() {
        let d = chrono::NaiveDate::from_ymd_opt(2027, 1, 15).expect("valid date");
        assert_eq!(Locale::Fr.format_date(d), "15/01/2027");
        assert_eq!(Locale::En.format_date(d), "15 Jan 2027");
        assert_eq!(
            (Locale::Fr.format_day_month(d), Locale::En.format_day_month(d)),
            ("15/01".to_owned(), "15 Jan".to_owned())
        );
    }
}
