//! Conversions between the service's values and the protocol's: errors to response codes,
//! internal dates to IMAP date-times and back.

use imap_proto::response::Code;
use imap_proto::{Date, DateTime};
use mailservice::{InternalDate, ServiceError, StoreError};
use types::civil::{civil_from_days, days_from_civil};

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
        ServiceError::Refused(reason) => (Code::Cannot, (*reason).to_string()),
        ServiceError::Rejected(reason) => (Code::Cannot, reason.clone()),
        ServiceError::NoSuchQuotaRoot => (Code::NonExistent, "No such quota root".to_string()),
        ServiceError::UnknownDomain => (Code::NonExistent, err.to_string()),
        // RFC 5530 §3: INUSE, the mailbox is in use by another session.
        ServiceError::HeldByPop3 => (Code::InUse, err.to_string()),
        ServiceError::Unavailable(_) => (Code::Unavailable, err.to_string()),
        // RFC 5530 §3: UNAVAILABLE, a temporary failure; the client may try again shortly.
        ServiceError::Moving => (Code::Unavailable, err.to_string()),
        ServiceError::Store(e) => store_code(e),
    };
    match err {
        // Damage to the store needs an administrator now (reconstruct): Cyrus's CRIT.
        ServiceError::Store(StoreError::Corrupt { .. } | StoreError::UnsupportedFormat { .. }) => {
            tracing::error!(severity = "crit", "{err}; run reconstruct on this mailbox");
        }
        ServiceError::Unavailable(_) => tracing::warn!("{err}"),
        ServiceError::Moving => tracing::info!("{err}"),
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
        StoreError::ReservedPartition(_)
        | StoreError::NoSuchPartition(_)
        | StoreError::Newsgroup(_) => Code::Cannot,
        StoreError::Remote { .. } => Code::Unavailable,
        StoreError::NoSuchMessage(_) => Code::ExpungeIssued,
        StoreError::OverQuota(_) => Code::OverQuota,
        StoreError::NoSuchQuotaRoot(_) => Code::NonExistent,
        StoreError::UidSpaceExhausted | StoreError::TooManyKeywords(_) => Code::Limit,
        StoreError::Io { .. } | StoreError::InUse(_) => Code::Unavailable,
        StoreError::Busy(_) => Code::InUse,
        StoreError::Corrupt { .. } | StoreError::UnsupportedFormat { .. } => Code::Corruption,
        StoreError::Db(_) => Code::ServerBug,
    };
    let text = if e.is_refusal() || matches!(e, StoreError::Busy(_)) {
        e.to_string()
    } else {
        "Internal error; see the server log".into()
    };
    (code, text)
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
