pub mod opts;
pub mod template;
