//! The `From ` line that starts each message of an mbox file: `From SENDER DATE`, the date in
//! ctime(3) form (`Wed Dec  7 02:53:42 2026`), sometimes with a zone after the time or the
//! year (`… 2026 +0100`, `… 02:53:42 +0100 2026`). The date is the message's INTERNALDATE.

use mailstore::InternalDate;
use types::civil::{civil_from_days, days_from_civil};

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The date of a `From ` line (given without its line end). A date without a zone is taken
/// as UTC. `None` when no date can be found.
pub fn parse_date(line: &[u8]) -> Option<InternalDate> {
    let text = std::str::from_utf8(line.strip_prefix(b"From ")?).ok()?;
    let tokens: Vec<&str> = text.split_ascii_whitespace().take(32).collect();
    (0..tokens.len()).find_map(|i| date_at(&tokens[i..]))
}

/// `WEEKDAY MONTH DAY HH:MM[:SS] [ZONE] YEAR [ZONE]` at the start of `t`.
fn date_at(t: &[&str]) -> Option<InternalDate> {
    if t.len() < 5 || !WEEKDAYS.iter().any(|w| w.eq_ignore_ascii_case(t[0])) {
        return None;
    }
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(t[1]))?;
    let day: u32 = t[2].parse().ok().filter(|d| (1..=31).contains(d))?;
    let mut hms = t[3].split(':').map(|p| p.parse::<i64>().ok());
    let (h, m) = (hms.next()??, hms.next()??);
    let s = hms.next().unwrap_or(Some(0))?;
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let (year, zone) = match t[4].parse::<i64>() {
        Ok(y) if t[4].len() == 4 => (y, t.get(5).and_then(|z| zone(z))),
        _ => (t.get(5)?.parse::<i64>().ok()?, zone(t[4])),
    };
    let offset = zone.unwrap_or(0);
    let month = u32::try_from(month + 1).ok()?;
    let days = days_from_civil(year, month, day);
    let unix = days * 86_400 + h * 3600 + m * 60 + s - i64::from(offset) * 60;
    Some(InternalDate {
        unix_seconds: unix,
        offset_minutes: offset,
    })
}

/// `+hhmm` / `-hhmm` in minutes; `UTC`, `GMT` and `UT` are 0.
fn zone(z: &str) -> Option<i16> {
    if ["UTC", "GMT", "UT"]
        .iter()
        .any(|u| u.eq_ignore_ascii_case(z))
    {
        return Some(0);
    }
    let (sign, digits) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i16 = digits.parse().ok()?;
    let minutes = n / 100 * 60 + n % 100;
    (minutes < 24 * 60).then_some(sign * minutes)
}

/// `From SENDER DATE ZONE` for a message with INTERNALDATE `date` (the date in its own zone,
/// the zone after the year), without a line end.
pub fn format(sender: &str, date: InternalDate) -> String {
    let local = date.unix_seconds + i64::from(date.offset_minutes) * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // Both indexes are bounded by the arithmetic: 0–6 and 0–11.
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[(m - 1) as usize];
    let off = date.offset_minutes;
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.unsigned_abs();
    format!(
        "From {sender} {weekday} {month} {d:>2} {:02}:{:02}:{:02} {y} {sign}{:02}{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        off / 60,
        off % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(unix_seconds: i64, offset_minutes: i16) -> Option<InternalDate> {
        Some(InternalDate {
            unix_seconds,
            offset_minutes,
        })
    }

    #[test]
    fn ctime_dates_with_and_without_zones() {
        // 2026-12-07 02:53:42 UTC = 1796612022.
        assert_eq!(
            parse_date(b"From a@b Mon Dec  7 02:53:42 2026"),
            date(1_796_612_022, 0)
        );
        assert_eq!(
            parse_date(b"From a@b Mon Dec  7 03:53:42 2026 +0100"),
            date(1_796_612_022, 60)
        );
        assert_eq!(
            parse_date(b"From a@b Mon Dec  7 03:53:42 +0100 2026"),
            date(1_796_612_022, 60)
        );
        assert_eq!(
            parse_date(b"From MAILER-DAEMON Mon Dec 7 02:53 2026"),
            date(1_796_611_980, 0)
        );
        assert_eq!(parse_date(b"From a@b sometime"), None);
        assert_eq!(parse_date(b"From a@b Mon Dec 77 02:53:42 2026"), None);
        assert_eq!(parse_date(b"Frm a"), None);
    }

    #[test]
    fn written_lines_read_back_with_their_zone() {
        for d in [
            InternalDate {
                unix_seconds: 1_796_612_022,
                offset_minutes: -330,
            },
            InternalDate {
                unix_seconds: 0,
                offset_minutes: 0,
            },
        ] {
            let line = format("MAILER-DAEMON", d);
            assert_eq!(parse_date(line.as_bytes()), Some(d), "{line}");
        }
        assert_eq!(
            format(
                "x",
                InternalDate {
                    unix_seconds: 1_796_612_022,
                    offset_minutes: 0
                }
            ),
            "From x Mon Dec  7 02:53:42 2026 +0000"
        );
    }
}
