//! Serde types for Docker's image config JSON and its container `Config` (Docker's field names and
//! `omitempty` rules). Pulled or imported config JSON is never re-serialised for hashing: image ids come
//! from the exact stored bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::digest::Digest;

/// Docker's image config (`application/vnd.docker.container.image.v1+json`). Fields are in the
/// alphabetical order Docker writes them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageConfig {
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub author: String,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub comment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub container: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_config: Option<ContainerConfig>,
    /// RFC 3339 creation time, as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub docker_version: String,
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub history: Vec<History>,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub os: String,
    #[serde(
        rename = "os.features",
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub os_features: Vec<String>,
    #[serde(
        rename = "os.version",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "nullable"
    )]
    pub os_version: String,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub parent: String,
    #[serde(deserialize_with = "nullable")]
    pub rootfs: RootFs,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub variant: String,
}

impl ImageConfig {
    /// The creation time as seconds since the epoch (0 when absent or unparsable).
    pub fn created_unix(&self) -> i64 {
        self.created
            .as_deref()
            .and_then(parse_time)
            .map_or(0, |t| t.unix_timestamp())
    }

    /// The image labels (from `config.Labels`).
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default()
    }
}

/// Parses an RFC 3339 time as Docker writes it.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Formats a time as RFC 3339 in UTC with nanoseconds, trailing zeros trimmed (Go's `RFC3339Nano`).
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    let mut s = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// `rootfs`: the layer diff ids, bottom first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RootFs {
    #[serde(rename = "type", deserialize_with = "nullable")]
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub diff_ids: Vec<Digest>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: "layers".into(),
            diff_ids: Vec::new(),
        }
    }
}

/// One `history` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub author: String,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub created_by: String,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub comment: String,
    #[serde(skip_serializing_if = "is_false", deserialize_with = "nullable")]
    pub empty_layer: bool,
}

/// Docker's container `Config`, used in image configs and by the engine for containers. Fields are in
/// Docker's order; the ones Docker always prints are not skipped (`"Env": null`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(deserialize_with = "nullable")]
    pub hostname: String,
    #[serde(deserialize_with = "nullable")]
    pub domainname: String,
    #[serde(deserialize_with = "nullable")]
    pub user: String,
    #[serde(deserialize_with = "nullable")]
    pub attach_stdin: bool,
    #[serde(deserialize_with = "nullable")]
    pub attach_stdout: bool,
    #[serde(deserialize_with = "nullable")]
    pub attach_stderr: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    #[serde(deserialize_with = "nullable")]
    pub tty: bool,
    #[serde(deserialize_with = "nullable")]
    pub open_stdin: bool,
    #[serde(deserialize_with = "nullable")]
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(skip_serializing_if = "is_false", deserialize_with = "nullable")]
    pub args_escaped: bool,
    #[serde(deserialize_with = "nullable")]
    pub image: String,
    pub volumes: Option<BTreeMap<String, Empty>>,
    #[serde(deserialize_with = "nullable")]
    pub working_dir: String,
    #[serde(deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_false", deserialize_with = "nullable")]
    pub network_disabled: bool,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub mac_address: String,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "nullable")]
    pub stop_signal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "str_slice")]
    pub shell: Option<Vec<String>>,
}

/// Docker's `HealthConfig`; durations are nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HealthConfig {
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "nullable")]
    pub interval: i64,
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "nullable")]
    pub timeout: i64,
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "nullable")]
    pub start_period: i64,
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "nullable")]
    pub start_interval: i64,
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "nullable")]
    pub retries: i64,
}

/// The empty JSON object used as the value of port and volume sets (`{"80/tcp": {}}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Empty)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Reads `null` as the type's default.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker's `StrSlice`: `null`, a string, or an array of strings.
fn str_slice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_config_prints_like_docker() {
        let c = ContainerConfig::default();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}"#
        );
        let mut c = c;
        c.exposed_ports = Some([("80/tcp".to_string(), Empty)].into());
        c.stop_signal = "SIGINT".into();
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""ExposedPorts":{"80/tcp":{}}"#), "{json}");
        assert!(json.contains(r#""StopSignal":"SIGINT""#), "{json}");
    }

    #[test]
    fn reads_docker_and_oci_configs() {
        let raw = r#"{"architecture":"amd64","config":{"Env":["PATH=/bin"],"Cmd":"sh","Labels":null,
            "ExposedPorts":{"80/tcp":{}},"Healthcheck":{"Test":["CMD","true"],"Interval":1000000000},
            "Volumes":{"/data":{}},"Hostname":null,"Unknown":1},"created":"2024-01-02T03:04:05.123456789Z",
            "history":[{"created":"2024-01-02T03:04:05Z","created_by":"x","empty_layer":true}],
            "os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]}}"#;
        let c: ImageConfig = serde_json::from_str(raw).unwrap();
        let cc = c.config.as_ref().unwrap();
        assert_eq!(cc.cmd.as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(cc.healthcheck.as_ref().unwrap().interval, 1_000_000_000);
        assert!(cc.volumes.as_ref().unwrap().contains_key("/data"));
        assert_eq!(c.rootfs.diff_ids.len(), 1);
        assert_eq!(c.created_unix(), 1_704_164_645);
        assert!(c.history[0].empty_layer);
        assert!(
            serde_json::from_str::<ImageConfig>(r#"{"rootfs":{"type":"layers","diff_ids":["x"]}}"#).is_err()
        );
    }

    #[test]
    fn top_level_keys_are_sorted() {
        let c = ImageConfig {
            architecture: "amd64".into(),
            os: "linux".into(),
            created: Some("2024-01-01T00:00:00Z".into()),
            config: Some(ContainerConfig::default()),
            comment: "c".into(),
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_slice(&serde_json::to_vec(&c).unwrap()).unwrap();
        let text = serde_json::to_string(&c).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        let mut order: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).unwrap())
            .collect();
        let sorted = order.clone();
        order.sort();
        assert_eq!(order, sorted);
        assert!(text.contains(r#""rootfs":{"type":"layers"}"#), "{text}");
    }

    #[test]
    fn time_format_matches_go() {
        let t = parse_time("2024-05-06T07:08:09.120000000Z").unwrap();
        assert_eq!(format_time(t), "2024-05-06T07:08:09.12Z");
        let t = parse_time("2024-05-06T09:08:09+02:00").unwrap();
        assert_eq!(format_time(t), "2024-05-06T07:08:09Z");
    }
}
