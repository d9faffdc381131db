//! Periods and calendar days in the viewer's time zone.

use crate::LeadFact;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use liveline_types::metrics::PeriodSpec;

/// Instants from `from` (included) to `to` (excluded), in milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

impl Period {
    pub const ALL: Period = Period {
        from: i64::MIN,
        to: i64::MAX,
    };
    pub fn contains(&self, t: i64) -> bool {
        t >= self.from && t < self.to
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("unknown time zone {0}")]
    TimeZone(String),
    #[error("not a date (YYYY-MM-DD): {0}")]
    Date(String),
    #[error("the period ends before it starts")]
    Range,
    #[error("unknown period {0}")]
    Preset(String),
}

fn start_of(d: Date, tz: &TimeZone) -> Result<i64, PeriodError> {
    let z = d
        .to_zoned(tz.clone())
        .and_then(|z| z.start_of_day())
        .map_err(|_| PeriodError::Date(d.to_string()))?;
    Ok(z.timestamp().as_millisecond())
}

fn next(d: Date) -> Result<Date, PeriodError> {
    d.tomorrow().map_err(|_| PeriodError::Date(d.to_string()))
}

/// Resolves what the viewer picked to instants: today, this ISO week (from Monday), this month, everything, or
/// a custom range of whole days (both included), all in the viewer's time zone at `now`.
pub fn resolve(spec: &PeriodSpec, now: i64) -> Result<(Period, TimeZone), PeriodError> {
    let tz = TimeZone::get(spec.tz.trim()).map_err(|_| PeriodError::TimeZone(spec.tz.clone()))?;
    let today = Timestamp::from_millisecond(now)
        .map_err(|_| PeriodError::Date(now.to_string()))?
        .to_zoned(tz.clone())
        .date();
    let parse = |s: &str| -> Result<Date, PeriodError> {
        s.trim()
            .parse::<Date>()
            .map_err(|_| PeriodError::Date(s.to_string()))
    };
    let (first, last) = match spec.preset.as_str() {
        "all" | "" => return Ok((Period::ALL, tz)),
        "today" => (today, today),
        "week" => {
            let monday = today
                .iso_week_date()
                .first_of_week()
                .map_err(|_| PeriodError::Date(today.to_string()))?
                .date();
            (monday, today)
        }
        "month" => (today.first_of_month(), today),
        "custom" => {
            let (f, t) = (parse(&spec.from)?, parse(&spec.to)?);
            if t < f {
                return Err(PeriodError::Range);
            }
            (f, t)
        }
        other => return Err(PeriodError::Preset(other.to_string())),
    };
    let period = Period {
        from: start_of(first, &tz)?,
        to: start_of(next(last)?, &tz)?,
    };
    Ok((period, tz))
}

/// The viewer's calendar days over the span the leads cover: the instant each day starts, with its day and ISO
/// week keys, so grouping 100,000 leads by day is a binary search each, not a time-zone conversion.
#[derive(Debug, Default)]
pub struct DayIndex {
    starts: Vec<i64>,
    days: Vec<String>,
    weeks: Vec<String>,
}

/// At most this many days are indexed (a bogus timestamp must not make the index huge).
const MAX_DAYS: usize = 40_000;

impl DayIndex {
    /// Days from the earliest to the latest capture in `period`.
    pub fn for_leads(leads: &[LeadFact], period: &Period, tz: &TimeZone) -> DayIndex {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for l in leads.iter().filter(|l| period.contains(l.captured_at)) {
            lo = lo.min(l.captured_at);
            hi = hi.max(l.captured_at);
        }
        if lo > hi {
            return DayIndex::default();
        }
        DayIndex::span(lo, hi, tz)
    }

    /// Days from the one holding `lo` to the one holding `hi`.
    pub fn span(lo: i64, hi: i64, tz: &TimeZone) -> DayIndex {
        let mut ix = DayIndex::default();
        let day_of = |t: i64| {
            Timestamp::from_millisecond(t)
                .ok()
                .map(|ts| ts.to_zoned(tz.clone()).date())
        };
        let (Some(mut d), Some(end)) = (day_of(lo), day_of(hi)) else {
            return ix;
        };
        while d <= end && ix.starts.len() < MAX_DAYS {
            let Ok(start) = start_of(d, tz) else { break };
            let w = d.iso_week_date();
            ix.starts.push(start);
            ix.days.push(d.to_string());
            ix.weeks.push(format!("{:04}-W{:02}", w.year(), w.week()));
            match next(d) {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        ix
    }

    fn slot(&self, t: i64) -> Option<usize> {
        let i = self.starts.partition_point(|s| *s <= t);
        (i > 0).then(|| i - 1)
    }

    /// `2026-12-01`, or "" outside the index.
    pub fn day(&self, t: i64) -> &str {
        self.slot(t).map(|i| self.days[i].as_str()).unwrap_or("")
    }

    /// `2026-W49`, or "" outside the index.
    pub fn week(&self, t: i64) -> &str {
        self.slot(t).map(|i| self.weeks[i].as_str()).unwrap_or("")
    }
}
