//! The gateway's JSON conventions (protobuf's JSON mapping): `bytes` fields in base64,
//! `int64` fields as strings; and the splitting of a streamed body into its JSON messages.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// Standard base64 that writes padding and accepts it or its absence when reading.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `bytes` fields: base64 strings.
pub(crate) mod b64 {
    use super::*;

    /// Writes `value` as a base64 string.
    pub fn serialize<S: Serializer, T: AsRef<[u8]>>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(value.as_ref()))
    }

    /// Reads a base64 string (`null` reads as empty).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: Option<String> = serde::Deserialize::deserialize(d)?;
        match text {
            None => Ok(Vec::new()),
            Some(text) => BASE64
                .decode(text.as_bytes())
                .map_err(|e| de::Error::custom(format!("bad base64: {e}"))),
        }
    }
}

/// `bytes` as a base64 string.
pub(crate) fn encode_b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// `uint64` fields (member and cluster IDs): read from strings or numbers.
pub(crate) mod uint64 {
    use super::*;

    /// Reads an unsigned integer given as a string or a number (`null` reads as 0).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(Uint64Visitor)
    }

    /// Accepts the forms a `uint64` takes in protobuf's JSON mapping.
    struct Uint64Visitor;

    impl<'de> Visitor<'de> for Uint64Visitor {
        type Value = u64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an unsigned 64-bit integer, as a string or a number")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom("negative unsigned integer"))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            v.parse()
                .map_err(|_| E::custom(format!("{v:?} is not an unsigned 64-bit integer")))
        }

        fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
            Ok(0)
        }
    }
}

/// `int64` fields: written as decimal strings, read from strings or numbers.
pub(crate) mod int64 {
    use super::*;

    /// Writes `value` as a decimal string.
    pub fn serialize<S: Serializer>(value: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    /// Reads an integer given as a string or a number (`null` reads as 0).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(Int64Visitor)
    }

    /// Accepts the forms an `int64` takes in protobuf's JSON mapping.
    struct Int64Visitor;

    impl<'de> Visitor<'de> for Int64Visitor {
        type Value = i64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a 64-bit integer, as a string or a number")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("integer out of range"))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            v.parse()
                .map_err(|_| E::custom(format!("{v:?} is not a 64-bit integer")))
        }

        fn visit_unit<E: de::Error>(self) -> Result<i64, E> {
            Ok(0)
        }
    }
}

/// Whether an `int64` field holds its default, which protobuf's JSON mapping leaves out.
pub(crate) fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// Whether a `bool` field holds its default.
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// Cuts a stream of JSON objects (the gateway writes one per chunk, each followed by a
/// newline) into whole objects, whatever the chunk boundaries; holds at most `limit` bytes.
///
/// It only finds where each object ends (tracking strings, escapes and nesting); serde
/// checks the object itself.
#[derive(Debug)]
pub(crate) struct JsonSplitter {
    buf: Vec<u8>,
    /// How far `buf` has been scanned for the end of its first object.
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    limit: usize,
}

impl JsonSplitter {
    /// A splitter that holds at most `limit` bytes of an unfinished object.
    pub fn new(limit: usize) -> JsonSplitter {
        JsonSplitter {
            buf: Vec::new(),
            scanned: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            limit,
        }
    }

    /// How many more bytes may be pushed before the bound is reached.
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.buf.len())
    }

    /// Takes in `data` (up to [`JsonSplitter::room`] bytes).
    pub fn push(&mut self, data: &[u8]) -> Result<(), String> {
        if data.len() > self.room() {
            return Err(format!(
                "a streamed JSON message is larger than {} bytes",
                self.limit
            ));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// The next whole object, if one has arrived.
    pub fn next_object(&mut self) -> Result<Option<Vec<u8>>, String> {
        if self.depth == 0 {
            let blank = self
                .buf
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            self.buf.drain(..blank);
            self.scanned = 0;
            match self.buf.first() {
                None => return Ok(None),
                Some(b'{') => {}
                Some(&other) => {
                    return Err(format!(
                        "a streamed message starts with {:?}, not an object",
                        other as char
                    ))
                }
            }
        }
        while self.scanned < self.buf.len() {
            let b = self.buf[self.scanned];
            self.scanned += 1;
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    (false, _) => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self
                        .depth
                        .checked_sub(1)
                        .ok_or_else(|| "unbalanced JSON in a streamed message".to_string())?;
                    if self.depth == 0 {
                        let object: Vec<u8> = self.buf.drain(..self.scanned).collect();
                        self.scanned = 0;
                        return Ok(Some(object));
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
    struct Sample {
        #[serde(default, with = "int64")]
        n: i64,
        #[serde(default, with = "b64")]
        k: Vec<u8>,
    }

    #[test]
    fn int64_reads_strings_numbers_and_null_and_writes_strings() {
        let s: Sample = serde_json::from_str(r#"{"n":"-42","k":"Zm9v"}"#).unwrap();
        assert_eq!(
            s,
            Sample {
                n: -42,
                k: b"foo".to_vec()
            }
        );
        let s: Sample = serde_json::from_str(r#"{"n":7,"k":"Zm8"}"#).unwrap();
        assert_eq!(
            s,
            Sample {
                n: 7,
                k: b"fo".to_vec()
            }
        );
        let s: Sample = serde_json::from_str(r#"{"n":null,"k":null}"#).unwrap();
        assert_eq!(
            s,
            Sample {
                n: 0,
                k: Vec::new()
            }
        );
        let s: Sample = serde_json::from_str("{}").unwrap();
        assert_eq!(
            s,
            Sample {
                n: 0,
                k: Vec::new()
            }
        );
        assert_eq!(
            serde_json::to_string(&Sample {
                n: 5,
                k: vec![0xff]
            })
            .unwrap(),
            r#"{"n":"5","k":"/w=="}"#
        );
    }

    #[test]
    fn bad_integers_and_base64_are_errors() {
        for text in [
            r#"{"n":"x"}"#,
            r#"{"n":"99999999999999999999"}"#,
            r#"{"n":18446744073709551615}"#,
            r#"{"n":1.5}"#,
            r#"{"n":true}"#,
            r#"{"k":"***"}"#,
            r#"{"k":12}"#,
            r#"{"n":"1""#,
            "",
            "[",
        ] {
            assert!(serde_json::from_str::<Sample>(text).is_err(), "{text}");
        }
    }

    #[test]
    fn the_splitter_finds_objects_across_any_boundary() {
        let stream = b"{\"result\":{\"a\":\"}{\\\"\"}}\n{\"b\":[1,{}]}\n";
        for cut in 0..stream.len() {
            let mut s = JsonSplitter::new(1024);
            let mut found = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                s.push(part).unwrap();
                while let Some(o) = s.next_object().unwrap() {
                    found.push(o);
                }
            }
            assert_eq!(found.len(), 2, "cut at {cut}");
            assert_eq!(found[0], b"{\"result\":{\"a\":\"}{\\\"\"}}");
            assert_eq!(found[1], b"{\"b\":[1,{}]}");
        }
    }

    #[test]
    fn the_splitter_refuses_garbage_and_oversized_messages() {
        let mut s = JsonSplitter::new(1024);
        s.push(b"  garbage").unwrap();
        assert!(s.next_object().is_err());
        let mut s = JsonSplitter::new(1024);
        s.push(b"{]]").unwrap();
        let object = s.next_object().unwrap().unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&object).is_err());
        assert!(s.next_object().is_err());
        let mut s = JsonSplitter::new(8);
        s.push(b"{\"a\":").unwrap();
        assert_eq!(s.next_object().unwrap(), None);
        assert!(s.push(b"\"long\"}").is_err());
    }

    proptest::proptest! {
        /// Random bytes in random pieces never panic the splitter, and what it cuts out never
        /// panics the watch and range decoders.
        #[test]
        fn random_streams_never_panic_the_splitter(
            pieces in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(b"{}[]\"\\ \nax:,0".to_vec()),
                    0..64,
                ),
                0..8,
            ),
        ) {
            let mut s = JsonSplitter::new(256);
            for piece in pieces {
                if s.push(&piece).is_err() {
                    break;
                }
                while let Ok(Some(object)) = s.next_object() {
                    let _ = serde_json::from_slice::<crate::kv::RangeResponse>(&object);
                }
            }
        }
    }
}
