//! MIME scan throughput on a ~200 KB multipart message (text + html alternative, base64
//! attachments, a forwarded message/rfc822 with its own multipart).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn base64_block(lines: usize) -> String {
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    line.repeat(lines)
}

fn sample_message() -> Vec<u8> {
    let text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n";
    let mut m = String::new();
    m.push_str("From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.net>, ");
    m.push_str("team: carol@example.com, dave@example.com;\r\nSubject: =?utf-8?q?quarterly_r=C3=A9port?=\r\n");
    m.push_str("Date: Tue, 05 Mar 2024 10:11:12 +0100\r\nMessage-ID: <bench@example.org>\r\n");
    m.push_str("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_outer\"\r\n\r\n");
    m.push_str("This is a multi-part message in MIME format.\r\n--=_outer\r\n");
    m.push_str("Content-Type: multipart/alternative; boundary=\"=_alt\"\r\n\r\n--=_alt\r\n");
    m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
    m.push_str(&text.repeat(300));
    m.push_str("\r\n--=_alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    m.push_str(&format!("<p>{}</p>=\r\n", text.trim_end()).repeat(300));
    m.push_str("\r\n--=_alt--\r\n");
    for i in 0..4 {
        m.push_str(&format!(
            "--=_outer\r\nContent-Type: application/pdf; name=\"r{i}.pdf\"\r\n\
             Content-Disposition: attachment; filename*0*=utf-8''r%C3%A9port;\r\n filename*1=\"{i}.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        ));
        m.push_str(&base64_block(470));
    }
    m.push_str("--=_outer\r\nContent-Type: message/rfc822\r\n\r\n");
    m.push_str("From: Carol <carol@example.com>\r\nSubject: fwd\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n");
    m.push_str("--in\r\nContent-Type: text/plain\r\n\r\n");
    m.push_str(&text.repeat(100));
    m.push_str("--in--\r\n--=_outer--\r\n");
    m.into_bytes()
}

fn bench_scan(c: &mut Criterion) {
    let raw = sample_message();
    let mut group = c.benchmark_group("mime");
    group.throughput(Throughput::Bytes(raw.len() as u64));
    group.bench_function(format!("scan_{}KB_multipart", raw.len() / 1024), |b| {
        b.iter(|| message::scan(black_box(&raw)))
    });
    group.finish();
    let bytes = message::scan(&raw).to_bytes();
    c.bench_function("mime/cache_from_bytes", |b| {
        b.iter(|| message::MessageCache::from_bytes(black_box(&bytes)))
    });
}

/// What SEARCH FROM/TO pays per field whose text did not match: the search form of typical
/// (already decoded) address fields, which are their own form (a plain name, a name with 8-bit
/// text, a two-address list), and of fields that must be parsed (a bare address, comments,
/// spacing); beside it, what decoding the RFC 2047 words of such fields costs.
fn bench_address_search_form(c: &mut Criterion) {
    let typical: [&str; 3] = [
        "Walter Jones <wjones@example.com>",
        "Niaj M\u{fc}ller <nmller@mail.test>",
        "Dave Andersen <dandersen@example.com>, S\u{f8}ren Jones <sjones@lists.example.edu>",
    ];
    let parsed: [&str; 3] = [
        "wjones@example.com",
        "\"Niaj M\u{fc}ller\" <nmller@mail.test> (home)",
        "Dave Andersen <dandersen @ example.com>,  S\u{f8}ren Jones <sjones@lists.example.edu>",
    ];
    for (name, fields) in [("typical", typical), ("parsed", parsed)] {
        c.bench_function(&format!("mime/address_search_form_{name}"), |b| {
            b.iter(|| {
                for f in fields {
                    black_box(message::address_search_form(black_box(f)));
                }
            })
        });
    }
    let encoded: [&[u8]; 3] = [
        b"Walter Jones <wjones@example.com>",
        b"=?utf-8?B?TmlhaiBNw7xsbGVy?= <nmller@mail.test>",
        b"Dave Andersen <dandersen@example.com>,\r\n =?utf-8?B?U8O4cmVuIEpvbmVz?= <sjones@lists.example.edu>",
    ];
    c.bench_function("mime/decode_header_value", |b| {
        b.iter(|| {
            for f in encoded {
                black_box(message::decode_header_value(black_box(f)));
            }
        })
    });
}

criterion_group!(benches, bench_scan, bench_address_search_form);
criterion_main!(benches);
