//! File-system archives of container trees, reached through a directory descriptor that stands for the container's
//! root (a private detached mount of its writable layer, or its own root through /proc): Docker's path stat, tars
//! of one path (`docker cp` out) and of the whole tree (`docker export`), extraction into a directory (`docker cp`
//! in), and the changes of a writable layer against its image (`docker diff`). Every path is resolved inside the
//! root; nothing outside it is ever read or written.

mod changes;
mod cpath;
mod mountpoint;
mod put;
mod stat;
mod tarball;
#[cfg(test)]
mod tests;

pub use changes::Change;
pub use mountpoint::mount_point;
pub use put::{ExtractDir, ExtractRules, extract_into, read_file_in, resolve_extract_dir};
pub use stat::{PathStat, stat_path};
pub use tarball::{write_path_archive, write_root_archive};
