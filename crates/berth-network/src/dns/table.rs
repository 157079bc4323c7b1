//! The names files of user networks: one JSON file per network listing each container's names and IPv4 address
//! (`{"records": [{"names": ["web", "3f2a9c1e0b7d"], "ipv4": "10.89.1.2"}]}`), replaced atomically by the network
//! code and re-read by the DNS server whenever one changes, so containers that join later become resolvable.

use std::fs::{self, File, Metadata};
use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Error;

/// The contents of one names file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    #[serde(default)]
    pub records: Vec<Record>,
}

/// One container on the network: every name it answers to (name, aliases, short id) and its address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub names: Vec<String>,
    pub ipv4: Ipv4Addr,
}

/// Reads a names file.
pub fn read_table(path: &Path) -> Result<Table, Error> {
    let text = fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| Error::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Replaces a names file atomically (temporary file + rename, no fsync: the file is runtime state), so a reader
/// sees the old or the new table, never a part.
pub fn write_table(path: &Path, table: &Table) -> Result<(), Error> {
    let write_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let data = serde_json::to_vec(table).map_err(|e| write_error(e.into()))?;
    crate::fsutil::write_atomic(path, &data, false).map_err(write_error)
}

/// Compares `stored` (a name from a table, maybe with a trailing dot) with a query name (without one).
fn same_name(stored: &str, query: &[u8]) -> bool {
    stored
        .strip_suffix('.')
        .unwrap_or(stored)
        .as_bytes()
        .eq_ignore_ascii_case(query)
}

/// What identifies one version of a file: a rename brings a new inode, an edit in place a new size or mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        }
    }
}

/// One names file and the table last read from it.
struct TableFile {
    path: PathBuf,
    /// The version `table` was read from; `None` while the file is missing (or before the first refresh).
    stamp: Option<Stamp>,
    table: Table,
}

impl TableFile {
    /// Re-reads the file if it changed since the last read; a missing or unreadable file counts as empty, and a
    /// file that does not parse is empty until it changes again.
    fn refresh(&mut self) {
        let current = fs::metadata(&self.path).ok().map(|meta| Stamp::of(&meta));
        if current == self.stamp {
            return;
        }
        let (stamp, table) = self.load().unwrap_or_default();
        self.stamp = stamp;
        self.table = table;
    }

    /// Reads the file and the stamp of the very version read (fstat of the open file, not of the path).
    fn load(&self) -> Option<(Option<Stamp>, Table)> {
        let mut file = File::open(&self.path).ok()?;
        let stamp = Stamp::of(&file.metadata().ok()?);
        let mut text = Vec::with_capacity(stamp.size as usize);
        file.read_to_end(&mut text).ok()?;
        Some((Some(stamp), serde_json::from_slice(&text).unwrap_or_default()))
    }
}

/// The names files of the networks a container is on, consulted in order.
pub(super) struct Tables {
    files: Vec<TableFile>,
}

impl Tables {
    /// Tables for `paths`; nothing is read until the first [`Tables::refresh`].
    pub(super) fn new(paths: Vec<PathBuf>) -> Tables {
        let files = paths.into_iter().map(|path| TableFile {
            path,
            stamp: None,
            table: Table::default(),
        });
        Tables {
            files: files.collect(),
        }
    }

    /// Re-reads every file that changed: one stat per file when nothing did.
    pub(super) fn refresh(&mut self) {
        self.files.iter_mut().for_each(TableFile::refresh);
    }

    /// Appends to `out` every address of `name` (case-insensitive, trailing dot ignored) from the first file that
    /// knows the name, so a name on two networks answers with the addresses of the first, as Docker does.
    pub(super) fn addresses(&self, name: &[u8], out: &mut Vec<Ipv4Addr>) {
        let name = name.strip_suffix(b".").unwrap_or(name);
        for file in &self.files {
            for record in &file.table.records {
                if record.names.iter().any(|n| same_name(n, name)) && !out.contains(&record.ipv4) {
                    out.push(record.ipv4);
                }
            }
            if !out.is_empty() {
                return;
            }
        }
    }

    /// The first name of the first record holding `address`.
    pub(super) fn name_of(&self, address: Ipv4Addr) -> Option<&str> {
        let mut records = self.files.iter().flat_map(|file| &file.table.records);
        let record = records.find(|r| r.ipv4 == address && !r.names.is_empty())?;
        record.names.first().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(names: &[&str], ip: [u8; 4]) -> Record {
        Record {
            names: names.iter().map(|n| n.to_string()).collect(),
            ipv4: Ipv4Addr::from(ip),
        }
    }

    fn lookup(tables: &Tables, name: &str) -> Vec<Ipv4Addr> {
        let mut out = Vec::new();
        tables.addresses(name.as_bytes(), &mut out);
        out
    }

    #[test]
    fn parses_the_documented_format() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("names.json");
        let text = r#"{"records": [{"names": ["web", "web.alias", "3f2a9c1e0b7d"], "ipv4": "10.89.1.2"}]}"#;
        fs::write(&path, text).expect("write");
        let table = read_table(&path).expect("read");
        assert_eq!(
            table.records,
            [record(&["web", "web.alias", "3f2a9c1e0b7d"], [10, 89, 1, 2])]
        );

        fs::write(&path, r#"{"records": [{"names": ["x"], "ipv4": "10.89.1.300"}]}"#).expect("write");
        let err = read_table(&path).expect_err("bad address");
        assert!(err.to_string().starts_with("parse dns names file "), "{err}");
        let missing = read_table(&dir.path().join("missing")).expect_err("missing");
        assert!(missing.to_string().contains("No such file"), "{missing}");
    }

    #[test]
    fn writes_atomically_and_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("names.json");
        let table = Table {
            records: vec![record(&["db"], [10, 89, 1, 3]), record(&["web"], [10, 89, 1, 2])],
        };
        write_table(&path, &table).expect("write");
        write_table(&path, &table).expect("overwrite");
        assert_eq!(read_table(&path).expect("read"), table);
        let leftovers = fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(leftovers, 1, "temporary files left behind");
        let err = write_table(&dir.path().join("no/such/dir"), &table).expect_err("no dir");
        assert!(err.to_string().starts_with("write dns names file "), "{err}");
    }

    #[test]
    fn looks_names_up_case_insensitively_in_the_first_file_that_has_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, second) = (dir.path().join("a.json"), dir.path().join("b.json"));
        let shared = Table {
            records: vec![
                record(&["web", "alias."], [10, 89, 1, 2]),
                record(&["api", "alias"], [10, 89, 1, 3]),
                record(&["dup"], [10, 89, 1, 3]),
            ],
        };
        write_table(&first, &shared).expect("write");
        write_table(
            &second,
            &Table {
                records: vec![record(&["web", "other"], [10, 90, 0, 2])],
            },
        )
        .expect("write");
        let mut tables = Tables::new(vec![first, second]);
        assert!(lookup(&tables, "web").is_empty(), "read before the first refresh");
        tables.refresh();
        assert_eq!(lookup(&tables, "WEB."), [Ipv4Addr::new(10, 89, 1, 2)]);
        assert_eq!(
            lookup(&tables, "Alias"),
            [Ipv4Addr::new(10, 89, 1, 2), Ipv4Addr::new(10, 89, 1, 3)]
        );
        assert_eq!(lookup(&tables, "other"), [Ipv4Addr::new(10, 90, 0, 2)]);
        assert!(lookup(&tables, "nobody").is_empty());
        assert!(lookup(&tables, "we").is_empty());
        assert_eq!(tables.name_of(Ipv4Addr::new(10, 89, 1, 3)), Some("api"));
        assert_eq!(tables.name_of(Ipv4Addr::new(10, 90, 0, 2)), Some("web"));
        assert_eq!(tables.name_of(Ipv4Addr::new(10, 90, 0, 9)), None);
    }

    #[test]
    fn reloads_changed_files_and_survives_missing_or_broken_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("names.json");
        let mut tables = Tables::new(vec![path.clone()]);
        tables.refresh();
        assert!(lookup(&tables, "web").is_empty());

        write_table(
            &path,
            &Table {
                records: vec![record(&["web"], [10, 89, 1, 2])],
            },
        )
        .expect("write");
        tables.refresh();
        assert_eq!(lookup(&tables, "web"), [Ipv4Addr::new(10, 89, 1, 2)]);

        // Same size, rewritten by rename within the same mtime tick: the new inode gives it away.
        write_table(
            &path,
            &Table {
                records: vec![record(&["web"], [10, 89, 1, 7])],
            },
        )
        .expect("write");
        tables.refresh();
        assert_eq!(lookup(&tables, "web"), [Ipv4Addr::new(10, 89, 1, 7)]);

        fs::write(&path, b"{not json").expect("write");
        tables.refresh();
        assert!(lookup(&tables, "web").is_empty());

        write_table(
            &path,
            &Table {
                records: vec![record(&["db"], [10, 89, 1, 4])],
            },
        )
        .expect("write");
        tables.refresh();
        assert_eq!(lookup(&tables, "db"), [Ipv4Addr::new(10, 89, 1, 4)]);

        fs::remove_file(&path).expect("remove");
        tables.refresh();
        assert!(lookup(&tables, "db").is_empty());
    }
}
