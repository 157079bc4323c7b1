//! A bearer token service shaped like Docker Hub's: `GET /token?service=&scope=…` (one `scope=` per resource,
//! basic credentials or none, `offline_token=true` for a refresh token) and the OAuth2 `POST /token` refresh
//! grant, answering `{"token": JWT}` signed by its [`Signer`]. The configured user gets every action asked for,
//! callers without credentials what [`Anonymous`] says, wrong credentials a 401. Every request is recorded, with
//! whether it was authenticated, for tests to check the scopes asked for. Stopped on drop.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::Signer;

/// The `service` the registry names in its challenge (the tokens' audience).
pub const SERVICE: &str = "berth-test-service";
/// The tokens' issuer.
pub const ISSUER: &str = "berth-test-issuer";
/// The refresh token handed to the configured user.
pub const REFRESH_TOKEN: &str = "refresh-for-tester";

/// What callers without credentials are granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anonymous {
    /// A token without access: the repositories are private.
    Nothing,
    /// `pull` of what they ask for: the repositories are public, as on Docker Hub.
    Pull,
}

/// A request the service received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// `GET /token?…`, or `POST /token` followed by its form.
    pub line: String,
    /// Whether it carried the configured user's credentials (the password, or the refresh token).
    pub authenticated: bool,
}

/// A running token service.
pub struct TokenService {
    port: u16,
    signer: Signer,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Who gets what.
struct Policy {
    signer: Signer,
    user: String,
    /// The `Authorization` header of the configured user.
    basic: String,
    anonymous: Anonymous,
}

/// An answer: status line, JSON body, and whether the caller was authenticated.
struct Answer {
    status: &'static str,
    body: String,
    authenticated: bool,
}

impl Answer {
    fn refused(status: &'static str, body: &str) -> Answer {
        Answer {
            status,
            body: body.to_string(),
            authenticated: false,
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = (b[i] == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (escaped, b[i]) {
            (Some(v), _) => {
                out.push(v);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, c) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&b=2&b=3` → {a: [1], b: [2, 3]}.
fn params(query: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(percent_decode(k)).or_default().push(percent_decode(v));
    }
    out
}

fn first<'a>(p: &'a HashMap<String, Vec<String>>, key: &str) -> &'a str {
    p.get(key).and_then(|v| v.first()).map_or("", String::as_str)
}

impl Policy {
    /// The `access` claim for `scopes` (`TYPE:NAME:ACTIONS`, several per parameter when space-separated).
    fn access(&self, scopes: &[String], authenticated: bool) -> Vec<Value> {
        if !authenticated && self.anonymous == Anonymous::Nothing {
            return Vec::new();
        }
        scopes
            .iter()
            .flat_map(|s| s.split(' '))
            .filter_map(|s| {
                let mut parts = s.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                let granted: Vec<&str> = actions
                    .split(',')
                    .filter(|a| authenticated || *a == "pull")
                    .collect();
                Some(json!({"type": kind, "name": name, "actions": granted}))
            })
            .collect()
    }

    fn answer(&self, method: &str, target: &str, auth: Option<&str>, body: &str) -> Answer {
        let (form, authenticated) = if method == "POST" {
            let form = params(body);
            if first(&form, "grant_type") != "refresh_token" || first(&form, "refresh_token") != REFRESH_TOKEN
            {
                return Answer::refused("400 Bad Request", r#"{"error":"invalid_grant"}"#);
            }
            (form, true)
        } else {
            let form = params(target.split_once('?').map_or("", |(_, q)| q));
            match auth {
                Some(a) if a == self.basic => (form, true),
                Some(_) => {
                    return Answer::refused(
                        "401 Unauthorized",
                        r#"{"details":"incorrect username or password"}"#,
                    );
                }
                None => (form, false),
            }
        };
        let scopes = form.get("scope").cloned().unwrap_or_default();
        let subject = if authenticated { self.user.as_str() } else { "" };
        let token = self.signer.token(subject, self.access(&scopes, authenticated));
        let mut answer = json!({"token": token, "access_token": token, "expires_in": 300});
        if authenticated && method == "GET" && first(&form, "offline_token") == "true" {
            answer["refresh_token"] = REFRESH_TOKEN.into();
        }
        Answer {
            status: "200 OK",
            body: answer.to_string(),
            authenticated,
        }
    }
}

/// Reads one request, records it, answers it.
fn serve(conn: TcpStream, policy: &Policy, log: &Mutex<Vec<TokenRequest>>) {
    // A client that connects and says nothing must not hold the service (or its shutdown) forever.
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut auth = None;
    let mut length = 0;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        let Some((k, v)) = h.split_once(':') else { continue };
        if k.eq_ignore_ascii_case("authorization") {
            auth = Some(v.trim().to_string());
        } else if k.eq_ignore_ascii_case("content-length") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let answer = policy.answer(method, target, auth.as_deref(), &body);
    // Recorded before the answer goes out: once a client has its token, the test sees the request.
    log.lock().expect("request log lock").push(TokenRequest {
        line: format!("{method} {target} {body}").trim().to_string(),
        authenticated: answer.authenticated,
    });
    let _ = write!(
        reader.get_mut(),
        "HTTP/1.1 {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.status,
        answer.body.len(),
        answer.body
    );
}

impl TokenService {
    /// A service on a free 127.0.0.1 port granting `user`:`password` every action asked for, and callers without
    /// credentials what `anonymous` says.
    pub fn start(user: &str, password: &str, anonymous: Anonymous) -> TokenService {
        let signer = Signer::generate();
        let policy = Policy {
            signer: signer.clone(),
            user: user.to_string(),
            basic: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            ),
            anonymous,
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the token service");
        let port = listener.local_addr().expect("token service address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, halt) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(conn) = conn {
                    serve(conn, &policy, &log);
                }
            }
        });
        TokenService {
            port,
            signer,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The key the service signs with, to mint tokens directly (say, for a test's own uploads).
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The registry's `auth:` configuration (a YAML line) for trusting this service.
    pub fn registry_config(&self) -> String {
        format!(
            "auth: {{token: {{realm: \"http://127.0.0.1:{}/token\", service: {SERVICE}, issuer: {ISSUER}, rootcertbundle: {}}}}}\n",
            self.port,
            self.signer.certificate().display()
        )
    }

    /// The requests received so far, oldest first.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().expect("request log lock").clone()
    }
}

impl Drop for TokenService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded_and_repeatable() {
        let p =
            params("scope=repository%3Aa%2Fb%3Apull%2Cpush&scope=repository%3Ac%3Apull&x=a+b&bad=%zz&end=%4");
        assert_eq!(p["scope"], ["repository:a/b:pull,push", "repository:c:pull"]);
        assert_eq!(
            (first(&p, "x"), first(&p, "bad"), first(&p, "end")),
            ("a b", "%zz", "%4")
        );
        assert_eq!(first(&p, "missing"), "");
    }

    /// Asks the service over HTTP; returns the status line and the JSON body.
    fn ask(service: &TokenService, request: &str) -> (String, Value) {
        let mut conn = TcpStream::connect(("127.0.0.1", service.port)).unwrap();
        conn.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        (
            head.lines().next().unwrap().to_string(),
            serde_json::from_str(body).unwrap(),
        )
    }

    fn access(answer: &Value) -> Value {
        let claims = answer["token"].as_str().unwrap().split('.').nth(1).unwrap();
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap();
        serde_json::from_slice::<Value>(&claims).unwrap()["access"].clone()
    }

    #[test]
    fn grants_follow_the_credentials_and_are_recorded() {
        let get =
            "GET /token?service=s&scope=repository%3Ateam%2Fapp%3Apull%2Cpush&offline_token=true HTTP/1.1";
        let private = TokenService::start("tester", "pw", Anonymous::Nothing);
        let (status, answer) = ask(&private, &format!("{get}\r\n\r\n"));
        assert_eq!((status.as_str(), access(&answer)), ("HTTP/1.1 200 OK", json!([])));
        let authed = format!("{get}\r\nAuthorization: Basic dGVzdGVyOnB3\r\n\r\n");
        let (_, answer) = ask(&private, &authed);
        assert_eq!(
            access(&answer),
            json!([{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}])
        );
        assert_eq!(answer["refresh_token"], REFRESH_TOKEN);
        let (status, _) = ask(
            &private,
            &format!("{get}\r\nAuthorization: Basic d3Jvbmc6d3Jvbmc=\r\n\r\n"),
        );
        assert_eq!(status, "HTTP/1.1 401 Unauthorized");
        let flags: Vec<bool> = private.requests().iter().map(|r| r.authenticated).collect();
        assert_eq!(flags, [false, true, false]);
        assert!(
            private.requests()[0]
                .line
                .starts_with("GET /token?service=s&scope=")
        );

        let public = TokenService::start("tester", "pw", Anonymous::Pull);
        let (_, answer) = ask(&public, &format!("{get}\r\n\r\n"));
        assert_eq!(
            access(&answer),
            json!([{"type": "repository", "name": "team/app", "actions": ["pull"]}])
        );
        assert!(answer.get("refresh_token").is_none());
        let form =
            format!("grant_type=refresh_token&refresh_token={REFRESH_TOKEN}&scope=repository%3Ax%3Apush");
        let post = format!(
            "POST /token HTTP/1.1\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        );
        let (_, answer) = ask(&public, &post);
        assert_eq!(
            access(&answer),
            json!([{"type": "repository", "name": "x", "actions": ["push"]}])
        );
        let (status, _) = ask(
            &public,
            "POST /token HTTP/1.1\r\nContent-Length: 19\r\n\r\ngrant_type=password",
        );
        assert_eq!(status, "HTTP/1.1 400 Bad Request");
        let last = public.requests();
        assert_eq!(
            last[1],
            TokenRequest {
                line: format!("POST /token {form}"),
                authenticated: true
            }
        );
    }
}
