//! BODY and BODYSTRUCTURE (RFC 3501 §7.4.2 / RFC 9051 §7.5.2) from the part tree.
//!
//! Media type tokens, parameter attributes and disposition types are upper-cased as Cyrus sends
//! them; values stay as written. A text part without a charset parameter gets the RFC 2045 §5.2
//! default `"CHARSET" "us-ascii"` after its other parameters, as Dovecot does. Extension data
//! is always sent in full (md5, disposition, language, location).

use crate::header::{self, unfold, Field};
use crate::imapstr::{nstring, string};
use crate::params::{self, Param};
use crate::part::Part;
use crate::{envelope, header::fields};

/// Whether to append the extension data (BODYSTRUCTURE) or not (BODY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extension {
    Without,
    With,
}

/// One entity twice: as scanned in `raw` (its spans find the header fields there) and in the
/// coordinates of the stored message (sizes and line counts). The two are the same tree; they
/// differ only when `raw` is a [`crate::StreamScan`] image with parts of the message left out.
pub(crate) type Twin<'a> = (&'a Part, &'a Part);

/// Appends the `body` production for `part`.
pub(crate) fn write(out: &mut Vec<u8>, raw: &[u8], (img, part): Twin<'_>, ext: Extension) {
    let hdr = span(raw, img.header_offset, img.header_len);
    let fields = fields(hdr);
    let params = type_params(&fields, part);
    out.push(b'(');
    if part.is_multipart() {
        for twin in img.children.iter().zip(&part.children) {
            write(out, raw, twin, ext);
        }
        out.push(b' ');
        string(out, part.subtype.as_bytes());
        if ext == Extension::With {
            out.push(b' ');
            param_list(out, &params);
            extension_tail(out, &fields);
        }
    } else {
        single(out, raw, (img, part), &fields, &params, ext);
    }
    out.push(b')');
}

/// `body-type-1part` without the parentheses.
fn single(
    out: &mut Vec<u8>,
    raw: &[u8],
    (img, part): Twin<'_>,
    fields: &[Field<'_>],
    params: &[Param],
    ext: Extension,
) {
    string(out, part.content_type.as_bytes());
    out.push(b' ');
    string(out, part.subtype.as_bytes());
    out.push(b' ');
    if part.content_type == "TEXT" && !params.iter().any(|(a, _)| a == b"CHARSET") {
        // RFC 2045 §5.2 / RFC 2046 §4.1.2 default, appended as Dovecot does.
        let mut with_default = params.to_vec();
        with_default.push((b"CHARSET".to_vec(), b"us-ascii".to_vec()));
        param_list(out, &with_default);
    } else {
        param_list(out, params);
    }
    for name in ["content-id", "content-description"] {
        out.push(b' ');
        nstring(out, text(fields, name).as_deref());
    }
    out.push(b' ');
    string(out, part.encoding.as_token().as_bytes());
    out.extend_from_slice(format!(" {}", part.body_len).as_bytes());
    if let (Some(img_inner), Some(inner)) = (img.message.as_deref(), part.message.as_deref()) {
        out.push(b' ');
        let inner_hdr = span(raw, img_inner.header_offset, img_inner.header_len);
        envelope::write(out, &header::fields(inner_hdr));
        out.push(b' ');
        write(out, raw, (img_inner, inner), ext);
        out.extend_from_slice(format!(" {}", part.body_lines).as_bytes());
    } else if part.content_type == "TEXT" {
        out.extend_from_slice(format!(" {}", part.body_lines).as_bytes());
    }
    if ext == Extension::With {
        out.push(b' ');
        nstring(out, text(fields, "content-md5").as_deref());
        extension_tail(out, fields);
    }
}

/// `SP body-fld-dsp SP body-fld-lang SP body-fld-loc`.
fn extension_tail(out: &mut Vec<u8>, fields: &[Field<'_>]) {
    out.push(b' ');
    match header::last(fields, "content-disposition").and_then(params::disposition) {
        Some(d) => {
            out.push(b'(');
            string(out, d.kind.as_bytes());
            out.push(b' ');
            param_list(out, &d.params);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    let langs = header::last(fields, "content-language")
        .map(params::languages)
        .unwrap_or_default();
    if langs.is_empty() {
        out.extend_from_slice(b"NIL");
    } else {
        out.push(b'(');
        for (i, l) in langs.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            string(out, l);
        }
        out.push(b')');
    }
    out.push(b' ');
    nstring(out, text(fields, "content-location").as_deref());
}

/// The Content-Type parameters, if the field is what gave the part its type (a defaulted part,
/// e.g. an invalid or too deeply nested one, reports none).
fn type_params(fields: &[Field<'_>], part: &Part) -> Vec<Param> {
    match header::last(fields, "content-type").and_then(params::content_type) {
        Some(ct) if ct.kind == part.content_type && ct.subtype == part.subtype => ct.params,
        _ => Vec::new(),
    }
}

/// `body-fld-param`.
fn param_list(out: &mut Vec<u8>, params: &[Param]) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (attr, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        string(out, attr);
        out.push(b' ');
        string(out, value);
    }
    out.push(b')');
}

fn text(fields: &[Field<'_>], name: &str) -> Option<Vec<u8>> {
    header::last(fields, name).map(unfold)
}

pub(crate) fn span(raw: &[u8], offset: u64, len: u64) -> &[u8] {
    let start = (offset as usize).min(raw.len());
    let end = start.saturating_add(len as usize).min(raw.len());
    &raw[start..end]
}
