//! Maildir file names: `BASE[,S=SIZE][,W=VSIZE]:2,FLAGS`. The info part after `:2,` holds
//! the flags as letters in ASCII order: `D` draft, `F` flagged, `P` passed, `R` replied
//! (answered), `S` seen, `T` trashed (`\Deleted`), and Dovecot's lower-case keyword letters.
//! Dovecot ignores `P` (IMAP has no system flag for it), and so do we.

use types::Flag;

use crate::maildir::keywords::Keywords;

/// The name up to its info part: what `dovecot-uidlist` records.
pub fn base_of(name: &str) -> &str {
    name.split_once(':').map_or(name, |(base, _)| base)
}

/// The flags of a Maildir file name, with keyword letters looked up in `keywords` (letters
/// with no keyword are dropped, as Dovecot drops them).
pub fn flags_of(name: &str, keywords: &Keywords) -> Vec<Flag> {
    let Some((_, info)) = name.split_once(':') else {
        return Vec::new();
    };
    let Some(letters) = info.strip_prefix("2,") else {
        return Vec::new();
    };
    let mut flags = Vec::new();
    for b in letters.bytes() {
        let flag = match b {
            b'D' => Some(Flag::Draft),
            b'F' => Some(Flag::Flagged),
            b'R' => Some(Flag::Answered),
            b'S' => Some(Flag::Seen),
            b'T' => Some(Flag::Deleted),
            b'a'..=b'z' => keywords.of_letter(b).map(|k| Flag::Keyword(k.to_string())),
            _ => None,
        };
        if let Some(f) = flag {
            if !flags.contains(&f) {
                flags.push(f);
            }
        }
    }
    flags
}

/// The info part (`2,` and the letters in ASCII order) for `flags`; `letter_of` gives a
/// keyword's letter (`None`: the keyword cannot be written and is left out).
pub fn info_for(flags: &[Flag], letter_of: impl Fn(&str) -> Option<u8>) -> String {
    let mut letters: Vec<u8> = flags
        .iter()
        .filter_map(|f| match f {
            Flag::Draft => Some(b'D'),
            Flag::Flagged => Some(b'F'),
            Flag::Answered => Some(b'R'),
            Flag::Seen => Some(b'S'),
            Flag::Deleted => Some(b'T'),
            Flag::Keyword(k) => letter_of(k),
        })
        .collect();
    letters.sort_unstable();
    letters.dedup();
    let mut info = String::from("2,");
    info.extend(letters.into_iter().map(char::from));
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_letters_become_flags_and_keywords() {
        let k = crate::maildir::keywords::parse(&b"0 $Forwarded\n2 other\n"[..]).unwrap();
        let flags = flags_of("1.M1P1.vm,S=30,W=34:2,DFPRSTabc", &k);
        assert_eq!(
            flags,
            [
                Flag::Draft,
                Flag::Flagged,
                Flag::Answered,
                Flag::Seen,
                Flag::Deleted,
                Flag::Keyword("$Forwarded".into()),
                Flag::Keyword("other".into()),
            ]
        );
        assert!(flags_of("1.M1P1.vm", &k).is_empty());
        assert!(flags_of("1.M1P1.vm:1,S", &k).is_empty());
        assert_eq!(base_of("1.M1P1.vm,S=3:2,S"), "1.M1P1.vm,S=3");
    }

    #[test]
    fn flags_are_written_in_ascii_order() {
        let flags = [
            Flag::Seen,
            Flag::Keyword("x".into()),
            Flag::Draft,
            Flag::Keyword("nope".into()),
        ];
        let info = info_for(&flags, |k| (k == "x").then_some(b'a'));
        assert_eq!(info, "2,DSa");
    }
}
