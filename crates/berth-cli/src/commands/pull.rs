//! `berth pull [-q] [-a] [--platform P] NAME[:TAG|@DIGEST]`: asks the engine to pull (`POST /images/create`, with
//! the registry credentials of Docker's `config.json`) and shows its progress stream as Docker's CLI does, then
//! the full reference. `run` and `create` use [`pull`] for an image
//! that is not there yet.

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use berth_image::Reference;
use clap::Args;

use crate::error::{CmdResult, Failure};
use crate::progress::{self, Output};

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
    let headers = crate::registry_auth::headers(named.domain())?;
    let pending = c.begin_with(
        Method::POST,
        &format!("/images/create{}", query(&params)),
        Body::Empty,
        &headers,
    )?;
    progress::show(pending.into_reader(), out)?;
    Ok(if all_tags { named.name() } else { named.to_string() })
}
