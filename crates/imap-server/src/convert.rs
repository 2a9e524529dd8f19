//! Conversions between the service's values and the protocol's: errors to response codes,
//! internal dates to IMAP date-times and back.

use imap_proto::response::Code;
use imap_proto::{Date, DateTime};
use mailservice::{InternalDate, ServiceError, StoreError};

use crate::command::Reply;

/// Where a "no such mailbox" came from: a missing APPEND/COPY target gets `[TRYCREATE]`
/// (RFC 9051 §6.3.12, §6.4.7).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Source,
    Destination,
}

/// Answers a failed service call: `NO` with the code that fits, and a log line for failures.
pub(crate) fn refuse(err: &ServiceError, target: Target) -> Reply {
    let (code, text) = match err {
        ServiceError::NoSuchMailbox if target == Target::Destination => {
            (Code::TryCreate, "Mailbox does not exist".to_string())
        }
        ServiceError::NoSuchMailbox => (Code::NonExistent, "Mailbox does not exist".to_string()),
        ServiceError::PermissionDenied => (Code::NoPerm, "Permission denied".to_string()),
        ServiceError::AlreadyExists => (Code::AlreadyExists, "Mailbox already exists".to_string()),
        ServiceError::BadName(reason) => (Code::Cannot, reason.clone()),
        ServiceError::Store(e) => store_code(e),
    };
    match err {
        // Damage to the store needs an administrator now (reconstruct): Cyrus's CRIT.
        ServiceError::Store(StoreError::Corrupt { .. } | StoreError::UnsupportedFormat { .. }) => {
            tracing::error!(severity = "crit", "{err}; run reconstruct on this mailbox");
        }
        e if !e.is_refusal() => tracing::error!(severity = "err", "{err}"),
        _ => {}
    }
    Reply::no(Some(code), &text)
}

fn store_code(e: &StoreError) -> (Code, String) {
    let code = match e {
        StoreError::TooBig { .. } => Code::TooBig,
        StoreError::NoSuchMailbox(_) => Code::NonExistent,
        StoreError::AlreadyExists(_) => Code::AlreadyExists,
        StoreError::BadMessage(_) | StoreError::InvalidName(_) | StoreError::InvalidRename(_) => {
            Code::Cannot
        }
        StoreError::ReservedPartition(_) | StoreError::NoSuchPartition(_) => Code::Cannot,
        StoreError::NoSuchMessage(_) => Code::ExpungeIssued,
        StoreError::UidSpaceExhausted | StoreError::TooManyKeywords(_) => Code::Limit,
        StoreError::Io { .. } | StoreError::InUse(_) => Code::Unavailable,
        StoreError::Corrupt { .. } | StoreError::UnsupportedFormat { .. } => Code::Corruption,
        StoreError::Db(_) => Code::ServerBug,
    };
    let text = if e.is_refusal() {
        e.to_string()
    } else {
        "Internal error; see the server log".into()
    };
    (code, text)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), after Howard Hinnant.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The first second (UTC) of a SEARCH date.
pub(crate) fn date_start(date: Date) -> i64 {
    days_from_civil(
        i64::from(date.year()),
        u32::from(date.month()),
        u32::from(date.day()),
    ) * 86_400
}

pub(crate) fn to_imap_datetime(date: InternalDate) -> Option<DateTime> {
    let local = date.unix_seconds + i64::from(date.offset_minutes) * 60;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let d = Date::new(
        u16::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )?;
    let hms = (
        (secs / 3600) as u8,
        (secs % 3600 / 60) as u8,
        (secs % 60) as u8,
    );
    DateTime::new(d, hms, date.offset_minutes)
}

pub(crate) fn from_imap_datetime(dt: DateTime) -> InternalDate {
    let (h, m, s) = dt.time();
    let local = date_start(dt.date) + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
    InternalDate {
        unix_seconds: local - i64::from(dt.zone_minutes()) * 60,
        offset_minutes: dt.zone_minutes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-1000, 0, 59, 60, 11_016, 20_513, 50_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn internal_dates_round_trip_with_zones() {
        let date = InternalDate {
            unix_seconds: 1_700_000_000,
            offset_minutes: -330,
        };
        let dt = to_imap_datetime(date).unwrap();
        assert_eq!(from_imap_datetime(dt), date);
        assert_eq!(dt.to_string(), "14-Nov-2023 16:43:20 -0530");
    }
}
