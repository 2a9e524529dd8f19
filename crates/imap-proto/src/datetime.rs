//! IMAP dates (RFC 9051 §9 `date`, used by SEARCH) and date-times (`date-time`, used by APPEND
//! and INTERNALDATE), validated on construction.

use std::fmt;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// A date, a time of day and a zone offset in minutes east of UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    zone_minutes: i16,
}

// `is_multiple_of` is newer than the workspace MSRV (1.85).
#[allow(clippy::manual_is_multiple_of)]
fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// `None` unless it is a real date in years 1..=9999.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    pub(crate) fn month_from_name(name: &[u8]) -> Option<u8> {
        MONTHS
            .iter()
            .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
            .and_then(|i| u8::try_from(i + 1).ok())
    }

    fn month_name(self) -> &'static str {
        MONTHS[usize::from(self.month - 1) % 12]
    }
}

impl DateTime {
    /// `None` when any field is out of range (`zone_minutes` within ±99:59).
    pub fn new(date: Date, hms: (u8, u8, u8), zone_minutes: i16) -> Option<DateTime> {
        let (hour, minute, second) = hms;
        let valid = hour < 24 && minute < 60 && second < 61 && zone_minutes.abs() <= 99 * 60 + 59;
        valid.then_some(DateTime {
            date,
            hour,
            minute,
            second,
            zone_minutes,
        })
    }

    pub fn time(self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }

    pub fn zone_minutes(self) -> i16 {
        self.zone_minutes
    }
}

/// `date-text`: `d-Mon-yyyy` (RFC 9051 §9).
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{:04}", self.day, self.month_name(), self.year)
    }
}

/// `date-time` without the quotes: `dd-Mon-yyyy hh:mm:ss +zzzz` with `date-day-fixed`.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.date;
        let sign = if self.zone_minutes < 0 { '-' } else { '+' };
        let zone = self.zone_minutes.unsigned_abs();
        write!(
            f,
            "{:>2}-{}-{:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            d.day,
            d.month_name(),
            d.year,
            self.hour,
            self.minute,
            self.second,
            zone / 60,
            zone % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_validated() {
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2023, 13, 1).is_none());
    }

    #[test]
    fn date_time_formats_with_fixed_day() {
        let dt = DateTime::new(Date::new(1994, 7, 1).unwrap(), (2, 30, 0), -7 * 60).unwrap();
        assert_eq!(dt.to_string(), " 1-Jul-1994 02:30:00 -0700");
        assert_eq!(dt.date.to_string(), "1-Jul-1994");
    }
}
