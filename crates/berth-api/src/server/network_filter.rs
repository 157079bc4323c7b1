//! The `filters` of `GET /networks` and `POST /networks/prune`, with Docker's rules: `name` and `id` match a part of
//! the name or id, `driver` and `scope` match exactly, every `label` must match, `type` is `custom` or `builtin`,
//! `dangling` keeps the user networks without containers (or, false, the others); `until` and `label!` are prune's.

use std::collections::{BTreeMap, HashMap};

use berth_engine::NetworkView;

use crate::error::{Error, Result};

/// The networks every Docker daemon has, which `type=builtin` selects and prune never removes.
pub(crate) fn is_predefined(name: &str) -> bool {
    matches!(name, "bridge" | "host" | "none")
}

/// Whether `labels` has `want` (`key` or `key=value`), as Docker's label filters test it.
fn has_label(labels: &BTreeMap<String, String>, want: &str) -> bool {
    match want.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(want),
    }
}

/// A parsed list filter.
#[derive(Debug, Default)]
pub(crate) struct ListFilter {
    filters: HashMap<String, Vec<String>>,
    dangling: Option<bool>,
}

impl ListFilter {
    const KEYS: &'static [&'static str] = &["dangling", "driver", "id", "label", "name", "scope", "type"];

    /// Checks keys and values as Docker does (unknown keys, bad `type` or `dangling` values are 400s).
    pub(crate) fn new(filters: HashMap<String, Vec<String>>) -> Result<ListFilter> {
        if let Some(k) = filters.keys().find(|k| !Self::KEYS.contains(&k.as_str())) {
            return Err(Error::bad_request(format!("invalid filter '{k}'")));
        }
        if let Some(t) = filters
            .get("type")
            .into_iter()
            .flatten()
            .find(|t| !matches!(t.as_str(), "custom" | "builtin"))
        {
            return Err(Error::bad_request(format!("invalid filter: 'type'='{t}'")));
        }
        let dangling = match filters.get("dangling").map(Vec::as_slice) {
            None | Some([]) => None,
            Some([one]) => Some(match one.as_str() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(Error::bad_request(
                        "invalid value for filter 'dangling', must be \"true\" (or \"1\"), or \"false\" (or \"0\")",
                    ));
                }
            }),
            Some(_) => {
                return Err(Error::bad_request(
                    "got more than one value for filter key \"dangling\"",
                ));
            }
        };
        Ok(ListFilter { filters, dangling })
    }

    fn any(&self, key: &str, test: impl Fn(&str) -> bool) -> bool {
        self.filters
            .get(key)
            .is_none_or(|values| values.is_empty() || values.iter().any(|v| test(v)))
    }

    /// Whether network `v` passes.
    pub(crate) fn matches(&self, v: &NetworkView) -> bool {
        let n = &v.network;
        let builtin = is_predefined(&n.name);
        let labels = self.filters.get("label").into_iter().flatten();
        self.any("name", |x| n.name.contains(x))
            && self.any("id", |x| n.id.contains(x))
            && self.any("driver", |x| n.driver == x)
            && self.any("scope", |x| n.scope == x)
            && self.any("type", |x| (x == "builtin") == builtin)
            && labels.into_iter().all(|l| has_label(&n.labels, l))
            && self
                .dangling
                .is_none_or(|dangling| dangling == (!builtin && v.containers.is_empty()))
    }
}

/// Which unused networks a prune removes: `label` (all must match), `label!` (none may match), `until` (created
/// before that time, in unix seconds).
#[derive(Debug, Default)]
pub(crate) struct PruneFilter {
    pub(crate) labels: Vec<String>,
    pub(crate) not_labels: Vec<String>,
    pub(crate) until: Option<i64>,
}

impl PruneFilter {
    /// Parses prune filters; `parse_until` reads an `until` value.
    pub(crate) fn new(
        filters: HashMap<String, Vec<String>>,
        parse_until: impl Fn(&str) -> Result<i64>,
    ) -> Result<PruneFilter> {
        let mut f = PruneFilter::default();
        for (k, values) in filters {
            match k.as_str() {
                "label" => f.labels.extend(values),
                "label!" => f.not_labels.extend(values),
                "until" => {
                    for v in &values {
                        f.until = Some(parse_until(v)?);
                    }
                }
                _ => return Err(Error::bad_request(format!("invalid filter '{k}'"))),
            }
        }
        Ok(f)
    }

    /// Whether only `label` filters were given (what the engine's prune takes itself).
    pub(crate) fn labels_only(&self) -> bool {
        self.not_labels.is_empty() && self.until.is_none()
    }

    /// Whether unused user network `v` is to be removed.
    pub(crate) fn selects(&self, v: &NetworkView) -> bool {
        let n = &v.network;
        let created = berth_engine::timefmt::parse(&n.created).map_or(0, |ns| (ns / 1_000_000_000) as i64);
        !is_predefined(&n.name)
            && v.containers.is_empty()
            && self.labels.iter().all(|l| has_label(&n.labels, l))
            && !self.not_labels.iter().any(|l| has_label(&n.labels, l))
            && self.until.is_none_or(|until| created < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_network::store::Network;

    fn view(name: &str, id: &str, labels: &[(&str, &str)], used: bool) -> NetworkView {
        let mut containers = BTreeMap::new();
        if used {
            containers.insert(
                "c".to_string(),
                berth_engine::AttachedContainer {
                    name: "c".into(),
                    endpoint_id: String::new(),
                    mac_address: String::new(),
                    ipv4_address: String::new(),
                    ipv6_address: String::new(),
                },
            );
        }
        NetworkView {
            network: Network {
                name: name.into(),
                id: id.into(),
                driver: if name == "none" { "null" } else { "bridge" }.into(),
                scope: "local".into(),
                created: "2024-01-01T00:00:00Z".into(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Default::default()
            },
            containers,
        }
    }

    fn list(pairs: &[(&str, &str)]) -> Result<ListFilter> {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        ListFilter::new(m)
    }

    #[test]
    fn list_filters() {
        let nets = [
            view("bridge", "aaa111", &[], true),
            view("none", "bbb222", &[], false),
            view("front", "ccc333", &[("tier", "web")], false),
            view("back", "ddd444", &[("tier", "db"), ("x", "")], true),
        ];
        let names = |pairs: &[(&str, &str)]| -> Vec<String> {
            let f = list(pairs).unwrap();
            nets.iter()
                .filter(|v| f.matches(v))
                .map(|v| v.network.name.clone())
                .collect()
        };
        assert_eq!(names(&[]).len(), 4);
        assert_eq!(names(&[("name", "ron")]), ["front"]);
        assert_eq!(names(&[("name", "front"), ("name", "back")]), ["front", "back"]);
        assert_eq!(names(&[("id", "ccc")]), ["front"]);
        assert_eq!(names(&[("driver", "null")]), ["none"]);
        assert_eq!(names(&[("label", "tier")]), ["front", "back"]);
        assert_eq!(names(&[("label", "tier=db"), ("label", "x")]), ["back"]);
        assert_eq!(names(&[("type", "builtin")]), ["bridge", "none"]);
        assert_eq!(names(&[("type", "custom")]), ["front", "back"]);
        assert_eq!(names(&[("dangling", "true")]), ["front"]);
        assert_eq!(names(&[("dangling", "0")]), ["bridge", "none", "back"]);
        assert_eq!(names(&[("scope", "swarm")]), Vec::<String>::new());
        assert_eq!(
            list(&[("colour", "x")]).unwrap_err().message,
            "invalid filter 'colour'"
        );
        assert_eq!(
            list(&[("type", "x")]).unwrap_err().message,
            "invalid filter: 'type'='x'"
        );
        assert!(list(&[("dangling", "maybe")]).is_err());
        assert!(list(&[("dangling", "1"), ("dangling", "0")]).is_err());
    }

    #[test]
    fn prune_filters() {
        let until = |v: &str| v.parse::<i64>().map_err(|_| Error::bad_request("bad"));
        let f = |pairs: &[(&str, &str)]| {
            let mut m: HashMap<String, Vec<String>> = HashMap::new();
            for (k, v) in pairs {
                m.entry(k.to_string()).or_default().push(v.to_string());
            }
            PruneFilter::new(m, until)
        };
        let front = view("front", "c", &[("tier", "web")], false);
        let used = view("back", "d", &[], true);
        let bridge = view("bridge", "a", &[], false);
        let all = f(&[]).unwrap();
        assert!(all.labels_only());
        assert!(all.selects(&front) && !all.selects(&used) && !all.selects(&bridge));
        assert!(f(&[("label", "tier=web")]).unwrap().selects(&front));
        assert!(!f(&[("label", "tier=db")]).unwrap().selects(&front));
        let not = f(&[("label!", "tier")]).unwrap();
        assert!(!not.labels_only() && !not.selects(&front));
        // Created 2024-01-01 (1704067200): before 1704067201, not before 1704067200.
        assert!(f(&[("until", "1704067201")]).unwrap().selects(&front));
        assert!(!f(&[("until", "1704067200")]).unwrap().selects(&front));
        assert!(f(&[("until", "soon")]).is_err());
        assert!(f(&[("dangling", "true")]).is_err());
    }
}
