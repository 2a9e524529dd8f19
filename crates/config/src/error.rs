//! What reading `imapd.conf` reports: errors that stop start-up (all of a file's errors at once,
//! in the order the lines were read) and warnings that do not.

use std::fmt;

/// One problem that stops start-up, with the place it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read. The reason is text, not a `source`, so that an error chain
    /// printer (`{:#}`) does not repeat it.
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{file}:{line}: {reason}")]
    Syntax {
        file: String,
        line: usize,
        reason: String,
    },
    /// `option value` where `option: value` was meant.
    #[error("{file}:{line}: {option}: missing `:` after the option name")]
    MissingColon {
        file: String,
        line: usize,
        option: String,
    },
    #[error("{file}:{line}: {option}: {reason}")]
    BadValue {
        file: String,
        line: usize,
        option: String,
        reason: String,
    },
    /// A known option this build does not act on yet (see `Support::NotYet`).
    #[error("{file}:{line}: {option}: not supported yet")]
    NotSupported {
        file: String,
        line: usize,
        option: String,
    },
    /// Something the file must say and does not.
    #[error("{file}: {option}: {reason}")]
    Missing {
        file: String,
        option: String,
        reason: String,
    },
}

/// Every error found in a configuration, in line order (errors without a line come last).
/// Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// `errors` must not be empty (the reader only builds one when it found something).
    pub(crate) fn new(errors: Vec<ConfigError>) -> ConfigErrors {
        debug_assert!(!errors.is_empty());
        ConfigErrors(errors)
    }

    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<ConfigError> {
        self.0
    }
}

/// One error per line, so that an admin fixes the whole file in one go.
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Something worth telling the admin that does not stop start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: String,
    pub line: usize,
    pub option: String,
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: unknown option `{}` ignored",
            self.file, self.line, self.option
        )?;
        if let Some(s) = self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        Ok(())
    }
}
