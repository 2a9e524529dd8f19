//! Parser and encoder throughput: FETCH and SEARCH command parse (directly and through the
//! framer), FETCH response encode.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use imap_proto::command::{Section, SectionText};
use imap_proto::response::{Data, FetchFlag, FetchItem, Response};
use imap_proto::{parse_command, CommandFramer, Date, DateTime, Limits, MailboxEncoding};
use types::{Flag, ModSeq, Uid};

const FETCH: &[u8] = b"A654 UID FETCH 1:4,7,100:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (DATE FROM TO CC SUBJECT MESSAGE-ID REFERENCES)] BODY.PEEK[1.2]<0.2048>) (CHANGEDSINCE 12345)\r\n";
const SEARCH: &[u8] = b"A282 UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FLAGGED SINCE 1-Feb-1994) NOT (FROM \"Smith\" SUBJECT \"re: meeting\") UNDELETED LARGER 1024 HEADER X-Spam-Flag YES 1:*\r\n";

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, input) in [("fetch", FETCH), ("search", SEARCH)] {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| parse_command(black_box(input), MailboxEncoding::ModifiedUtf7))
        });
    }
    let pipelined = FETCH.repeat(100);
    group.throughput(Throughput::Bytes(pipelined.len() as u64));
    group.bench_function("framer_100_fetches", |b| {
        b.iter(|| {
            let mut framer = CommandFramer::new(Limits::default());
            framer.push(black_box(&pipelined));
            let mut n = 0;
            while framer.next_event().is_some() {
                n += 1;
            }
            n
        })
    });
    group.finish();
}

fn fetch_response() -> Response {
    let date = DateTime::new(
        Date::new(2024, 3, 9).unwrap_or_else(|| unreachable!()),
        (12, 0, 1),
        60,
    );
    let envelope = b"(\"Sat, 9 Mar 2024 12:00:01 +0100\" \"Quarterly report\" ((\"Alice\" NIL \"alice\" \"example.org\")) ((\"Alice\" NIL \"alice\" \"example.org\")) ((\"Alice\" NIL \"alice\" \"example.org\")) ((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL \"<123@example.org>\")".to_vec();
    let body: Vec<u8> = b"Hello Bob,\r\nplease find the report attached.\r\n".repeat(200);
    let header = Section {
        part: vec![],
        text: Some(SectionText::HeaderFields(vec![
            "DATE".into(),
            "FROM".into(),
        ])),
    };
    Response::Data(Data::Fetch {
        seq: 4711,
        items: vec![
            FetchItem::Uid(Uid::new(90210).unwrap_or(Uid::MIN)),
            FetchItem::Flags(vec![FetchFlag::Flag(Flag::Seen), FetchFlag::Flag(Flag::Answered), FetchFlag::Recent]),
            FetchItem::ModSeq(ModSeq::new(12345678).unwrap_or(ModSeq::MIN)),
            FetchItem::InternalDate(date.unwrap_or_else(|| unreachable!())),
            FetchItem::Rfc822Size(9_800),
            FetchItem::Envelope(envelope),
            FetchItem::BodySection { section: header, origin: None, data: Some(b"Date: Sat, 9 Mar 2024 12:00:01 +0100\r\nFrom: Alice <alice@example.org>\r\n\r\n".to_vec()) },
            FetchItem::BodySection { section: Section::default(), origin: None, data: Some(body) },
        ],
    })
}

fn encode(c: &mut Criterion) {
    let response = fetch_response();
    let len = response.to_bytes(MailboxEncoding::ModifiedUtf7).len();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Bytes(len as u64));
    let mut out = Vec::with_capacity(len);
    group.bench_function("fetch_response_10k", |b| {
        b.iter(|| {
            out.clear();
            black_box(&response).encode(&mut out, MailboxEncoding::ModifiedUtf7);
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, parse, encode);
criterion_main!(benches);
