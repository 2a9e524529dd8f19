//! `Mail-parameters` and `Rcpt-parameters` (RFC 5321 §4.1.2):
//!
//! ```text
//! esmtp-param   = esmtp-keyword ["=" esmtp-value]
//! esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! esmtp-value   = 1*(%d33-60 / %d62-126)      ; RFC 6531 adds UTF8-non-ascii
//! ```
//!
//! The parameters Darius understands are checked and decoded here; any other is passed on in
//! `other` so the server decides whether to refuse it (555, RFC 5321 §4.1.1.11).

use crate::command::{Body, MailParams, RcptParams};
use crate::error::ParseError;
use crate::xtext::xtext_decode;

/// One `esmtp-param`, keyword upper-cased.
struct Param<'a> {
    keyword: String,
    value: Option<&'a str>,
}

/// Splits the text after a path into parameters (separated by one or more spaces).
fn esmtp_params(text: &str) -> Result<Vec<Param<'_>>, ParseError> {
    text.split([' ', '\t'])
        .filter(|word| !word.is_empty())
        .map(esmtp_param)
        .collect()
}

fn esmtp_param(word: &str) -> Result<Param<'_>, ParseError> {
    let (keyword, value) = match word.split_once('=') {
        Some((keyword, value)) => (keyword, Some(value)),
        None => (word, None),
    };
    let keyword_ok = keyword.starts_with(|c: char| c.is_ascii_alphanumeric())
        && keyword
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !keyword_ok {
        return Err(ParseError::arguments(format!("invalid parameter {word:?}")));
    }
    if let Some(value) = value {
        let value_ok = !value.is_empty()
            && value
                .chars()
                .all(|c| matches!(c, '!'..='<' | '>'..='~') || (!c.is_ascii() && !c.is_control()));
        if !value_ok {
            return Err(ParseError::arguments(format!(
                "invalid value for parameter {}",
                keyword.to_ascii_uppercase()
            )));
        }
    }
    Ok(Param {
        keyword: keyword.to_ascii_uppercase(),
        value,
    })
}

/// Sets a parameter that may appear once.
fn set_once<T>(slot: &mut Option<T>, keyword: &str, value: T) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(ParseError::arguments(format!(
            "duplicate {keyword} parameter"
        )));
    }
    *slot = Some(value);
    Ok(())
}

fn required<'a>(param: &Param<'a>) -> Result<&'a str, ParseError> {
    param
        .value
        .ok_or_else(|| ParseError::arguments(format!("{} requires a value", param.keyword)))
}

fn bad_value(param: &Param) -> ParseError {
    ParseError::arguments(format!("invalid value for parameter {}", param.keyword))
}

/// `Mail-parameters`: SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), AUTH (RFC 4954 §5), SMTPUTF8
/// (RFC 6531), ENVID and RET (RFC 3461).
pub(crate) fn mail_parameters(text: &str) -> Result<MailParams, ParseError> {
    let mut params = MailParams::default();
    for param in esmtp_params(text)? {
        match param.keyword.as_str() {
            "SIZE" => {
                let size = number(required(&param)?).ok_or_else(|| bad_value(&param))?;
                set_once(&mut params.size, "SIZE", size)?;
            }
            "BODY" => {
                let body = body(required(&param)?).ok_or_else(|| bad_value(&param))?;
                set_once(&mut params.body, "BODY", body)?;
            }
            "AUTH" => {
                let auth = xtext_decode(required(&param)?).ok_or_else(|| bad_value(&param))?;
                set_once(&mut params.auth, "AUTH", auth)?;
            }
            "SMTPUTF8" => {
                if param.value.is_some() || params.smtputf8 {
                    return Err(bad_value(&param));
                }
                params.smtputf8 = true;
            }
            "ENVID" => {
                let envid = xtext_decode(required(&param)?).ok_or_else(|| bad_value(&param))?;
                set_once(&mut params.envid, "ENVID", envid)?;
            }
            "RET" => {
                let ret = required(&param)?.to_ascii_uppercase();
                if ret != "FULL" && ret != "HDRS" {
                    return Err(bad_value(&param));
                }
                set_once(&mut params.ret, "RET", ret)?;
            }
            _ => params
                .other
                .push((param.keyword, param.value.map(str::to_owned))),
        }
    }
    Ok(params)
}

/// `Rcpt-parameters`: NOTIFY and ORCPT (RFC 3461 §4.1, §4.2).
pub(crate) fn rcpt_parameters(text: &str) -> Result<RcptParams, ParseError> {
    let mut params = RcptParams::default();
    for param in esmtp_params(text)? {
        match param.keyword.as_str() {
            "NOTIFY" => {
                let notify = notify(required(&param)?).ok_or_else(|| bad_value(&param))?;
                set_once(&mut params.notify, "NOTIFY", notify)?;
            }
            "ORCPT" => {
                let orcpt = orcpt(required(&param)?).ok_or_else(|| bad_value(&param))?;
                set_once(&mut params.orcpt, "ORCPT", orcpt)?;
            }
            _ => params
                .other
                .push((param.keyword, param.value.map(str::to_owned))),
        }
    }
    Ok(params)
}

/// `1*DIGIT` that fits in a u64 (SIZE, BDAT chunk-size).
pub(crate) fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn body(value: &str) -> Option<Body> {
    match value.to_ascii_uppercase().as_str() {
        "7BIT" => Some(Body::SevenBit),
        "8BITMIME" => Some(Body::EightBitMime),
        "BINARYMIME" => Some(Body::BinaryMime),
        _ => None,
    }
}

/// `"NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" )`, upper-cased.
fn notify(value: &str) -> Option<String> {
    let value = value.to_ascii_uppercase();
    let ok = value == "NEVER"
        || value
            .split(',')
            .all(|item| matches!(item, "SUCCESS" | "FAILURE" | "DELAY"));
    ok.then_some(value)
}

/// `orcpt-parameter = "ORCPT=" original-recipient-address`, `addr-type ";" xtext`; kept as
/// `addr-type;decoded-address`.
fn orcpt(value: &str) -> Option<String> {
    let (addr_type, address) = value.split_once(';')?;
    let type_ok = !addr_type.is_empty()
        && addr_type
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !type_ok {
        return None;
    }
    Some(format!("{addr_type};{}", xtext_decode(address)?))
}
