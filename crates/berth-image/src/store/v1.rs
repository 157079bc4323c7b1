//! The legacy v1 side of the `docker save` format: the `json` file of each layer directory and the
//! v1 ids naming those directories, computed as Docker 20.10 does (Go's JSON encoding, HTML escaping
//! included, of the v1 image object with `layer_id` and `parent` added, hashed with SHA-256).

use std::io::{self, Write};

use serde::Serialize;

use crate::config::{ContainerConfig, ImageConfig, format_time, parse_time};
use crate::digest::Digest;
use crate::error::{Error, Result};

/// Go's zero `time.Time` and `time.Unix(0, 0)` (in UTC) as JSON strings.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// One layer directory of a saved image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct V1Layer {
    /// The directory name (64 hex).
    pub(super) id: String,
    /// The content of `<id>/json`.
    pub(super) json: Vec<u8>,
}

/// Formats JSON as Go's `encoding/json` does: `<`, `>`, `&`, U+2028 and U+2029 escaped.
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escaped = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(escaped.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// `value` encoded as Go's `json.Marshal` would.
pub(super) fn go_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value
        .serialize(&mut ser)
        .map_err(|e| Error::Corrupt(format!("encode json: {e}")))?;
    Ok(out)
}

/// A time as Go prints a parsed `time.Time`.
fn go_time(stored: Option<&str>) -> String {
    match stored {
        None => ZERO_TIME.to_string(),
        Some(s) => match parse_time(s) {
            Some(t) if t.offset().is_utc() => format_time(t),
            _ => s.to_string(),
        },
    }
}

/// Docker's `V1Image`, field by field in its order; `None` is a field Go leaves out (`omitempty`).
struct V1Image<'a> {
    id: String,
    parent: String,
    comment: &'a str,
    created: String,
    container: &'a str,
    container_config: &'a ContainerConfig,
    docker_version: &'a str,
    author: &'a str,
    config: Option<&'a ContainerConfig>,
    architecture: &'a str,
    variant: &'a str,
    os: &'a str,
}

impl V1Image<'_> {
    /// The encoded fields, in struct order, without the empty `omitempty` ones.
    fn fields(&self) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let mut out = Vec::new();
        let texts = |out: &mut Vec<(&'static str, Vec<u8>)>, pairs: &[(&'static str, &str)]| -> Result<()> {
            for (key, v) in pairs {
                if !v.is_empty() {
                    out.push((*key, go_json(v)?));
                }
            }
            Ok(())
        };
        texts(
            &mut out,
            &[
                ("id", &self.id),
                ("parent", &self.parent),
                ("comment", self.comment),
            ],
        )?;
        out.push(("created", go_json(&self.created)?));
        texts(&mut out, &[("container", self.container)])?;
        out.push(("container_config", go_json(self.container_config)?));
        texts(
            &mut out,
            &[("docker_version", self.docker_version), ("author", self.author)],
        )?;
        if let Some(c) = self.config {
            out.push(("config", go_json(c)?));
        }
        texts(
            &mut out,
            &[
                ("architecture", self.architecture),
                ("variant", self.variant),
                ("os", self.os),
            ],
        )?;
        Ok(out)
    }
}

/// `{"k":v,...}` from encoded fields.
fn object(fields: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![b'{'];
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
        out.extend_from_slice(v);
    }
    out.push(b'}');
    out
}

/// Docker's `v1.CreateID`: the v1 image without its id, as a JSON object with `layer_id` and
/// `parent` set, keys sorted, hashed.
fn create_id(image: &V1Image<'_>, chain: &Digest, parent: Option<&Digest>) -> Result<Digest> {
    let mut fields: Vec<(&str, Vec<u8>)> = image.fields()?.into_iter().filter(|(k, _)| *k != "id").collect();
    fields.retain(|(k, _)| !(*k == "parent" && parent.is_some()));
    fields.push(("layer_id", go_json(chain.as_str())?));
    if let Some(p) = parent {
        fields.push(("parent", go_json(p.as_str())?));
    }
    fields.sort_by(|a, b| a.0.cmp(b.0));
    Ok(Digest::of(&object(&fields)))
}

/// The layer directories of an image with this config and these layer chain ids (bottom first).
pub(super) fn layers(config: &ImageConfig, chains: &[Digest]) -> Result<Vec<V1Layer>> {
    let empty = ContainerConfig::default();
    let mut out: Vec<V1Layer> = Vec::with_capacity(chains.len());
    let mut parent: Option<Digest> = None;
    for (i, chain) in chains.iter().enumerate() {
        let mut image = if i + 1 == chains.len() {
            V1Image {
                id: String::new(),
                parent: config.parent.clone(),
                comment: &config.comment,
                created: go_time(config.created.as_deref()),
                container: &config.container,
                container_config: config.container_config.as_ref().unwrap_or(&empty),
                docker_version: &config.docker_version,
                author: &config.author,
                config: config.config.as_ref(),
                architecture: &config.architecture,
                variant: &config.variant,
                os: &config.os,
            }
        } else {
            V1Image {
                id: String::new(),
                parent: String::new(),
                comment: "",
                created: EPOCH.to_string(),
                container: "",
                container_config: &empty,
                docker_version: "",
                author: "",
                config: None,
                architecture: "",
                variant: "",
                os: "",
            }
        };
        let id = create_id(&image, chain, parent.as_ref())?;
        image.id = id.hex().to_string();
        if let Some(p) = &parent {
            image.parent = p.hex().to_string();
        }
        image.os = &config.os;
        out.push(V1Layer {
            id: image.id.clone(),
            json: object(&image.fields()?),
        });
        parent = Some(id);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_escaping() {
        let v = vec!["a<b>&c\u{2028}", "plain \"q\" \n"];
        assert_eq!(
            go_json(&v).unwrap(),
            br#"["a\u003cb\u003e\u0026c\u2028","plain \"q\" \n"]"#
        );
    }

    #[test]
    fn layer_chain_ids_and_json() {
        let raw = r#"{"architecture":"amd64","config":{"Cmd":["sh","-c","a && b"]},"created":"2024-01-02T03:04:05.5Z",
            "os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config: ImageConfig = serde_json::from_str(raw).unwrap();
        let chains = [Digest::of(b"a"), Digest::of(b"b")];
        let l = layers(&config, &chains).unwrap();
        assert_eq!(l.len(), 2);
        let bottom = String::from_utf8(l[0].json.clone()).unwrap();
        assert!(
            bottom.starts_with(&format!(
                r#"{{"id":"{}","created":"1970-01-01T00:00:00Z","container_config":{{"Hostname":"""#,
                l[0].id
            )),
            "{bottom}"
        );
        assert!(bottom.ends_with(r#""Labels":null},"os":"linux"}"#), "{bottom}");
        let top = String::from_utf8(l[1].json.clone()).unwrap();
        assert!(
            top.starts_with(&format!(
                r#"{{"id":"{}","parent":"{}","created":"2024-01-02T03:04:05.5Z","#,
                l[1].id, l[0].id
            )),
            "{top}"
        );
        assert!(top.contains(r#""a \u0026\u0026 b""#), "{top}");
        assert!(top.ends_with(r#""architecture":"amd64","os":"linux"}"#), "{top}");
        // The bottom id hashes the sorted object without os and with the layer's chain id.
        let expect = format!(
            r#"{{"container_config":{},"created":"1970-01-01T00:00:00Z","layer_id":"{}"}}"#,
            String::from_utf8(go_json(&ContainerConfig::default()).unwrap()).unwrap(),
            chains[0]
        );
        assert_eq!(l[0].id, Digest::of(expect.as_bytes()).hex());
        // Same inputs, same ids; another chain, another id.
        assert_eq!(layers(&config, &chains).unwrap(), l);
        assert_ne!(layers(&config, &[Digest::of(b"c")]).unwrap()[0].id, l[0].id);
    }
}
