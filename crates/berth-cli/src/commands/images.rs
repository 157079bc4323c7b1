//! `berth images`: list images, one row per tag.

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use clap::Args;
use serde_json::{Value, json};

use crate::error::CmdResult;
use berth_engine::timefmt::human_duration;

use crate::format::human_size;
use crate::{opts, output};

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Only images of this repository (REPOSITORY[:TAG])
    pub repository: Option<String>,
}

const DEFAULT_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("ID", "IMAGE ID"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
];

/// Splits a familiar `name:tag` into (repository, tag).
fn split_tag(reference: &str) -> (String, String) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (reference.to_string(), "<none>".to_string()),
    }
}

pub fn run(c: &Client, a: ImagesArgs) -> CmdResult {
    let mut filters = opts::parse_filters(&a.filter, &["dangling", "label", "reference", "before", "since"])?;
    if let Some(r) = &a.repository {
        filters.entry("reference".into()).or_default().push(r.clone());
    }
    let filters = serde_json::to_string(&filters).unwrap_or_default();
    let path = format!(
        "/images/json{}",
        query(&[("all", a.all.to_string()), ("filters", filters)])
    );
    let images: Vec<Value> = c.json(Method::GET, &path, Body::Empty)?;
    let now = berth_engine::timefmt::unix_nanos() / 1_000_000_000;
    let mut rows: Vec<Value> = Vec::new();
    for img in &images {
        let full_id = img["Id"].as_str().unwrap_or_default();
        let id = if a.no_trunc {
            full_id.to_string()
        } else {
            full_id.trim_start_matches("sha256:").chars().take(12).collect()
        };
        let tags: Vec<String> = img["RepoTags"]
            .as_array()
            .map(|t| t.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let tags = if tags.is_empty() {
            vec!["<none>:<none>".to_string()]
        } else {
            tags
        };
        let created = img["Created"].as_i64().unwrap_or(0);
        let digest = img["RepoDigests"]
            .as_array()
            .and_then(|d| d.first())
            .and_then(|d| d.as_str())
            .and_then(|d| d.split_once('@'))
            .map_or("<none>".to_string(), |d| d.1.to_string());
        for t in tags {
            let (repo, tag) = split_tag(&t);
            rows.push(json!({
                "ID": id,
                "Repository": repo,
                "Tag": tag,
                "Digest": digest,
                "CreatedSince": format!("{} ago", human_duration(now as i64 - created)),
                "CreatedAt": berth_engine::timefmt::format_nanos(i128::from(created) * 1_000_000_000),
                "Size": human_size(img["Size"].as_i64().unwrap_or(0)),
            }));
        }
    }
    if a.quiet {
        let mut seen = Vec::new();
        for r in &rows {
            let id = r["ID"].as_str().unwrap_or_default().to_string();
            if !seen.contains(&id) {
                println!("{id}");
                seen.push(id);
            }
        }
        return Ok(0);
    }
    print!(
        "{}",
        output::render(
            a.format.as_deref(),
            DEFAULT_TABLE,
            HEADERS,
            &rows,
            "*formatter.ImageContext"
        )?
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split() {
        assert_eq!(
            split_tag("localhost:5000/x:1"),
            ("localhost:5000/x".into(), "1".into())
        );
        assert_eq!(split_tag("busybox:latest"), ("busybox".into(), "latest".into()));
    }
}
