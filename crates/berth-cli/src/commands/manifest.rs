//! `berth manifest inspect [--insecure] [-v] NAME[:TAG|@DIGEST]`: a registry's manifest (or manifest list) shown
//! as Docker's CLI shows it — tab-indented JSON with Docker's field order; `-v` adds the reference, descriptor and
//! raw bytes of each image manifest. Like Docker's CLI this talks to the registry itself, with the credentials of
//! Docker's `config.json`, not through the engine.

use base64::Engine as _;
use berth_image::Reference;
use berth_registry::manifest::sha256_digest;
use berth_registry::{Client, Document, Endpoint, RegistryOptions};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::Value;

use crate::cli::GlobalOpts;
use crate::error::{CmdResult, Failure};

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Display an image manifest, or manifest list
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Allow communication with an insecure registry
    #[arg(long)]
    pub insecure: bool,
    /// Output additional info including layers and platform
    #[arg(short, long)]
    pub verbose: bool,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub name: String,
}

/// A descriptor in Docker's field order.
#[derive(Serialize)]
struct Descriptor {
    #[serde(rename = "mediaType")]
    media_type: Value,
    size: Value,
    digest: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<Platform>,
}

#[derive(Serialize)]
struct Platform {
    architecture: Value,
    os: Value,
    #[serde(rename = "os.version", skip_serializing_if = "Option::is_none")]
    os_version: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<Value>,
}

/// An image manifest or a manifest list, in Docker's field order.
#[derive(Serialize)]
struct Shown {
    #[serde(rename = "schemaVersion")]
    schema_version: Value,
    #[serde(rename = "mediaType", skip_serializing_if = "Option::is_none")]
    media_type: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<Descriptor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<Vec<Descriptor>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifests: Option<Vec<Descriptor>>,
}

/// One image manifest as `-v` shows it.
#[derive(Serialize)]
struct Verbose {
    #[serde(rename = "Ref")]
    reference: String,
    #[serde(rename = "Descriptor")]
    descriptor: Descriptor,
    #[serde(rename = "Raw")]
    raw: String,
    #[serde(rename = "SchemaV2Manifest", skip_serializing_if = "Option::is_none")]
    schema2: Option<Shown>,
    #[serde(rename = "OCIManifest", skip_serializing_if = "Option::is_none")]
    oci: Option<Shown>,
}

fn descriptor(v: &Value) -> Descriptor {
    let p = &v["platform"];
    let some = |x: &Value| (!x.is_null()).then(|| x.clone());
    Descriptor {
        media_type: v["mediaType"].clone(),
        size: v["size"].clone(),
        digest: v["digest"].clone(),
        platform: p.is_object().then(|| Platform {
            architecture: p["architecture"].clone(),
            os: p["os"].clone(),
            os_version: some(&p["os.version"]),
            variant: some(&p["variant"]),
        }),
    }
}

fn shown(raw: &[u8]) -> Result<Shown, Failure> {
    let v: Value =
        serde_json::from_slice(raw).map_err(|e| Failure::engine(format!("invalid manifest: {e}")))?;
    let list = |key: &str| v[key].as_array().map(|a| a.iter().map(descriptor).collect());
    Ok(Shown {
        schema_version: v["schemaVersion"].clone(),
        media_type: (!v["mediaType"].is_null()).then(|| v["mediaType"].clone()),
        config: v["config"].is_object().then(|| descriptor(&v["config"])),
        layers: list("layers"),
        manifests: list("manifests"),
    })
}

/// Go's `json.MarshalIndent(v, "", "\t")`.
fn tab_indented(v: &impl Serialize) -> Result<String, Failure> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"\t"),
    );
    v.serialize(&mut ser)
        .map_err(|e| Failure::engine(e.to_string()))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `json.Indent(raw, "", indent)`: the document as served — every field, in its order — re-indented.
fn go_indent(raw: &[u8], indent: &str) -> Result<String, Failure> {
    serde_json::from_slice::<serde::de::IgnoredAny>(raw)
        .map_err(|e| Failure::engine(format!("invalid manifest: {e}")))?;
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n(indent, depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => {}
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
                if chars.peek().is_some_and(|n| *n == '}' || *n == ']') {
                    // Empty: `{}` / `[]` on one line, as Go writes them.
                    out.extend(chars.next());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c => out.push(c),
        }
    }
    Ok(out)
}

pub fn run(g: &GlobalOpts, c: ManifestCommand) -> CmdResult {
    let ManifestCommand::Inspect(a) = c;
    let fail = |m: String| Failure { message: m, code: 1 };
    let named = Reference::parse_normalized(&a.name)
        .map_err(|e| fail(e.to_string()))?
        .with_default_tag();
    let mut options = RegistryOptions {
        insecure: g.insecure_registry.clone(),
    };
    if a.insecure {
        options.insecure.push(named.domain().to_string());
    }
    let creds = crate::registry_auth::credentials(named.domain())?;
    let client = Client::new(Endpoint::resolve(named.domain(), &options), creds);
    let repo = client.repository(named.path(), &named.familiar_name());
    let wanted = match (named.digest(), named.tag()) {
        (Some(d), _) => d.to_string(),
        (None, t) => t.unwrap_or("latest").to_string(),
    };
    let fetched = repo
        .manifest(&wanted, &named.familiar())
        .map_err(|e| fail(e.to_string()))?;
    if !a.verbose {
        // Docker's CLI indents an image manifest with tabs, a list (re-marshalled by distribution) with 3 spaces.
        let indent = match fetched.document {
            Document::Image(_) => "\t",
            Document::Index(_) => "   ",
        };
        println!("{}", go_indent(&fetched.raw, indent)?);
        return Ok(0);
    }
    let verbose = |raw: &[u8], reference: String, platform: Option<&Value>| -> Result<Verbose, Failure> {
        let s = shown(raw)?;
        let media_type = s.media_type.clone().unwrap_or(Value::Null);
        let oci = media_type
            .as_str()
            .is_some_and(|m| m.starts_with("application/vnd.oci."));
        let mut d = descriptor(&serde_json::json!({
            "mediaType": media_type, "size": raw.len(), "digest": sha256_digest(raw),
        }));
        d.platform = platform.and_then(|p| descriptor(&serde_json::json!({ "platform": p })).platform);
        let (schema2, oci) = if oci { (None, Some(s)) } else { (Some(s), None) };
        Ok(Verbose {
            reference,
            descriptor: d,
            raw: base64::engine::general_purpose::STANDARD.encode(raw),
            schema2,
            oci,
        })
    };
    match fetched.document {
        Document::Image(_) => println!(
            "{}",
            tab_indented(&verbose(&fetched.raw, named.to_string(), None)?)?
        ),
        Document::Index(entries) => {
            let mut out = Vec::new();
            for e in &entries {
                let one = repo
                    .manifest(&e.digest, &named.familiar())
                    .map_err(|e| fail(e.to_string()))?;
                let platform = e
                    .platform
                    .as_ref()
                    .map(|p| serde_json::to_value(p).unwrap_or_default());
                out.push(verbose(
                    &one.raw,
                    format!("{}@{}", named.name(), e.digest),
                    platform.as_ref(),
                )?);
            }
            println!("{}", tab_indented(&out)?);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_documents_keep_their_order() {
        let raw = br#"{"schemaVersion":2, "mediaType":"M","config":{"digest":"sha256:a","size":1},"layers":[],"annotations":{"k":"v \" , {"}}"#;
        let want = "{\n\t\"schemaVersion\": 2,\n\t\"mediaType\": \"M\",\n\t\"config\": {\n\t\t\"digest\": \"sha256:a\",\n\t\t\"size\": 1\n\t},\n\t\"layers\": [],\n\t\"annotations\": {\n\t\t\"k\": \"v \\\" , {\"\n\t}\n}";
        assert_eq!(go_indent(raw, "\t").unwrap(), want);
        assert_eq!(
            go_indent(br#"{"a":[1]}"#, "   ").unwrap(),
            "{\n   \"a\": [\n      1\n   ]\n}"
        );
        assert!(go_indent(b"{nope", "\t").is_err());
    }

    #[test]
    fn docker_field_order_and_tabs() {
        let raw = br#"{"layers":[{"digest":"sha256:b","size":2,"mediaType":"L"}],"config":{"size":1,"mediaType":"C","digest":"sha256:a"},"mediaType":"M","schemaVersion":2}"#;
        let out = tab_indented(&shown(raw).unwrap()).unwrap();
        let want = "{\n\t\"schemaVersion\": 2,\n\t\"mediaType\": \"M\",\n\t\"config\": {\n\t\t\"mediaType\": \"C\",\n\t\t\"size\": 1,\n\t\t\"digest\": \"sha256:a\"\n\t},\n\t\"layers\": [\n\t\t{\n\t\t\t\"mediaType\": \"L\",\n\t\t\t\"size\": 2,\n\t\t\t\"digest\": \"sha256:b\"\n\t\t}\n\t]\n}";
        assert_eq!(out, want);
        let list = br#"{"schemaVersion":2,"manifests":[{"mediaType":"M","digest":"sha256:c","size":3,"platform":{"os":"linux","architecture":"arm","variant":"v7"}}]}"#;
        let out = tab_indented(&shown(list).unwrap()).unwrap();
        assert!(out.contains("\"platform\": {\n\t\t\t\t\"architecture\": \"arm\",\n\t\t\t\t\"os\": \"linux\",\n\t\t\t\t\"variant\": \"v7\""), "{out}");
    }
}
