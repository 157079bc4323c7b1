//! `berth image …`: the image management subcommands (ls, inspect, rm, tag, import, pull, push, prune).

use berth_api::Method;
use berth_api::client::{Body, Client, query, segment};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::error::CmdResult;
use crate::format::human_size;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images
    #[command(visible_alias = "list")]
    Ls(super::images::ImagesArgs),
    /// Display detailed information on one or more images
    Inspect(ImageInspectArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(super::rmi::RmiArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(super::tag::TagArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(super::import::ImportArgs),
    /// Download an image from a registry
    Pull(super::pull::PullArgs),
    /// Upload an image to a registry
    Push(super::push::PushArgs),
    /// Remove unused images
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct ImageInspectArgs {
    /// Format output using a Go template
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// The inspect object of an image.
pub fn image_json(c: &Client, name: &str) -> Result<Value, berth_api::Error> {
    c.json(
        Method::GET,
        &format!("/images/{}/json", segment(name)),
        Body::Empty,
    )
}

pub fn run(e: &Client, c: ImageCommand) -> CmdResult {
    match c {
        ImageCommand::Ls(a) => super::images::run(e, a),
        ImageCommand::Rm(a) => super::rmi::run(e, a),
        ImageCommand::Tag(a) => super::tag::run(e, a),
        ImageCommand::Import(a) => super::import::run(e, a),
        ImageCommand::Pull(a) => super::pull::run(e, a),
        ImageCommand::Push(a) => super::push::run(e, a),
        ImageCommand::Inspect(a) => {
            let mut objects = Vec::new();
            let mut missing = false;
            for name in &a.images {
                match image_json(e, name) {
                    Ok(v) => objects.push(v),
                    Err(err) => {
                        eprintln!("Error: {err}");
                        missing = true;
                    }
                }
            }
            super::inspect::print_objects(objects, a.format.as_deref())?;
            Ok(if missing { 1 } else { 0 })
        }
        ImageCommand::Prune(a) => {
            if !a.force {
                return Err(crate::error::Failure {
                    message: "image prune needs --force (-f): there is no prompt without a terminal".into(),
                    code: 1,
                });
            }
            let filters = if a.all { r#"{"dangling":["false"]}"# } else { "{}" };
            let path = format!("/images/prune{}", query(&[("filters", filters.to_string())]));
            let report: Value = e.json(Method::POST, &path, Body::Empty)?;
            if let Some(deleted) = report["ImagesDeleted"].as_array().filter(|d| !d.is_empty()) {
                println!("Deleted Images:");
                deleted.iter().for_each(super::rmi::print_event);
                println!();
            }
            println!(
                "Total reclaimed space: {}",
                human_size(report["SpaceReclaimed"].as_i64().unwrap_or(0))
            );
            Ok(0)
        }
    }
}
