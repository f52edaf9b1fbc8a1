//! The manual pages: vipd(8) from the command-line definitions (clap_mangen)
//! plus the sections a reader of a daemon's page looks for, and
//! vipd.yaml(5) from the keyword tables the README's are made from.

mod config_page;
mod daemon_page;
pub mod keywords;

use std::io::{self, Write};

/// Which page `vipd man` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Page {
    /// vipd(8): the commands, signals and files.
    #[value(name = "vipd")]
    Daemon,
    /// vipd.yaml(5): every configuration keyword.
    #[value(name = "vipd.yaml")]
    Config,
}

/// Writes `page` in roff; `command` is vipd's command line (for vipd(8)).
pub fn write(page: Page, command: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    match page {
        Page::Daemon => daemon_page::write(command, out),
        Page::Config => config_page::write(out),
    }
}

/// Plain text for roff: backslashes and hyphens escaped, and a leading
/// `.` or `'` kept from being read as a request.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// A table cell's Markdown in roff: `code` in bold.
fn from_markdown(text: &str) -> String {
    let mut roff = String::new();
    for (index, part) in escape(text).split('`').enumerate() {
        if index % 2 == 1 {
            roff.push_str(&format!("\\fB{part}\\fR"));
        } else {
            roff.push_str(part);
        }
    }
    roff
}

/// The version line both pages carry in their title.
fn source() -> String {
    format!("vipd {}", env!("CARGO_PKG_VERSION"))
}
