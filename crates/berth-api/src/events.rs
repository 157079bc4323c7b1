//! The daemon's event log (`GET /events`): every container, image and network action is recorded in Docker's event
//! shape, kept in a bounded in-memory history for `since` replays, and broadcast to live subscribers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::broadcast;

/// Events kept for replay, as many as dockerd keeps.
const HISTORY: usize = 256;

/// One event, serialised exactly as Docker sends it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Deprecated fields Docker still sends for containers and images.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: String,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

/// What an event is about.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

impl Event {
    /// An event of `kind` ("container", "image") about `id`, now.
    pub fn new(kind: &str, action: &str, id: &str, attributes: BTreeMap<String, String>) -> Event {
        let nanos = berth_engine::timefmt::unix_nanos() as i64;
        let legacy = matches!(kind, "container" | "image");
        Event {
            status: if legacy { action.to_string() } else { String::new() },
            id: if legacy { id.to_string() } else { String::new() },
            from: if kind == "container" {
                attributes.get("image").cloned().unwrap_or_default()
            } else {
                String::new()
            },
            kind: kind.to_string(),
            action: action.to_string(),
            actor: Actor {
                id: id.to_string(),
                attributes,
            },
            scope: "local".into(),
            time: nanos / 1_000_000_000,
            time_nano: nanos,
        }
    }
}

/// Which events a subscriber wants (`filters` of `GET /events`): every given key must match one of its values.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    filters: HashMap<String, Vec<String>>,
}

impl EventFilter {
    /// Keys Docker accepts; anything else is a 400.
    const KEYS: &'static [&'static str] = &[
        "container",
        "event",
        "image",
        "label",
        "type",
        "daemon",
        "network",
        "volume",
        "plugin",
        "node",
        "service",
        "secret",
        "config",
        "scope",
    ];

    /// Builds a filter, refusing unknown keys as Docker does.
    pub fn new(filters: HashMap<String, Vec<String>>) -> Result<Self, String> {
        if let Some(k) = filters.keys().find(|k| !Self::KEYS.contains(&k.as_str())) {
            return Err(format!("invalid filter '{k}'"));
        }
        Ok(EventFilter { filters })
    }

    /// Whether `e` passes.
    pub fn matches(&self, e: &Event) -> bool {
        self.filters.iter().all(|(key, values)| {
            values.iter().any(|v| match key.as_str() {
                "type" => &e.kind == v,
                // "exec_start" events are named "exec_start: cmd"; Docker matches on the part before the colon.
                "event" => e.action == *v || e.action.split(':').next() == Some(v.as_str()),
                "container" => {
                    e.kind == "container"
                        && (e.actor.id.starts_with(v.as_str())
                            || e.actor.attributes.get("name").is_some_and(|n| n == v))
                }
                "image" => {
                    e.actor.attributes.get("image").is_some_and(|i| i == v)
                        || (e.kind == "image"
                            && (e.actor.id == *v || e.actor.attributes.get("name") == Some(v)))
                }
                "network" => {
                    e.kind == "network"
                        && (e.actor.id.starts_with(v.as_str())
                            || e.actor.attributes.get("name").is_some_and(|n| n == v))
                }
                "label" => match v.split_once('=') {
                    Some((k, val)) => e.actor.attributes.get(k).is_some_and(|x| x == val),
                    None => e.actor.attributes.contains_key(v.as_str()),
                },
                "scope" => &e.scope == v,
                _ => false,
            })
        })
    }
}

/// The event log.
pub struct Events {
    history: Mutex<VecDeque<Event>>,
    live: broadcast::Sender<Event>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            live: broadcast::channel(HISTORY).0,
        }
    }
}

impl Events {
    /// Records and broadcasts an event.
    pub fn publish(&self, e: Event) {
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(e.clone());
        // Sent under the lock, so a subscriber sees each event exactly once: in its snapshot or live.
        let _ = self.live.send(e);
    }

    /// The recorded events at or after `since_nanos`, and a receiver of every later one.
    pub fn subscribe(&self, since_nanos: Option<i64>) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let past = match since_nanos {
            Some(since) => history.iter().filter(|e| e.time_nano >= since).cloned().collect(),
            None => Vec::new(),
        };
        (past, self.live.subscribe())
    }
}

/// Parses Docker's event time parameter: unix seconds with an optional fraction ("1700000000.5").
pub fn parse_time(s: &str) -> Result<i64, String> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().map_err(|_| format!("invalid timestamp: {s}"))?;
    let mut nanos: i64 = 0;
    if !frac.is_empty() {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("invalid timestamp: {s}"));
        }
        nanos = format!("{frac:0<9}")
            .parse()
            .map_err(|_| format!("invalid timestamp: {s}"))?;
    }
    Ok(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container_event(action: &str, name: &str) -> Event {
        let attrs = BTreeMap::from([
            ("name".to_string(), name.to_string()),
            ("image".to_string(), "busybox".to_string()),
        ]);
        Event::new("container", action, "0123456789abcdef", attrs)
    }

    #[test]
    fn shape_matches_docker() {
        let v = serde_json::to_value(container_event("start", "web")).unwrap();
        assert_eq!(v["status"], "start");
        assert_eq!(v["from"], "busybox");
        assert_eq!(v["Type"], "container");
        assert_eq!(v["Actor"]["Attributes"]["name"], "web");
        assert_eq!(v["scope"], "local");
        assert!(v["timeNano"].as_i64().unwrap() / 1_000_000_000 == v["time"].as_i64().unwrap());
    }

    #[test]
    fn filters() {
        let f = |pairs: &[(&str, &str)]| {
            let mut m: HashMap<String, Vec<String>> = HashMap::new();
            for (k, v) in pairs {
                m.entry(k.to_string()).or_default().push(v.to_string());
            }
            EventFilter::new(m).unwrap()
        };
        let e = container_event("die", "web");
        assert!(f(&[]).matches(&e));
        assert!(f(&[("event", "die"), ("event", "start")]).matches(&e));
        assert!(!f(&[("event", "start")]).matches(&e));
        assert!(f(&[("container", "web")]).matches(&e));
        assert!(f(&[("container", "0123")]).matches(&e));
        assert!(!f(&[("container", "db")]).matches(&e));
        assert!(f(&[("type", "container"), ("image", "busybox")]).matches(&e));
        assert!(!f(&[("type", "image")]).matches(&e));
        assert!(EventFilter::new(HashMap::from([("colour".into(), vec![])])).is_err());
        let attrs = BTreeMap::from([("name".to_string(), "front".to_string())]);
        let net = Event::new("network", "create", "abcdef", attrs);
        assert!(f(&[("network", "front")]).matches(&net) && f(&[("network", "abc")]).matches(&net));
        assert!(!f(&[("network", "back")]).matches(&net) && !f(&[("network", "web")]).matches(&e));
        assert_eq!(serde_json::to_value(&net).unwrap().get("status"), None);
    }

    #[test]
    fn history_then_live_without_gaps() {
        let events = Events::default();
        events.publish(container_event("create", "a"));
        let (past, mut live) = events.subscribe(Some(0));
        assert_eq!(past.len(), 1);
        events.publish(container_event("start", "a"));
        assert_eq!(live.try_recv().unwrap().action, "start");
        let (none, _) = events.subscribe(None);
        assert!(none.is_empty());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("12").unwrap(), 12_000_000_000);
        assert_eq!(parse_time("12.5").unwrap(), 12_500_000_000);
        assert_eq!(parse_time("12.000000001").unwrap(), 12_000_000_001);
        assert!(parse_time("soon").is_err());
        assert!(parse_time("1.2.3").is_err());
    }
}
