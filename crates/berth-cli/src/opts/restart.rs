//! `--restart no|always|unless-stopped|on-failure[:max-retries]`, with the CLI's format errors
//! and the daemon's policy checks.

use super::Error;
use super::goparse::parse_int;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartPolicyName {
    #[default]
    No,
    Always,
    UnlessStopped,
    OnFailure,
}

impl RestartPolicyName {
    /// The name as Docker reports it in `HostConfig.RestartPolicy.Name`.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicyName::No => "no",
            RestartPolicyName::Always => "always",
            RestartPolicyName::UnlessStopped => "unless-stopped",
            RestartPolicyName::OnFailure => "on-failure",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestartPolicy {
    pub name: RestartPolicyName,
    /// Retries for `on-failure` (0: unlimited).
    pub max_retries: u32,
}

/// Parses a `--restart` value; the empty string is the default policy `no`.
pub fn parse_restart(value: &str) -> Result<RestartPolicy, Error> {
    let (name, count) = value.split_once(':').unwrap_or((value, ""));
    if value.contains(':') && name.is_empty() {
        return Err(Error::Restart(
            "invalid restart policy format: no policy provided before colon".into(),
        ));
    }
    let retries = if count.is_empty() {
        0
    } else {
        parse_int(count, "Atoi").map_err(|_| {
            Error::Restart("invalid restart policy format: maximum retry count must be an integer".into())
        })?
    };
    let name = match name {
        "" | "no" => RestartPolicyName::No,
        "always" => RestartPolicyName::Always,
        "unless-stopped" => RestartPolicyName::UnlessStopped,
        "on-failure" => RestartPolicyName::OnFailure,
        other => {
            return Err(Error::Restart(format!(
                "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            )));
        }
    };
    if name == RestartPolicyName::OnFailure && retries < 0 {
        return Err(Error::Restart(
            "invalid restart policy: maximum retry count cannot be negative".into(),
        ));
    }
    if name != RestartPolicyName::OnFailure && retries != 0 {
        return Err(Error::Restart(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'".into(),
        ));
    }
    let max_retries = u32::try_from(retries).unwrap_or(u32::MAX);
    Ok(RestartPolicy { name, max_retries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let p = |name, max_retries| Ok(RestartPolicy { name, max_retries });
        assert_eq!(parse_restart(""), p(RestartPolicyName::No, 0));
        assert_eq!(parse_restart("no"), p(RestartPolicyName::No, 0));
        assert_eq!(parse_restart("always"), p(RestartPolicyName::Always, 0));
        assert_eq!(
            parse_restart("unless-stopped"),
            p(RestartPolicyName::UnlessStopped, 0)
        );
        assert_eq!(parse_restart("on-failure"), p(RestartPolicyName::OnFailure, 0));
        assert_eq!(parse_restart("on-failure:3"), p(RestartPolicyName::OnFailure, 3));
        assert_eq!(parse_restart("always:0"), p(RestartPolicyName::Always, 0));
    }

    #[test]
    fn errors_like_docker() {
        let err = |s: &str| parse_restart(s).unwrap_err().to_string();
        assert_eq!(
            err(":3"),
            "invalid restart policy format: no policy provided before colon"
        );
        assert_eq!(
            err("on-failure:x"),
            "invalid restart policy format: maximum retry count must be an integer"
        );
        assert_eq!(
            err("on-failure:-1"),
            "invalid restart policy: maximum retry count cannot be negative"
        );
        assert_eq!(
            err("always:3"),
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        );
        assert_eq!(
            err("foo"),
            "invalid restart policy: unknown policy 'foo'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        );
    }
}
