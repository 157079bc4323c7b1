//! Authorization for one registry: credentials (none, basic, identity or registry token), the scheme the registry
//! asked for, and bearer tokens from its token service (`WWW-Authenticate: Bearer realm=…,service=…,scope=…`)
//! cached per scope until they expire. A scope may name several resources separated by spaces
//! (`repository:a:pull,push repository:b:pull`): the token service is asked with one `scope=` per resource. A
//! refresh token the service hands out (`refresh_token`, asked for by logins) is kept: Docker's identity token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::challenge::Challenge;
use crate::credentials::{AuthConfig, encode_auth};
use crate::error::{Error, Result};
use crate::refusal::Refusal;
use crate::transport::{Transport, urlencode};

/// Lifetime assumed for tokens that do not say (the distribution spec's default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Tokens are renewed this long before they expire.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);
const TOKEN_LIMIT: u64 = 1 << 20;

struct Token {
    value: String,
    expires: Instant,
}

/// The authorization state of a client.
pub(crate) struct Authorizer {
    creds: Option<AuthConfig>,
    /// Bearer tokens by scope.
    tokens: Mutex<HashMap<String, Token>>,
    /// The registry asked for basic authentication.
    basic: std::sync::atomic::AtomicBool,
    /// A refresh token the token service handed out.
    refresh: Mutex<Option<String>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: u64,
    #[serde(default)]
    refresh_token: String,
}

impl Authorizer {
    pub(crate) fn new(creds: Option<AuthConfig>) -> Authorizer {
        Authorizer {
            creds: creds.filter(|c| !c.is_empty()),
            tokens: Mutex::new(HashMap::new()),
            basic: std::sync::atomic::AtomicBool::new(false),
            refresh: Mutex::new(None),
        }
    }

    /// The identity token to keep: the refresh token the token service handed out, else the one the
    /// credentials carried (dockerd's `loginV2` returns its credential store's token either way).
    pub(crate) fn identity_token(&self) -> Option<String> {
        let handed = self.refresh.lock().unwrap_or_else(|p| p.into_inner()).clone();
        handed.or_else(|| {
            self.creds
                .as_ref()
                .map(|c| c.identity_token.clone())
                .filter(|t| !t.is_empty())
        })
    }

    /// Whether any credentials are configured.
    pub(crate) fn has_credentials(&self) -> bool {
        self.creds.is_some()
    }

    fn basic_header(&self) -> Option<String> {
        let c = self.creds.as_ref().filter(|c| !c.username.is_empty())?;
        Some(format!("Basic {}", encode_auth(&c.username, &c.password)))
    }

    /// The `Authorization` header to send for `scope`, if one is known already.
    pub(crate) fn header(&self, scope: &str) -> Option<String> {
        if let Some(c) = &self.creds
            && !c.registry_token.is_empty()
        {
            return Some(format!("Bearer {}", c.registry_token));
        }
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = tokens.get(scope).filter(|t| t.expires > Instant::now()) {
            return Some(format!("Bearer {}", t.value));
        }
        drop(tokens);
        if self.basic.load(std::sync::atomic::Ordering::Relaxed) {
            return self.basic_header();
        }
        None
    }

    /// Answers a 401's challenges for `scope`: fetches a bearer token (asking for a refresh token too when
    /// `offline`, as logins do), or switches to basic authentication. Returns the header to retry with.
    pub(crate) fn answer(
        &self,
        t: &Transport,
        challenges: &[Challenge],
        scope: &str,
        offline: bool,
    ) -> Result<String> {
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let token = self.fetch_token(t, bearer, scope, offline)?;
            let header = format!("Bearer {}", token.value);
            self.tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(scope.to_string(), token);
            return Ok(header);
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            self.basic.store(true, std::sync::atomic::Ordering::Relaxed);
            return self
                .basic_header()
                .ok_or_else(|| Error::Unauthorized("no basic auth credentials".into()));
        }
        Err(Error::Unauthorized(
            "unauthorized: authentication required".into(),
        ))
    }

    /// Asks the token service of a bearer challenge for a token covering `scope`.
    fn fetch_token(&self, t: &Transport, challenge: &Challenge, scope: &str, offline: bool) -> Result<Token> {
        let Some(realm) = challenge.param("realm").filter(|r| r.starts_with("http")) else {
            return Err(Error::InvalidResponse(
                "bearer challenge without a usable realm".into(),
            ));
        };
        let service = challenge.param("service").unwrap_or_default();
        let mut resp = match self.creds.as_ref().filter(|c| !c.identity_token.is_empty()) {
            Some(c) => {
                // OAuth2 refresh-token grant (how Docker uses identity tokens).
                let form = format!(
                    "grant_type=refresh_token&refresh_token={}&service={}&scope={}&client_id=berth",
                    urlencode(&c.identity_token),
                    urlencode(service),
                    urlencode(scope)
                );
                t.post_form(realm, &form)?
            }
            None => {
                let mut url = format!(
                    "{realm}{}service={}",
                    if realm.contains('?') { '&' } else { '?' },
                    urlencode(service)
                );
                for s in scope.split_whitespace() {
                    url.push_str(&format!("&scope={}", urlencode(s)));
                }
                if offline {
                    url.push_str("&offline_token=true&client_id=berth");
                }
                t.get(&url, None, self.basic_header().as_deref())?
            }
        };
        let status = resp.status().as_u16();
        if status != 200 {
            let refusal = Refusal::read(resp);
            if status == 401 || status == 403 {
                return Err(Error::Unauthorized(refusal.describe()));
            }
            return Err(Error::InvalidResponse(format!(
                "token service {realm}: {}",
                refusal.describe()
            )));
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(TOKEN_LIMIT)
            .read_to_vec()
            .map_err(|e| Error::InvalidResponse(format!("read token from {realm}: {e}")))?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| Error::InvalidResponse(format!("invalid token answer from {realm}: {e}")))?;
        let value = if answer.token.is_empty() {
            answer.access_token
        } else {
            answer.token
        };
        if value.is_empty() {
            return Err(Error::InvalidResponse(format!(
                "token service {realm} gave no token"
            )));
        }
        if !answer.refresh_token.is_empty() {
            *self.refresh.lock().unwrap_or_else(|p| p.into_inner()) = Some(answer.refresh_token);
        }
        let life = match answer.expires_in {
            0 => DEFAULT_TOKEN_LIFETIME,
            s => Duration::from_secs(s),
        };
        Ok(Token {
            value,
            expires: Instant::now() + life.saturating_sub(EXPIRY_MARGIN),
        })
    }
}
