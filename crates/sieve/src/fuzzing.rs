//! The entry point shared by the fuzz target (`fuzz/fuzz_targets/sieve_script.rs`) and the
//! corpus test that runs it on stable `cargo test`. Not part of the stable API.

use crate::{check, parse, parse_with, Capabilities, Limits, SUPPORTED};

/// Parses `data` as a script. A script that parses must print back to text that parses to the
/// same tree, and is checked ([`check`]) with every capability and with none: the check must
/// not panic, its error must point inside the script, and a script that checks clean must
/// require only offered capabilities. An error must point inside the script. Small limits are tried too, so that the
/// bound checks run on short inputs. Panics only on a bug.
pub fn script(data: &[u8]) {
    match parse(data) {
        Ok(mut tree) => {
            let text = tree.to_string();
            let mut again = parse(text.as_bytes())
                .unwrap_or_else(|e| panic!("printed script does not parse: {e}\n{text}"));
            let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
            for caps in [Capabilities::all(), Capabilities::only(&[])] {
                match check(&tree, &caps) {
                    Ok(checked) => assert!(
                        checked.requires.iter().all(|r| caps.supports(r)),
                        "{checked:?}"
                    ),
                    Err(e) => {
                        assert!(e.position.line >= 1 && e.position.column >= 1, "{e}");
                        assert!(
                            usize::try_from(e.position.line).unwrap_or(usize::MAX) <= lines,
                            "check error past the last line: {e}"
                        );
                    }
                }
            }
            assert!(SUPPORTED.iter().all(|s| Capabilities::all().supports(s)));
            tree.clear_positions();
            again.clear_positions();
            assert_eq!(tree, again, "printed script parses differently:\n{text}");
        }
        Err(e) => {
            let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
            assert!(e.position.line >= 1 && e.position.column >= 1, "{e}");
            assert!(
                usize::try_from(e.position.line).unwrap_or(usize::MAX) <= lines,
                "error past the last line: {e}"
            );
        }
    }
    let small = Limits {
        max_script_size: 4096,
        max_depth: 4,
        max_list_len: 3,
        max_commands: 8,
        max_tests: 8,
        max_arguments: 4,
        max_string_len: 16,
    };
    if let Err(e) = parse_with(data, &small) {
        assert!(e.position.line >= 1 && e.position.column >= 1, "{e}");
    }
}
