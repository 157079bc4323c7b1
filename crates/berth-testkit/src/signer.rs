//! The key of a token service: a fresh RSA key and its self-signed certificate (made by the `openssl` command),
//! and RS256 JWTs signed with it in the form distribution's token auth checks (the certificate rides in the
//! `x5c` header; the registry trusts it as its `rootcertbundle`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::token::{ISSUER, SERVICE};

/// Makes tokens for a token service. Clones share the key, which lives as long as any of them.
#[derive(Clone)]
pub struct Signer {
    dir: Arc<tempfile::TempDir>,
    /// The certificate, DER in standard base64 (the `x5c` entry).
    cert_der: String,
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

impl Signer {
    /// A new key and certificate in a temp dir.
    pub(crate) fn generate() -> Signer {
        let dir = tempfile::Builder::new()
            .prefix("berth-token-")
            .tempdir()
            .expect("create the token service's temp dir");
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
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .stderr(Stdio::null())
            .status()
            .expect("openssl (Debian package openssl) must be installed");
        assert!(made.success(), "openssl req failed");
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(dir.path().join("cert.pem"))
            .output()
            .expect("run openssl x509");
        assert!(der.status.success(), "openssl x509 failed");
        Signer {
            dir: Arc::new(dir),
            cert_der: base64::engine::general_purpose::STANDARD.encode(&der.stdout),
        }
    }

    /// The PEM certificate a registry trusts these tokens by.
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// A token for `subject` granting `actions` on repository `repository` (no access when `actions` is empty).
    pub fn repository_token(&self, subject: &str, repository: &str, actions: &[&str]) -> String {
        let access = if actions.is_empty() {
            Vec::new()
        } else {
            vec![json!({"type": "repository", "name": repository, "actions": actions})]
        };
        self.token(subject, access)
    }

    /// A token for `subject` carrying the `access` claim entries (`{"type", "name", "actions"}`).
    pub(crate) fn token(&self, subject: &str, access: Vec<Value>) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs();
        let header = json!({"typ": "JWT", "alg": "RS256", "x5c": [self.cert_der]});
        let claims = json!({
            "iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 600, "nbf": now - 30, "iat": now,
            "jti": format!("{now}-{subject}-{}", access.len()), "access": access,
        });
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(self.key())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run openssl dgst");
        child
            .stdin
            .take()
            .expect("openssl's stdin is piped")
            .write_all(input.as_bytes())
            .expect("write to openssl dgst");
        let out = child.wait_with_output().expect("wait for openssl dgst");
        assert!(out.status.success(), "openssl dgst failed");
        format!("{input}.{}", b64url(&out.stdout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(part: &str) -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn tokens_carry_the_grant_and_verify_with_the_certificate() {
        let signer = Signer::generate();
        let token = signer.repository_token("someone", "team/app", &["pull", "push"]);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode(parts[0]);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5c"][0], signer.cert_der.as_str());
        let claims = decode(parts[1]);
        assert_eq!(
            (&claims["sub"], &claims["aud"], &claims["iss"]),
            (&json!("someone"), &json!(SERVICE), &json!(ISSUER))
        );
        assert_eq!(
            claims["access"],
            json!([{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}])
        );
        assert_eq!(
            decode(
                signer
                    .repository_token("", "team/app", &[])
                    .split('.')
                    .nth(1)
                    .unwrap()
            )["access"],
            json!([])
        );

        // The signature checks out against the certificate's public key.
        let dir = tempfile::tempdir().unwrap();
        let (pubkey, sig) = (dir.path().join("pub.pem"), dir.path().join("sig"));
        let out = Command::new("openssl")
            .args(["x509", "-pubkey", "-noout", "-in"])
            .arg(signer.certificate())
            .output()
            .unwrap();
        std::fs::write(&pubkey, out.stdout).unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[2])
            .unwrap();
        std::fs::write(&sig, raw).unwrap();
        let verify = |input: &str| {
            let mut child = Command::new("openssl")
                .args(["dgst", "-sha256", "-verify"])
                .arg(&pubkey)
                .arg("-signature")
                .arg(&sig)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
            child.wait().unwrap().success()
        };
        assert!(verify(&format!("{}.{}", parts[0], parts[1])));
        assert!(!verify(&format!("{}.{}x", parts[0], parts[1])));
    }
}
