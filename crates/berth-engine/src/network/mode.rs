//! What a container's `HostConfig.NetworkMode` asks for.

/// A network mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode<'a> {
    /// A namespace of its own with loopback only.
    None,
    /// The host's namespace.
    Host,
    /// Another container's namespace (`container:NAME`).
    Container(&'a str),
    /// A bridge network by name (`bridge` — also for an empty mode or `default` — or a user network).
    Network(&'a str),
}

impl<'a> Mode<'a> {
    pub(crate) fn parse(mode: &'a str) -> Mode<'a> {
        match mode {
            "none" => Mode::None,
            "host" => Mode::Host,
            "" | "default" | "bridge" => Mode::Network("bridge"),
            other => match other.strip_prefix("container:") {
                Some(c) => Mode::Container(c),
                None => Mode::Network(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(Mode::parse(""), Mode::Network("bridge"));
        assert_eq!(Mode::parse("default"), Mode::Network("bridge"));
        assert_eq!(Mode::parse("none"), Mode::None);
        assert_eq!(Mode::parse("host"), Mode::Host);
        assert_eq!(Mode::parse("container:web"), Mode::Container("web"));
        assert_eq!(Mode::parse("backend"), Mode::Network("backend"));
    }
}
