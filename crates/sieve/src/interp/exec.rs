//! Running a [`Program`]: control flow, variables, flags, the tests and the actions.
//! SKELETON: signatures fixed, bodies to be written.

use super::{Envelope, Host, MessageView, Outcome, Program, RunLimits};
use crate::ast::Script;

/// Runs `program` for one recipient. `message` may be edited (`editheader`); a script error
/// gives the implicit keep and [`Outcome::error`].
pub fn execute(
    program: &Program,
    message: &mut MessageView,
    envelope: &Envelope<'_>,
    host: &dyn Host,
    limits: &RunLimits,
) -> Outcome {
    let _ = (program, message, envelope, host, limits);
    unimplemented!("skeleton")
}

/// Whether any test in `script` is named `name`.
pub(crate) fn uses_test(script: &Script, name: &str) -> bool {
    let _ = (script, name);
    false
}
