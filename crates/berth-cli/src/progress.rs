//! Docker's JSON progress streams (pull, push) shown as Docker's CLI shows them (`jsonmessage`): on a terminal one
//! line per layer, redrawn in place with its progress bar; else plain lines without the byte counts. An error
//! message in the stream ends it as the command's failure.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};

use serde_json::Value;

use crate::error::Failure;

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Stdout,
    Stderr,
    Nowhere,
}

/// Shows the progress stream `reader` on `out`.
pub fn show(reader: impl Read, out: Output) -> Result<(), Failure> {
    let fail = |m: String| Failure { message: m, code: 1 };
    let tty = match out {
        Output::Stdout => rustix::termios::isatty(rustix::stdio::stdout()),
        Output::Stderr => rustix::termios::isatty(rustix::stdio::stderr()),
        Output::Nowhere => false,
    };
    let mut view = View {
        out,
        tty,
        lines: HashMap::new(),
    };
    for line in BufReader::new(reader).lines() {
        let line = line.map_err(|e| fail(format!("reading the progress stream: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let msg: Value =
            serde_json::from_str(&line).map_err(|e| fail(format!("bad progress message: {e}")))?;
        if let Some(err) = msg
            .get("errorDetail")
            .and_then(|d| d.get("message"))
            .and_then(Value::as_str)
        {
            return Err(Failure::engine(err));
        }
        // A push's result (`aux`) is for programs; Docker's CLI shows nothing of it.
        if msg.get("aux").is_none() {
            view.show(&msg);
        }
    }
    Ok(())
}

/// Renders progress messages the way Docker's `jsonmessage` does.
struct View {
    out: Output,
    tty: bool,
    /// Terminal lines of the layers shown since the last plain message, by id.
    lines: HashMap<String, usize>,
}

impl View {
    fn write(&self, s: &str) {
        let _ = match self.out {
            Output::Stdout => std::io::stdout().lock().write_all(s.as_bytes()),
            Output::Stderr => std::io::stderr().lock().write_all(s.as_bytes()),
            Output::Nowhere => Ok(()),
        };
    }

    fn show(&mut self, msg: &Value) {
        let status = msg.get("status").and_then(Value::as_str).unwrap_or_default();
        let id = msg.get("id").and_then(Value::as_str).filter(|i| !i.is_empty());
        let progress = msg.get("progress").and_then(Value::as_str).unwrap_or_default();
        let layer_line = msg.get("progressDetail").is_some();
        let text = match id {
            Some(id) => format!("{id}: {status}"),
            None => status.to_string(),
        };
        if !self.tty {
            // Byte counts are left out of plain output.
            if progress.is_empty() {
                self.write(&format!("{text}\n"));
            }
            return;
        }
        let Some(id) = id.filter(|_| layer_line) else {
            self.lines.clear();
            self.write(&format!("{text}\n"));
            return;
        };
        let known = self.lines.len();
        let line = *self.lines.entry(id.to_string()).or_insert(known);
        if line == known {
            self.write("\n");
        }
        let up = self.lines.len() - line;
        let full = if progress.is_empty() {
            text
        } else {
            format!("{text} {progress}")
        };
        self.write(&format!("\x1b[{up}A\r\x1b[2K{full}\r\x1b[{up}B"));
    }
}
