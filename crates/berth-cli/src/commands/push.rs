//! `berth push [-a] [-q] NAME[:TAG]`: asks the engine to push (`POST /images/{name}/push`, with the registry
//! credentials of Docker's `config.json`) and shows its progress stream as Docker's CLI does.

use berth_api::Method;
use berth_api::client::{Body, Client, query, segment};
use berth_image::Reference;
use clap::Args;

use crate::error::{CmdResult, Failure};
use crate::progress::{self, Output};

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(value_name = "NAME[:TAG]")]
    pub name: String,
}

pub fn run(c: &Client, a: PushArgs) -> CmdResult {
    let fail = |m: String| Failure { message: m, code: 1 };
    let mut named = Reference::parse_normalized(&a.name).map_err(|e| fail(e.to_string()))?;
    if named.digest().is_some() {
        return Err(fail(format!("cannot push a digest reference: {}", a.name)));
    }
    if a.all_tags && named.tag().is_some() {
        return Err(fail("tag can't be used with --all-tags/-a".into()));
    }
    if !a.all_tags && named.tag().is_none() {
        if !a.quiet {
            println!("Using default tag: latest");
        }
        named = named.with_default_tag();
    }
    let tag = named.tag().unwrap_or_default().to_string();
    let path = format!(
        "/images/{}/push{}",
        segment(&named.familiar_name()),
        query(&[("tag", tag)])
    );
    let headers = crate::registry_auth::headers(named.domain())?;
    let pending = c.begin_with(Method::POST, &path, Body::Empty, &headers)?;
    let out = if a.quiet { Output::Nowhere } else { Output::Stdout };
    progress::show(pending.into_reader(), out)?;
    if a.quiet {
        println!("{named}");
    }
    Ok(0)
}
