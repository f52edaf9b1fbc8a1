//! keepalived.conf, read as it is: the syntax (reader.rs) into a tree, the
//! tree into vipd's configuration (mapping.rs), and back out as YAML for
//! `vipd convert` (convert.rs).

pub mod reader;
