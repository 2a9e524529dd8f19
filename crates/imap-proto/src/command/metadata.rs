//! METADATA (RFC 5464) command arguments.

/// `getmetadata-option`s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetadataOptions {
    /// `MAXSIZE`: longest value the client wants.
    pub max_size: Option<u32>,
    /// `DEPTH`; `None` when absent (which means `0`).
    pub depth: Option<MetadataDepth>,
}

/// `"DEPTH" SP ("0" / "1" / "infinity")`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataDepth {
    Zero,
    One,
    Infinity,
}

impl MetadataDepth {
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataDepth::Zero => "0",
            MetadataDepth::One => "1",
            MetadataDepth::Infinity => "infinity",
        }
    }
}

/// An entry name and its value (`NIL` removes the entry).
pub type MetadataEntry = (String, Option<Vec<u8>>);
