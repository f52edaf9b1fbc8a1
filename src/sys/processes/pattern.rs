//! Which processes a track_process counts, as keepalived matches them
//! (keepalived/core/track_process.c v2.2.7, read_procs, check_process,
//! check_params): by the name the kernel keeps (`comm`, at most 15
//! bytes), or with `full_command` by the command line's first word,
//! compared whole; with parameters, by the words after it too.

/// How the words after the command are compared (keepalived's
/// `param_match`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ParamMatch {
    /// Not compared (no parameters given, no param_match).
    #[default]
    None,
    /// The same words, no more.
    Exact,
    /// The given words start the process's, each whole.
    Partial,
    /// As partial, but the last given word need only start the
    /// process's word there.
    Initial,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProcessPattern {
    /// A name (`comm`) or, with full_command, the command line's first
    /// word as the process was started (a path, often).
    pub process: String,
    pub full_command: bool,
    pub params: Vec<String>,
    pub param_match: ParamMatch,
}

impl ProcessPattern {
    /// Whether a process with this comm and command line (its NUL
    /// separated words, as /proc/PID/cmdline holds them) is counted.
    pub fn matches(&self, comm: &str, cmdline: &[u8]) -> bool {
        if !self.full_command {
            return comm == self.process;
        }
        let mut words = cmdline.split(|b| *b == 0);
        if words.next() != Some(self.process.as_bytes()) {
            return false;
        }
        if self.param_match == ParamMatch::None {
            return true;
        }
        // The rest as keepalived holds it: each word with its NUL.
        let start = self.process.len() + 1;
        let rest = cmdline.get(start..).unwrap_or(&[]);
        let wanted: Vec<u8> = self
            .params
            .iter()
            .flat_map(|w| w.bytes().chain(std::iter::once(0)))
            .collect();
        match self.param_match {
            ParamMatch::None => true,
            ParamMatch::Exact => rest == wanted.as_slice(),
            _ if wanted.is_empty() => true,
            ParamMatch::Partial => rest.starts_with(&wanted),
            // check_params: all but the given last word's NUL.
            ParamMatch::Initial => rest.starts_with(&wanted[..wanted.len() - 1]),
        }
    }

    /// Whether the command line must be read (it costs a read of the
    /// process's memory; the name alone does not).
    pub fn needs_cmdline(&self) -> bool {
        self.full_command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(process: &str, params: &[&str], param_match: ParamMatch) -> ProcessPattern {
        ProcessPattern {
            process: process.into(),
            full_command: param_match != ParamMatch::None || !params.is_empty(),
            params: params.iter().map(|s| s.to_string()).collect(),
            param_match,
        }
    }

    #[test]
    fn by_name_only_the_comm_counts() {
        let p = pattern("haproxy", &[], ParamMatch::None);
        assert!(p.matches("haproxy", b"/usr/sbin/haproxy\0-f\0x\0"));
        assert!(!p.matches("haproxy-worker", b"haproxy\0"));
    }

    #[test]
    fn by_full_command_the_first_word_counts_whole() {
        let mut p = pattern("/usr/sbin/haproxy", &[], ParamMatch::None);
        p.full_command = true;
        assert!(p.matches("x", b"/usr/sbin/haproxy\0-f\0"));
        assert!(!p.matches("haproxy", b"/usr/sbin/haproxy2\0"));
        assert!(!p.matches("haproxy", b""));
    }

    #[test]
    fn parameters_exact_partial_initial() {
        let line = b"/bin/sleep\x00100\x00extra\x00";
        let exact = pattern("/bin/sleep", &["100", "extra"], ParamMatch::Exact);
        assert!(exact.matches("sleep", line));
        assert!(!pattern("/bin/sleep", &["100"], ParamMatch::Exact).matches("sleep", line));
        assert!(pattern("/bin/sleep", &["100"], ParamMatch::Partial).matches("sleep", line));
        assert!(!pattern("/bin/sleep", &["10"], ParamMatch::Partial).matches("sleep", line));
        assert!(pattern("/bin/sleep", &["10"], ParamMatch::Initial).matches("sleep", line));
        assert!(pattern("/bin/sleep", &["100", "ext"], ParamMatch::Initial).matches("sleep", line));
        assert!(!pattern("/bin/sleep", &["2"], ParamMatch::Initial).matches("sleep", line));
        // Exact with no parameters: a bare command only.
        let bare = pattern("/bin/sleep", &[], ParamMatch::Exact);
        assert!(bare.matches("sleep", b"/bin/sleep\0"));
        assert!(!bare.matches("sleep", line));
    }
}
