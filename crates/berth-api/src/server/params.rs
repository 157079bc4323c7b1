//! Request parameters as Docker reads them: query strings (repeated keys, Go-style booleans, JSON `filters`) and JSON
//! bodies (size-capped, `null` meaning "not given", malformed input a 400).

use std::collections::HashMap;

use axum::body::{Body, to_bytes};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};

/// Largest JSON body accepted (a create request is a few KiB).
pub const MAX_JSON_BODY: usize = 4 << 20;

/// A parsed query string.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Result<Params> {
        let raw = raw.unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
            .map(Params)
            .map_err(|e| Error::bad_request(format!("invalid query string: {e}")))
    }

    /// The last value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Docker's boolean form values: absent, "", "0", "no", "false" and "none" are false; anything else is true.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
        })
    }

    /// An integer parameter.
    pub fn int(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Error::bad_request(format!("invalid value for {key}: {v}"))),
        }
    }

    /// The `filters` parameter: JSON `{"key": ["v", …]}` or the older `{"key": {"v": true}}`.
    pub fn filters(&self) -> Result<HashMap<String, Vec<String>>> {
        let Some(raw) = self.get("filters").filter(|v| !v.is_empty()) else {
            return Ok(HashMap::new());
        };
        let v: Value =
            serde_json::from_str(raw).map_err(|e| Error::bad_request(format!("invalid filter: {e}")))?;
        let Value::Object(map) = v else {
            return Err(Error::bad_request("invalid filter: expected an object"));
        };
        let mut out = HashMap::new();
        for (key, values) in map {
            let list = match values {
                Value::Array(items) => items
                    .into_iter()
                    .map(|i| match i {
                        Value::String(s) => Ok(s),
                        _ => Err(Error::bad_request(format!("invalid filter '{key}'"))),
                    })
                    .collect::<Result<Vec<_>>>()?,
                Value::Object(set) => set
                    .into_iter()
                    .filter(|(_, on)| on == &Value::Bool(true))
                    .map(|(k, _)| k)
                    .collect(),
                _ => return Err(Error::bad_request(format!("invalid filter '{key}'"))),
            };
            out.insert(key, list);
        }
        Ok(out)
    }
}

/// Removes `null` members from objects, recursively: Go clients send `null` for unset slices and maps, which the
/// typed model reads as "use the default".
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Reads a JSON body into `T`; an empty body is `T::default()`.
pub async fn json_body<T: DeserializeOwned + Default>(body: Body) -> Result<T> {
    let bytes = to_bytes(body, MAX_JSON_BODY)
        .await
        .map_err(|e| Error::bad_request(format!("request body too large or unreadable: {e}")))?;
    parse_json(&bytes)
}

/// Parses a JSON request body as Docker's handlers do.
pub fn parse_json<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    let mut v: Value =
        serde_json::from_slice(bytes).map_err(|e| Error::bad_request(format!("invalid JSON: {e}")))?;
    strip_nulls(&mut v);
    serde_json::from_value(v).map_err(|e| Error::bad_request(format!("invalid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_docker() {
        let p = Params::parse(Some("a=1&b=0&c=true&d=False&e=&f=yes&g=none")).unwrap();
        assert!(p.flag("a") && p.flag("c") && p.flag("f"));
        assert!(!p.flag("b") && !p.flag("d") && !p.flag("e") && !p.flag("g") && !p.flag("zzz"));
    }

    #[test]
    fn filters_in_both_shapes() {
        let q = format!(
            "filters={}",
            "%7B%22status%22%3A%5B%22running%22%5D%2C%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D"
        );
        let f = Params::parse(Some(&q)).unwrap().filters().unwrap();
        assert_eq!(f["status"], vec!["running"]);
        assert_eq!(f["label"], vec!["a=b"]);
        let bad = Params::parse(Some("filters=%5B1%5D")).unwrap();
        assert!(bad.filters().is_err());
        let junk = Params::parse(Some("filters=%7Bnope")).unwrap();
        assert_eq!(junk.filters().unwrap_err().status, 400);
    }

    #[test]
    fn json_nulls_mean_defaults() {
        #[derive(serde::Deserialize, Default, Debug)]
        #[serde(default)]
        struct T {
            a: Vec<String>,
            b: u32,
        }
        let t: T = parse_json(br#"{"a": null, "b": 3, "zzz": 1}"#).unwrap();
        assert!(t.a.is_empty());
        assert_eq!(t.b, 3);
        let t: T = parse_json(b"  ").unwrap();
        assert_eq!(t.b, 0);
        assert_eq!(parse_json::<T>(b"{nope").unwrap_err().status, 400);
        assert_eq!(parse_json::<T>(br#"{"b": "x"}"#).unwrap_err().status, 400);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_queries_and_bodies_never_panic(q in ".{0,200}", body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Ok(p) = Params::parse(Some(&q)) {
                let _ = p.filters();
                let _ = p.int("x");
                let _ = p.flag("y");
            }
            let _ = parse_json::<berth_engine::CreateRequest>(&body);
        }
    }
}
