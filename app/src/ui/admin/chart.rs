//! Amounts collected per day in one currency, as an SVG bar chart (server-rendered).

use leptos::prelude::*;

use crate::api::dto::DailySeries;
use crate::domain::{Locale, Total};
use crate::ui::i18n::{fill, texts};

/// Bars for the last 30 days, in the series' currency.
#[component]
pub fn DailyChart(series: DailySeries) -> impl IntoView {
    let DailySeries { currency, days } = series;
    let locale = use_context::<Locale>().unwrap_or_default();
    let tx = texts();
    let max = days.iter().map(|d| d.cents).max().unwrap_or(0).max(1);
    let width = 600.0_f64;
    let height = 140.0_f64;
    let step = width / days.len().max(1) as f64;
    let total: i64 = days.iter().map(|d| d.cents).sum();
    // Sums of many charges: no one charge's maximum bounds them.
    let total_label = Total::of(total, currency).format(locale);
    view! {
        <figure class="chart" data-testid="daily-chart">
            <svg viewBox=format!("0 0 {width} {}", height + 16.0) role="img" aria-label=total_label.clone()>
                {days.iter().enumerate().map(|(i, d)| {
                    let h = (d.cents as f64 / max as f64) * height;
                    let x = i as f64 * step;
                    let label = fill(tx.chart_day, &[
                        ("date", &locale.format_date(d.day)),
                        ("amount", &Total::of(d.cents, currency).format(locale)),
                    ]);
                    view! {
                        <rect x=format!("{:.1}", x + 1.0) y=format!("{:.1}", height - h) width=format!("{:.1}", (step - 2.0).max(1.0)) height=format!("{h:.1}")>
                            <title>{label}</title>
                        </rect>
                    }
                }).collect_view()}
                {days.iter().enumerate().filter(|(i, _)| i % 7 == 0).map(|(i, d)| view! {
                    <text x=format!("{:.1}", i as f64 * step) y=format!("{}", height + 12.0)>{locale.format_day_month(d.day)}</text>
                }).collect_view()}
            </svg>
            <figcaption class="muted">{total_label}</figcaption>
        </figure>
    }
}
