//! Resolves Docker's `-u name|uid[:group|gid]` against the container's own /etc/passwd and /etc/group, giving the
//! numeric identity, supplementary groups and home directory the process runs with.

use crate::error::{Error, Result};

/// A process identity inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    passwd.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || line.starts_with('#') {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

fn group_entries(group: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    group.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || line.starts_with('#') {
            return None;
        }
        let members = f[3].split(',').filter(|m| !m.is_empty()).collect();
        Some(GroupEntry {
            name: f[0],
            gid: f[2].parse().ok()?,
            members,
        })
    })
}

/// Resolves `spec` (empty means root) with the container's passwd and group files (either may be missing) plus
/// `--group-add` entries.
pub fn resolve(
    spec: &str,
    passwd: Option<&str>,
    group: Option<&str>,
    group_add: &[String],
) -> Result<ResolvedUser> {
    let passwd = passwd.unwrap_or("");
    let group = group.unwrap_or("");
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => passwd_entries(passwd).find(|e| e.uid == uid),
        Err(_) => Some(
            passwd_entries(passwd)
                .find(|e| e.name == user_part)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "unable to find user {user_part}: no matching entries in passwd file"
                    ))
                })?,
        ),
    };
    let uid = match &entry {
        Some(e) => e.uid,
        None => user_part
            .parse()
            .map_err(|_| Error::InvalidArgument(format!("invalid user: {spec}")))?,
    };
    let mut gid = entry.as_ref().map_or(0, |e| e.gid);
    if let Some(g) = group_part {
        gid = lookup_group(g, group)?;
    }
    let mut additional_gids = Vec::new();
    if group_part.is_none()
        && let Some(e) = &entry
    {
        for g in group_entries(group) {
            if g.members.contains(&e.name) && g.gid != gid && !additional_gids.contains(&g.gid) {
                additional_gids.push(g.gid);
            }
        }
    }
    for g in group_add {
        let id = lookup_group(g, group)?;
        if !additional_gids.contains(&id) {
            additional_gids.push(id);
        }
    }
    let home = entry
        .map_or("/", |e| if e.home.is_empty() { "/" } else { e.home })
        .to_string();
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}

fn lookup_group(g: &str, group: &str) -> Result<u32> {
    if let Ok(gid) = g.parse::<u32>() {
        return Ok(gid);
    }
    group_entries(group)
        .find(|e| e.name == g)
        .map(|e| e.gid)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unable to find group {g}: no matching entries in group file"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n\
                          app:x:1000:1000::/srv/app:/bin/sh\n#junk\nbroken line\n";
    const GROUP: &str = "root:x:0:\ntty:x:5:app\nwheel:x:10:app,root\napp:x:1000:\nnogroup:x:65534:\n";

    fn r(spec: &str) -> Result<ResolvedUser> {
        resolve(spec, Some(PASSWD), Some(GROUP), &[])
    }

    #[test]
    fn empty_is_root_with_home() {
        let u = r("").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert_eq!(u.additional_gids, vec![10]);
    }

    #[test]
    fn names_resolve_with_supplementary_groups() {
        let u = r("app").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 1000, "/srv/app"));
        assert_eq!(u.additional_gids, vec![5, 10]);
    }

    #[test]
    fn numeric_uid_outside_passwd_gets_gid_zero_and_slash_home() {
        let u = r("4242").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 0, "/"));
        assert!(u.additional_gids.is_empty());
    }

    #[test]
    fn explicit_group_by_name_and_id() {
        assert_eq!(r("app:tty").unwrap().gid, 5);
        assert_eq!(r("nobody:77").unwrap().gid, 77);
        assert!(r("app:tty").unwrap().additional_gids.is_empty());
    }

    #[test]
    fn unknown_names_are_clear_errors() {
        let e = r("ghost").unwrap_err().to_string();
        assert_eq!(e, "unable to find user ghost: no matching entries in passwd file");
        let e = r("app:ghosts").unwrap_err().to_string();
        assert_eq!(
            e,
            "unable to find group ghosts: no matching entries in group file"
        );
    }

    #[test]
    fn missing_files_still_allow_numeric_ids() {
        let u = resolve("12:34", None, None, &[]).unwrap();
        assert_eq!((u.uid, u.gid), (12, 34));
        assert!(resolve("someone", None, None, &[]).is_err());
    }

    #[test]
    fn group_add_appends_once() {
        let u = resolve("app", Some(PASSWD), Some(GROUP), &["wheel".into(), "99".into()]).unwrap();
        assert_eq!(u.additional_gids, vec![5, 10, 99]);
    }
}
