//! `berth images`: list images, one row per tag.

use berth_engine::Engine;
use clap::Args;
use serde_json::{Value, json};

use crate::error::{CmdResult, Failure};
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

pub fn run(e: &Engine, a: ImagesArgs) -> CmdResult {
    let mut dangling = None;
    let mut label = Vec::new();
    let mut reference = a.repository.clone();
    for f in &a.filter {
        let parsed =
            opts::parse_filter(f, &["dangling", "label", "reference", "before", "since"]).map_err(|m| {
                Failure {
                    message: m.to_string(),
                    code: 1,
                }
            })?;
        match parsed {
            Some((k, v)) if k == "dangling" => dangling = Some(v == "true" || v == "1"),
            Some((k, v)) if k == "label" => label.push(v),
            Some((k, v)) if k == "reference" => reference = Some(v),
            _ => {}
        }
    }
    let now = berth_engine::timefmt::unix_nanos() / 1_000_000_000;
    let mut rows: Vec<Value> = Vec::new();
    let mut images = e.images().list()?;
    images.sort_by_key(|i| std::cmp::Reverse(i.created));
    for img in images {
        let is_dangling = img.repo_tags.is_empty();
        if dangling.is_some_and(|d| d != is_dangling) {
            continue;
        }
        if !label.iter().all(|l| match l.split_once('=') {
            Some((k, v)) => img.labels.get(k).is_some_and(|x| x == v),
            None => img.labels.contains_key(l),
        }) {
            continue;
        }
        let id = if a.no_trunc {
            img.id.as_str().to_string()
        } else {
            img.id.short().to_string()
        };
        let tags = if is_dangling {
            vec!["<none>:<none>".to_string()]
        } else {
            img.repo_tags.clone()
        };
        for t in tags {
            let (repo, tag) = split_tag(&t);
            if let Some(r) = &reference
                && !(repo == *r || t == *r || glob_match(r, &repo) || glob_match(r, &t))
            {
                continue;
            }
            rows.push(json!({
                "ID": id,
                "Repository": repo,
                "Tag": tag,
                "Digest": img.repo_digests.first().and_then(|d| d.split_once('@')).map(|d| d.1.to_string()).unwrap_or("<none>".into()),
                "CreatedSince": format!("{} ago", human_duration(now as i64 - img.created)),
                "CreatedAt": berth_engine::timefmt::format_nanos(i128::from(img.created) * 1_000_000_000),
                "Size": human_size(img.size as i64),
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

/// Docker's reference filter patterns: `*` matches within a path component.
fn glob_match(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((pre, rest)) => {
            let Some(tail) = s.strip_prefix(pre) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| !tail[..i].contains('/') && glob_match(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_and_globs() {
        assert_eq!(
            split_tag("localhost:5000/x:1"),
            ("localhost:5000/x".into(), "1".into())
        );
        assert_eq!(split_tag("busybox:latest"), ("busybox".into(), "latest".into()));
        assert!(glob_match("busy*", "busybox"));
        assert!(!glob_match("a*", "a/b"));
        assert!(glob_match("*:latest", "busybox:latest"));
    }
}
