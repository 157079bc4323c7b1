//! `berth pull [-q] [-a] [--platform P] NAME[:TAG|@DIGEST]`: asks the engine to pull (`POST /images/create`) and
//! shows its JSON progress stream as Docker's CLI does — on a terminal one line per layer, redrawn in place; else
//! plain lines without the byte counts — then the full reference. `run` and `create` use [`pull`] for an image
//! that is not there yet.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use berth_image::Reference;
use clap::Args;
use serde_json::Value;

use crate::error::{CmdResult, Failure};

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub name: String,
}

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Stdout,
    Stderr,
    Nowhere,
}

pub fn run(c: &Client, a: PullArgs) -> CmdResult {
    let out = if a.quiet { Output::Nowhere } else { Output::Stdout };
    let named = pull(c, &a.name, a.platform.as_deref(), a.all_tags, out)?;
    println!("{named}");
    Ok(0)
}

/// Pulls `name` (the `latest` tag when it names neither tag nor digest, unless `all_tags`), showing progress on
/// `out`; returns the full reference (`docker.io/library/busybox:latest`).
pub fn pull(
    c: &Client,
    name: &str,
    platform: Option<&str>,
    all_tags: bool,
    out: Output,
) -> Result<String, Failure> {
    let fail = |m: String| Failure { message: m, code: 1 };
    let mut named = Reference::parse_normalized(name).map_err(|e| fail(e.to_string()))?;
    if all_tags && (named.tag().is_some() || named.digest().is_some()) {
        return Err(fail("tag can't be used with --all-tags/-a".into()));
    }
    if !all_tags {
        named = named.with_default_tag();
    }
    let tag = match (named.digest(), named.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) => String::new(),
    };
    let mut params = vec![("fromImage", named.familiar_name()), ("tag", tag)];
    if let Some(p) = platform {
        params.push(("platform", p.to_string()));
    }
    let pending = c.begin(
        Method::POST,
        &format!("/images/create{}", query(&params)),
        Body::Empty,
    )?;
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
    for line in BufReader::new(pending.into_reader()).lines() {
        let line = line.map_err(|e| fail(format!("reading the pull's progress: {e}")))?;
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
        view.show(&msg);
    }
    Ok(if all_tags { named.name() } else { named.to_string() })
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
