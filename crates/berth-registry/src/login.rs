//! Checking credentials against a registry, as dockerd's `loginV2` (moby `registry/auth.go`) does: `GET /v2/`;
//! a 401 is answered with the client's credentials (basic, or a bearer token fetched with them for no scope,
//! asking for a refresh token), and the login holds when `GET /v2/` then answers 200. A refresh token the
//! token service hands out is returned: Docker's identity token, which `docker login` stores instead of the
//! password.

use ureq::http::Method;

use crate::client::{Client, Req, name_request};
use crate::error::{Error, Result};
use crate::transport::Payload;

impl Client {
    /// Checks the client's credentials. Returns the identity token to keep: the one the registry's token
    /// service handed out, else the one the credentials carried. Wrong credentials give [`Error::Unauthorized`] in Docker's words (`login attempt to
    /// http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized`, or `Get "https://…/v2/":
    /// unauthorized: incorrect username or password` from a token service).
    pub fn check_login(&self) -> Result<Option<String>> {
        let url = self.endpoint().url("/v2/");
        let resp = self
            .exchange("", true, Req::new(Method::GET, &url, &[], Payload::None))
            .map_err(|e| name_request(e, "Get", &url))?;
        let status = resp.status();
        if status.as_u16() != 200 {
            let msg = format!(
                "login attempt to {url} failed with status: {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or_default()
            );
            return Err(match status.as_u16() {
                401 | 403 => Error::Unauthorized(msg),
                _ => Error::InvalidResponse(msg),
            });
        }
        Ok(self.auth.identity_token())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::AuthConfig;
    use crate::endpoint::{Endpoint, RegistryOptions};
    use crate::test_http::{Canned, answer};

    fn client(url: &str, user: &str, password: &str) -> Client {
        let host = url.trim_start_matches("http://");
        let creds = AuthConfig {
            username: user.into(),
            password: password.into(),
            ..Default::default()
        };
        Client::new(Endpoint::resolve(host, &RegistryOptions::default()), Some(creds))
    }

    const CHALLENGE: (&str, &str) = ("WWW-Authenticate", r#"Bearer realm="{url}/token",service="svc""#);

    #[test]
    fn token_login_keeps_the_refresh_token() {
        let server = Canned::serve(vec![
            answer("401 Unauthorized", &[CHALLENGE], "{}"),
            answer(
                "200 OK",
                &[],
                r#"{"token":"t1","refresh_token":"r1","expires_in":300}"#,
            ),
            answer("200 OK", &[], "{}"),
        ]);
        let c = client(&server.url, "u", "p");
        assert_eq!(c.check_login().unwrap().as_deref(), Some("r1"));
        let reqs = server.requests();
        let token = &reqs[1];
        assert!(
            token.starts_with("GET /token?service=svc&offline_token=true&client_id=berth HTTP/1.1"),
            "no scope, offline: {token}"
        );
        assert!(
            token.to_lowercase().contains("authorization: basic dtpw"),
            "{token}"
        );
        assert!(
            reqs[2].to_lowercase().contains("authorization: bearer t1"),
            "{}",
            reqs[2]
        );
    }

    #[test]
    fn refused_logins_in_dockers_words() {
        let server = Canned::serve(vec![
            answer("401 Unauthorized", &[CHALLENGE], "{}"),
            answer(
                "401 Unauthorized",
                &[("Content-Type", "application/json")],
                r#"{"details":"incorrect username or password"}"#,
            ),
            answer(
                "401 Unauthorized",
                &[("WWW-Authenticate", r#"Basic realm="test""#)],
                "{}",
            ),
            answer(
                "401 Unauthorized",
                &[("WWW-Authenticate", r#"Basic realm="test""#)],
                "{}",
            ),
        ]);
        let c = client(&server.url, "u", "wrong");
        let e = c.check_login().unwrap_err();
        assert!(matches!(e, Error::Unauthorized(_)));
        assert_eq!(
            e.to_string(),
            format!(
                "Get \"{}/v2/\": unauthorized: incorrect username or password",
                server.url
            )
        );
        let e = c.check_login().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "login attempt to {}/v2/ failed with status: 401 Unauthorized",
                server.url
            )
        );
        server.requests();
    }
}
