//! A bearer token service for registry tests, the way Docker Hub's auth server works: `GET /token?service=&scope=`
//! (with basic credentials, or none) answers `{"token": JWT}`, an RS256 JWT signed with a key whose self-signed
//! certificate travels in the token's `x5c` header and is the registry's `rootcertbundle`. Keys and signatures
//! come from the `openssl` command. Only the configured user gets access; anonymous requests get a token with
//! none. Requests are recorded so tests can check the scope asked for. Stopped on drop.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;

pub const SERVICE: &str = "berth-test-service";
pub const ISSUER: &str = "berth-test-issuer";

/// A running token service.
pub struct TokenServer {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// Request lines received (`GET /token?...`), with whether they carried the right credentials.
    pub requests: Arc<Mutex<Vec<(String, bool)>>>,
    pub signer: Signer,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Makes tokens: the service's key and certificate.
#[derive(Clone)]
pub struct Signer {
    key: PathBuf,
    cert_der_b64: String,
}

impl Signer {
    /// A JWT for `subject` granting `actions` on repository `name` (none when `actions` is empty).
    pub fn token(&self, subject: &str, name: &str, actions: &[&str]) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [self.cert_der_b64]});
        let access = if actions.is_empty() {
            serde_json::json!([])
        } else {
            serde_json::json!([{"type": "repository", "name": name, "actions": actions}])
        };
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
            "jti": format!("{now}-{name}-{}", actions.len()), "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            b64url(&serde_json::to_vec(&header).unwrap()),
            b64url(&serde_json::to_vec(&claims).unwrap())
        );
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(signing_input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "openssl dgst failed");
        format!("{signing_input}.{}", b64url(&out.stdout))
    }
}

impl TokenServer {
    /// Starts a service granting `user`:`password` pull and push access to every repository.
    pub fn start(user: &str, password: &str) -> TokenServer {
        let dir = tempfile::Builder::new().prefix("berth-token-").tempdir().unwrap();
        let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        let ok = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=berth-token",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "openssl req failed");
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .unwrap();
        let signer = Signer {
            key,
            cert_der_b64: base64::engine::general_purpose::STANDARD.encode(&der.stdout),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, halt, user, s) = (requests.clone(), stop.clone(), user.to_string(), signer.clone());
        let thread = std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => serve(conn, &s, &expected, &user, &log),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        TokenServer {
            dir,
            port,
            requests,
            signer,
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
}

/// Answers one request.
fn serve(conn: TcpStream, signer: &Signer, expected: &str, user: &str, log: &Mutex<Vec<(String, bool)>>) {
    conn.set_nonblocking(false).unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request = String::new();
    reader.read_line(&mut request).unwrap();
    let mut authorized = false;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            authorized = v.trim() == expected;
        }
    }
    let request = request.trim().to_string();
    log.lock().unwrap().push((request.clone(), authorized));
    // scope=repository:NAME:pull
    let name = request
        .split(['?', '&', ' '])
        .find_map(|p| p.strip_prefix("scope="))
        .map(|s| s.replace("%3A", ":").replace("%2F", "/"))
        .and_then(|s| s.split(':').nth(1).map(str::to_string))
        .unwrap_or_default();
    let actions: &[&str] = if authorized { &["pull", "push"] } else { &[] };
    let subject = if authorized { user } else { "" };
    let body =
        serde_json::json!({"token": signer.token(subject, &name, actions), "expires_in": 300}).to_string();
    let mut conn = conn;
    let _ = write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
