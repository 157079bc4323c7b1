//! `berth import`: make an image from a root filesystem tarball (a file or `-` for stdin).

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use clap::Args;
use serde_json::Value;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// file|URL|- (a file or - for stdin)
    pub file: String,
    /// [REPOSITORY[:TAG]]
    pub reference: Option<String>,
}

pub fn run(c: &Client, a: ImportArgs) -> CmdResult {
    let mut params = vec![("fromSrc", "-".to_string())];
    if let Some(r) = &a.reference {
        let (repo, tag) = match r.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
            _ => (r.clone(), String::new()),
        };
        params.push(("repo", repo));
        params.push(("tag", tag));
    }
    params.extend(a.change.iter().map(|ch| ("changes", ch.clone())));
    if let Some(m) = &a.message {
        params.push(("message", m.clone()));
    }
    if let Some(p) = &a.platform {
        params.push(("platform", p.clone()));
    }
    let source: Box<dyn std::io::Read + Send> = if a.file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&a.file)
                .map_err(|err| crate::error::Failure::engine(format!("open {}: {err}", a.file)))?,
        )
    };
    let body = Body::Reader(source, "application/x-tar");
    let answer = c
        .begin(Method::POST, &format!("/images/create{}", query(&params)), body)?
        .bytes()?;
    // A progress stream of JSON messages; the last carries the new image's id (or an error).
    for line in answer
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
    {
        let msg: Value = serde_json::from_slice(line).unwrap_or_default();
        if let Some(err) = msg["error"].as_str() {
            return Err(crate::error::Failure::engine(err));
        }
        if let Some(id) = msg["status"].as_str() {
            println!("{id}");
        }
    }
    Ok(0)
}
