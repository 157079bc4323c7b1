//! `berth inspect` (containers, then images) with Docker's JSON layout or a `-f` template.

use berth_api::Method;
use berth_api::client::{Body, Client, segment};
use clap::Args;
use serde_json::Value;

use crate::error::{CmdResult, Failure};
use crate::template::{self, MissingKey, Template};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a Go template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Return JSON for specified type (container or image)
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short, long)]
    pub size: bool,
    #[arg(required = true, value_name = "NAME|ID")]
    pub names: Vec<String>,
}

/// The inspect object of a container, without berth's private fields.
pub fn container_json(c: &Client, name: &str) -> Result<Value, berth_api::Error> {
    c.json(
        Method::GET,
        &format!("/containers/{}/json", segment(name)),
        Body::Empty,
    )
}

/// Prints objects as a JSON array or through a template, Docker-style.
pub fn print_objects(objects: Vec<Value>, format: Option<&str>) -> Result<(), Failure> {
    match format {
        Some(f) => {
            // Like Docker, a field the object does not have is an error rather than "<no value>".
            let tpl = Template::parse(f)
                .map_err(|m| Failure {
                    message: m.to_string(),
                    code: 1,
                })?
                .with_missing_key(MissingKey::MapError);
            for o in objects {
                println!(
                    "{}",
                    tpl.execute(&o).map_err(|m| Failure {
                        message: m.to_string(),
                        code: 1
                    })?
                );
            }
        }
        // Docker prints Go's json.MarshalIndent with four spaces (HTML characters escaped).
        None => println!(
            "{}",
            template::go_json(&Value::Array(objects), true, Some("    "))
        ),
    }
    Ok(())
}

pub fn run(e: &Client, a: InspectArgs) -> CmdResult {
    let mut objects = Vec::new();
    let mut missing = false;
    for name in &a.names {
        let container = match a.kind.as_deref() {
            None | Some("container") => container_json(e, name).ok(),
            Some("image") => None,
            Some(other) => {
                return Err(Failure {
                    message: format!("\"{other}\" is not a valid value for --type"),
                    code: 1,
                });
            }
        };
        let found = container.or_else(|| match a.kind.as_deref() {
            None | Some("image") => super::image::image_json(e, name).ok(),
            _ => None,
        });
        match found {
            Some(v) => objects.push(v),
            None => {
                eprintln!("Error: No such object: {name}");
                missing = true;
            }
        }
    }
    print_objects(objects, a.format.as_deref())?;
    Ok(if missing { 1 } else { 0 })
}
