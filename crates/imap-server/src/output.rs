//! Responses waiting to be written: encoded as they are pushed, written by the session (the
//! socket's one writer) at the end of each command, or earlier when a long answer has filled
//! [`Output::FLUSH_AT`]: FETCH checks after every item and every chunk of a streamed literal,
//! so one connection buffers about that much however large the answer.

use imap_proto::command::Tag;
use imap_proto::response::{Code, Continue, Data, StatusKind, StatusResponse};
use imap_proto::{MailboxEncoding, Response};

pub(crate) struct Output {
    pub buf: Vec<u8>,
    pub encoding: MailboxEncoding,
}

impl Output {
    /// Buffered bytes past which a handler should let the session write.
    pub const FLUSH_AT: usize = 64 * 1024;

    pub fn new() -> Output {
        Output {
            buf: Vec::new(),
            encoding: MailboxEncoding::ModifiedUtf7,
        }
    }

    /// Drops the buffer's space once everything is written, if a long answer grew it past a
    /// few KiB: an idle connection should cost kilobytes, not the size of its last FETCH.
    pub fn release_idle_memory(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > imap_proto::framer::IDLE_BUFFER {
            self.buf = Vec::new();
        }
    }

    pub fn push(&mut self, response: Response) {
        response.encode(&mut self.buf, self.encoding);
    }

    pub fn data(&mut self, data: Data) {
        self.push(Response::Data(data));
    }

    pub fn untagged(&mut self, kind: StatusKind, code: Option<Code>, text: &str) {
        let mut status = StatusResponse::untagged(kind, text);
        status.code = code;
        self.push(Response::Status(status));
    }

    pub fn tagged(&mut self, tag: &Tag, kind: StatusKind, code: Option<Code>, text: &str) {
        let mut status = StatusResponse::tagged(tag.clone(), kind, text);
        status.code = code;
        self.push(Response::Status(status));
    }

    pub fn no(&mut self, tag: &Tag, code: Option<Code>, text: &str) {
        self.tagged(tag, StatusKind::No, code, text);
    }

    pub fn bad(&mut self, tag: &Tag, text: &str) {
        self.tagged(tag, StatusKind::Bad, None, text);
    }

    pub fn continuation(&mut self, text: &str) {
        self.push(Response::Continue(Continue::Text {
            code: None,
            text: text.to_string(),
        }));
    }
}
