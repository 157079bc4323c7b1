//! `berth tag`.

use berth_api::Method;
use berth_api::client::{Body, Client, query, segment};
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct TagArgs {
    /// SOURCE_IMAGE[:TAG]
    pub source: String,
    /// TARGET_IMAGE[:TAG]
    pub target: String,
}

pub fn run(c: &Client, a: TagArgs) -> CmdResult {
    // The server takes the target as repository and tag; a tag is what follows the last colon after the last slash.
    let (repo, tag) = match a.target.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
        _ => (a.target.clone(), String::new()),
    };
    let path = format!(
        "/images/{}/tag{}",
        segment(&a.source),
        query(&[("repo", repo), ("tag", tag)])
    );
    c.call(Method::POST, &path, Body::Empty)?;
    Ok(0)
}
