//! The message as the tests see it: header fields (unfolded, RFC 2047-decoded), the addresses
//! of address fields, MIME parts and body text (`body`, RFC 5173), dates (RFC 5260), and the
//! header edits of `editheader` (RFC 5293), which later tests see. SKELETON: signatures fixed,
//! bodies to be written.

use std::sync::Arc;

/// `body`'s transform (RFC 5173 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyTransform {
    Raw,
    /// `:content` with its content-type prefixes.
    Content(Vec<String>),
    Text,
}

/// One message, parsed once for every test of an execution.
#[derive(Debug, Clone)]
pub struct MessageView {}

impl MessageView {
    /// `raw`: the whole message, or its header alone when the script does not read the body
    /// (then `body` tests see no text); `size`: the size of the whole message (`size` test).
    pub fn new(raw: &[u8], size: u64) -> MessageView {
        let _ = (raw, size);
        unimplemented!("skeleton")
    }

    pub fn size(&self) -> u64 {
        unimplemented!("skeleton")
    }

    /// The values of every field `name` (any case), in order: unfolded, RFC 2047 words
    /// decoded, leading and trailing whitespace removed (RFC 5228 §5.7).
    pub fn header_values(&self, name: &str) -> Vec<String> {
        let _ = name;
        unimplemented!("skeleton")
    }

    /// The same, not decoded (`editheader`'s `deleteheader` and `:raw` uses).
    pub fn header_raw_values(&self, name: &str) -> Vec<String> {
        let _ = name;
        unimplemented!("skeleton")
    }

    /// The addresses (`local@domain`) of every field `name`, in order, group names left out
    /// (RFC 5228 §5.1); a value that is no address list yields itself, whole.
    pub fn addresses(&self, name: &str) -> Vec<String> {
        let _ = name;
        unimplemented!("skeleton")
    }

    /// The texts a `body` test matches against under `transform`.
    pub fn body(&self, transform: &BodyTransform) -> Vec<String> {
        let _ = transform;
        unimplemented!("skeleton")
    }

    /// `addheader` (RFC 5293 §4): adds `name: value` first, or last with `last`.
    pub fn add_header(&mut self, name: &str, value: &str, last: bool) {
        let _ = (name, value, last);
        unimplemented!("skeleton")
    }

    /// `deleteheader` (RFC 5293 §5): removes the fields `name` whose (decoded) value `keep`
    /// does not protect — `delete(value)` says whether to delete; with `index`, only the
    /// index-th field (1-based; from the end with `last`). Returns how many were removed.
    pub fn delete_header(
        &mut self,
        name: &str,
        index: Option<(usize, bool)>,
        delete: &mut dyn FnMut(&str) -> bool,
    ) -> usize {
        let _ = (name, index, delete);
        unimplemented!("skeleton")
    }

    /// The header block (fields and the blank line) as edited, `None` when never edited.
    pub fn edited_header(&self) -> Option<Arc<[u8]>> {
        unimplemented!("skeleton")
    }
}
