//! Runs the firewall tools (`nft`, `iptables-save`, `iptables-restore`): input on stdin, stdout returned, and a
//! failure's stderr folded into a one-line error.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{Error, Result};

/// Runs `program args…`, feeding it `input` on stdin when given, and returns its stdout.
pub(super) fn run(program: &'static str, args: &[&str], input: Option<&[u8]>) -> Result<String> {
    let spawn_err = |source| Error::Spawn { program, source };
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_err)?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // A failed write (the tool exited early) is reported through its exit status and stderr below.
        let _ = stdin.write_all(input);
    }
    let out = child.wait_with_output().map_err(spawn_err)?;
    if !out.status.success() {
        return Err(Error::Tool {
            program,
            message: one_line(&out.stderr, &out.status.to_string()),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| Error::Output {
        program,
        message: "output is not UTF-8".to_string(),
    })
}

/// Joins the non-empty lines of a tool's stderr with "; " (or gives `fallback` when there are none).
fn one_line(stderr: &[u8], fallback: &str) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        fallback.to_string()
    } else {
        lines.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firewall_exec_returns_stdout_and_folds_stderr() {
        assert_eq!(run("cat", &[], Some(b"a\nb\n")).unwrap(), "a\nb\n");
        let err = run(
            "sh",
            &["-c", "echo ' first' >&2; echo >&2; echo second >&2; exit 3"],
            None,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "sh failed: first; second");
        let err = run("sh", &["-c", "exit 4"], None).unwrap_err();
        assert_eq!(err.to_string(), "sh failed: exit status: 4");
        assert!(matches!(
            run("/nonexistent/tool", &[], None),
            Err(Error::Spawn { .. })
        ));
    }
}
