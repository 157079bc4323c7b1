//! The CLI's failure type: a one-line message and the exit code Docker would use.

use std::fmt;

/// A command failure.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: i32,
}

impl Failure {
    /// An engine-side failure (exit 125, like Docker's CLI for daemon errors in run/create/start).
    pub fn engine(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 125,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<berth_engine::Error> for Failure {
    fn from(e: berth_engine::Error) -> Self {
        Failure {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

impl From<berth_api::Error> for Failure {
    /// The daemon's errors, with Docker's exit codes: 125, or for a container whose command cannot run, 127 (not
    /// found) or 126 (cannot be invoked), told apart by the message as Docker's CLI does.
    fn from(e: berth_api::Error) -> Self {
        let m = e.message.to_lowercase();
        let code = if m.contains("executable file not found") || m.contains("no such file or directory") {
            127
        } else if m.contains("permission denied")
            || m.contains("is a directory")
            || m.contains("cannot be invoked")
        {
            126
        } else {
            125
        };
        Failure {
            code,
            message: e.message,
        }
    }
}

impl From<berth_image::Error> for Failure {
    fn from(e: berth_image::Error) -> Self {
        Failure::engine(e.to_string())
    }
}

impl From<berth_runtime::Error> for Failure {
    fn from(e: berth_runtime::Error) -> Self {
        Failure::engine(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::engine(e.to_string())
    }
}

/// What commands return: the process exit code, or a failure.
pub type CmdResult = Result<i32, Failure>;
