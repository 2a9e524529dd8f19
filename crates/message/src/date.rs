//! RFC 5322 §3.3 date-time, with the obsolete forms of §4.3 (two- and three-digit years,
//! alphabetic zones, comments anywhere, optional day of week and seconds), for SENTBEFORE etc.

/// Parses a Date header value into (seconds since the Unix epoch, UTC offset in minutes).
/// `None` when the value is not a date.
pub fn parse_date(value: &str) -> Option<(i64, i32)> {
    let cleaned = strip_comments(value);
    let mut words = cleaned
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .peekable();
    if words.peek()?.starts_with(|c: char| c.is_ascii_alphabetic()) {
        words.next(); // day-of-week (RFC 5322 §3.3), not checked against the date
    }
    let day: u32 = small_number(words.next()?)?;
    let month = month(words.next()?)?;
    let year = year(words.next()?)?;
    let (hour, minute, second) = time(words.next()?)?;
    let offset = words.next().map_or(Some(0), zone)?;
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some((local - i64::from(offset) * 60, offset))
}

fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0u32;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn small_number(w: &str) -> Option<u32> {
    (w.len() <= 2 && w.bytes().all(|b| b.is_ascii_digit())).then(|| w.parse().ok())?
}

fn month(w: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let w = w.get(..3)?.to_ascii_lowercase();
    NAMES.iter().position(|m| *m == w).map(|i| i as u32 + 1)
}

/// RFC 5322 §4.3: a two-digit year below 50 is 20xx, otherwise 19xx; three digits add 1900.
fn year(w: &str) -> Option<i64> {
    if w.is_empty() || w.len() > 4 || !w.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = w.parse().ok()?;
    Some(match w.len() {
        1 | 2 if y < 50 => 2000 + y,
        1 | 2 => 1900 + y,
        3 => 1900 + y,
        _ => y,
    })
}

fn time(w: &str) -> Option<(u32, u32, u32)> {
    let mut it = w.split(':');
    let h = small_number(it.next()?)?;
    let m = small_number(it.next()?)?;
    let s = match it.next() {
        Some(s) => small_number(s)?,
        None => 0,
    };
    it.next().is_none().then_some((h, m, s))
}

/// Numeric `+hhmm` / `-hhmm`, or an RFC 5322 §4.3 obs-zone. Military letters are read as
/// +0000 as §4.3 advises (RFC 822 defined their signs backwards); unknown names likewise.
fn zone(w: &str) -> Option<i32> {
    let b = w.as_bytes();
    if (b.len() == 5) && (b[0] == b'+' || b[0] == b'-') && b[1..].iter().all(u8::is_ascii_digit) {
        let h: i32 = w[1..3].parse().ok()?;
        let m: i32 = w[3..5].parse().ok()?;
        if m > 59 {
            return None;
        }
        let v = h * 60 + m;
        return Some(if b[0] == b'-' { -v } else { v });
    }
    let hours = match w.to_ascii_uppercase().as_str() {
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        _ if b.iter().all(u8::is_ascii_alphabetic) => 0,
        _ => return None,
    };
    Some(hours * 60)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's civil-from-days inverse).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5322_dates_with_obsolete_forms() {
        assert_eq!(
            parse_date("Tue, 05 Mar 2024 10:11:12 +0100"),
            Some((1_709_629_872, 60))
        );
        assert_eq!(
            parse_date(" 5   Mar  2024  10:11   +0000 (UTC)"),
            Some((1_709_633_460, 0))
        );
        assert_eq!(parse_date("Thu, 1 Jan 70 00:00:00 GMT"), Some((0, 0)));
        assert_eq!(parse_date("1 Jan 1970 00:00 EST"), Some((5 * 3600, -300)));
        assert_eq!(
            parse_date("Sat, 29 Feb 2020 23:59:60 -0000"),
            Some((1_583_020_800, 0))
        );
    }

    #[test]
    fn garbage_is_not_a_date() {
        assert_eq!(parse_date("yesterday at noon, roughly"), None);
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("32 Jan 2024 10:00 +0000"), None);
    }
}
