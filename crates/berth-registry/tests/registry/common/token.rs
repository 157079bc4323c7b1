//! A bearer token service for the registry tests, shaped like Docker Hub's: `GET /token?service=&scope=…` (one
//! `scope=` per resource, basic credentials or none, `offline_token=true` for a refresh token) and the OAuth2
//! `POST /token` refresh grant. Tokens are RS256 JWTs signed by the `openssl` command with a key whose
//! self-signed certificate rides in the `x5c` header and is the registry's `rootcertbundle`. The configured
//! user gets every action asked for; anonymous callers only `pull`; wrong credentials a 401. Requests are
//! recorded for the tests to check. Stopped on drop.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

const SERVICE: &str = "berth-registry-tests";
const ISSUER: &str = "berth-token-issuer";
/// The refresh token handed to the configured user.
pub const REFRESH_TOKEN: &str = "refresh-for-tester";

/// A running token service.
pub struct TokenService {
    dir: tempfile::TempDir,
    port: u16,
    /// Request lines received (`GET /token?…`, or `POST /token` with its form appended).
    pub requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Issuer {
    key: PathBuf,
    cert_der: String,
    basic: String,
    user: String,
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                let v = u8::from_str_radix(hex, 16).unwrap_or(b'?');
                out.push(v);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
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

impl Issuer {
    /// A JWT for `subject` granting, for each `repository:NAME:ACTIONS` scope, the actions allowed.
    fn token(&self, subject: &str, scopes: &[String], full: bool) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .flat_map(|s| s.split(' '))
            .filter_map(|s| {
                let mut parts = s.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                let granted: Vec<&str> = actions.split(',').filter(|a| full || *a == "pull").collect();
                Some(serde_json::json!({"type": kind, "name": name, "actions": granted}))
            })
            .collect();
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [self.cert_der]});
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 600, "nbf": now - 30, "iat": now,
            "jti": format!("{now}-{}", access.len()), "access": access,
        });
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("openssl");
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "openssl dgst failed");
        format!("{input}.{}", b64url(&out.stdout))
    }

    /// The answer to one request: status line and JSON body.
    fn answer(&self, method: &str, target: &str, auth: Option<&str>, body: &str) -> (&'static str, String) {
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let (p, anonymous_ok) = if method == "POST" {
            (params(body), false)
        } else {
            (params(query), true)
        };
        let first = |k: &str| p.get(k).and_then(|v| v.first()).cloned().unwrap_or_default();
        let scopes = p.get("scope").cloned().unwrap_or_default();
        let (full, subject) = if method == "POST" {
            if first("grant_type") != "refresh_token" || first("refresh_token") != REFRESH_TOKEN {
                return ("400 Bad Request", r#"{"error":"invalid_grant"}"#.into());
            }
            (true, self.user.clone())
        } else {
            match auth {
                Some(a) if a == self.basic => (true, self.user.clone()),
                Some(_) => {
                    return (
                        "401 Unauthorized",
                        r#"{"details":"incorrect username or password"}"#.into(),
                    );
                }
                None if anonymous_ok => (false, String::new()),
                None => return ("401 Unauthorized", "{}".into()),
            }
        };
        let token = self.token(&subject, &scopes, full);
        let mut answer = serde_json::json!({"token": token, "access_token": token, "expires_in": 300});
        if full && method == "GET" && first("offline_token") == "true" {
            answer["refresh_token"] = REFRESH_TOKEN.into();
        }
        ("200 OK", answer.to_string())
    }
}

fn serve(conn: TcpStream, issuer: &Issuer, log: &Mutex<Vec<String>>) {
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
    log.lock()
        .unwrap()
        .push(format!("{method} {target} {body}").trim().to_string());
    let (status, json) = issuer.answer(method, target, auth.as_deref(), &body);
    let _ = write!(
        reader.get_mut(),
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
}

impl TokenService {
    /// A service granting `user`:`password` every action asked for.
    pub fn start(user: &str, password: &str) -> TokenService {
        let dir = tempfile::Builder::new()
            .prefix("berth-token-test-")
            .tempdir()
            .unwrap();
        let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=berth-test",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(made.success(), "openssl req failed");
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .unwrap();
        let issuer = Issuer {
            key,
            cert_der: base64::engine::general_purpose::STANDARD.encode(&der.stdout),
            basic: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            ),
            user: user.to_string(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, halt) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(conn) = conn {
                    serve(conn, &issuer, &log);
                }
            }
        });
        TokenService {
            dir,
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The registry's `auth:` configuration for this service.
    pub fn registry_config(&self) -> String {
        format!(
            "auth: {{token: {{realm: \"http://127.0.0.1:{}/token\", service: {SERVICE}, issuer: {ISSUER}, rootcertbundle: {}}}}}\n",
            self.port,
            self.dir.path().join("cert.pem").display()
        )
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
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
