//! The entry point shared by the fuzz target (`fuzz/fuzz_targets/mbox_split.rs`) and the
//! corpus test that runs it on stable `cargo test`. Not part of the stable API.

use crate::mbox::reader::{MboxError, MboxReader, Quoting};

/// Splits `data` as an mbox with every quoting. Unquoting and leaving out state headers only
/// remove bytes, so the messages never hold more than the input; `From ` lines are numbered
/// in ascending order within the input's lines. Panics only on a bug.
pub fn split(data: &[u8]) {
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    for quoting in [Quoting::Mboxrd, Quoting::Mboxo, Quoting::None] {
        let mut reader = MboxReader::new(std::io::Cursor::new(data), quoting);
        let mut total = 0usize;
        let mut last_line = 0u64;
        loop {
            let mut out = Vec::new();
            match reader.next_message(&mut out) {
                Ok(Some(m)) => {
                    assert!(
                        m.line > last_line && m.line <= lines,
                        "line {} after {last_line}",
                        m.line
                    );
                    assert!(m.from_line.starts_with(b"From "));
                    last_line = m.line;
                    total += out.len() + m.from_line.len();
                    assert!(total <= data.len(), "{total} bytes out of {}", data.len());
                }
                Ok(None) => break,
                Err(MboxError::Syntax(e)) => {
                    assert!(e.line >= 1 && e.line <= lines, "{e:?}");
                    break;
                }
                Err(MboxError::Io(e)) => panic!("reading memory failed: {e}"),
            }
        }
    }
}
