use super::*;

use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory per test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vipd-reader-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_text(text: &str, id: &str) -> Result<Read, Vec<ReadError>> {
    let scratch = Scratch::new();
    let path = scratch.file("keepalived.conf", text);
    read(&path, id)
}

/// Each node as `words [block]`, lines given, for compact assertions.
fn shape(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|n| {
            let mut s = format!("{}@{}", n.words.join(" "), n.at.line);
            if let Some(block) = &n.block {
                s.push_str(&format!(" {{{}}}", shape(block)));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn ok(text: &str) -> String {
    shape(&read_text(text, "a").unwrap().nodes)
}

fn errors(text: &str) -> Vec<String> {
    read_text(text, "a")
        .unwrap_err()
        .into_iter()
        .map(|e| e.message)
        .collect()
}

#[test]
fn braces_on_the_keyword_line_or_the_next_or_one_line() {
    let same_line = "vrrp_instance VI_1 {\n  priority 100\n}\n";
    let next_line = "vrrp_instance VI_1\n{\n  priority 100\n}\n";
    assert_eq!(ok(same_line), "vrrp_instance VI_1@1 {priority 100@2}");
    assert_eq!(ok(next_line), "vrrp_instance VI_1@1 {priority 100@3}");
    assert_eq!(
        ok("virtual_ipaddress { 192.0.2.1 192.0.2.2 }\n"),
        "virtual_ipaddress@1 {192.0.2.1 192.0.2.2@1}"
    );
    assert_eq!(ok("a {\n b { c }\n d }\n"), "a@1 {b@2 {c@2}; d@3}");
}

#[test]
fn comments_outside_quotes_only_and_escapes() {
    assert_eq!(
        ok("priority 100 # the master\nstate BACKUP ! note\n! whole line\n# also\n"),
        "priority 100@1; state BACKUP@2"
    );
    assert_eq!(
        ok("notify \"/bin/echo # not a comment\" # a comment\n"),
        "notify /bin/echo # not a comment@1"
    );
    assert_eq!(ok("word a\\#b c\\!d\n"), "word a#b c!d@1");
}

#[test]
fn quotes_keep_spaces_and_join_words() {
    let read = read_text("notify_master \"/bin/a b\" 'c d'e\n", "x").unwrap();
    assert_eq!(read.nodes[0].words, ["notify_master", "/bin/a b", "c de"]);
    assert_eq!(
        errors("notify \"unterminated\n"),
        ["unterminated quote in \"notify \\\"unterminated\""]
    );
}

#[test]
fn unbalanced_braces_are_errors_with_positions() {
    let missing = read_text("vrrp_instance VI_1 {\n priority 1\n", "a").unwrap_err();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].at.as_ref().unwrap().line, 1);
    assert!(missing[0].message.contains("never closed"), "{missing:?}");
    let extra = read_text("a {\n}\n}\n", "a").unwrap_err();
    assert_eq!(extra[0].at.as_ref().unwrap().line, 3);
    assert_eq!(extra[0].message, "extra '}'");
}

#[test]
fn conditional_lines_follow_the_config_id() {
    let text = "@main router_id main_router\n@backup router_id backup_router\n@^main peer 1\n@^backup peer 2\n";
    assert_eq!(
        shape(&read_text(text, "main").unwrap().nodes),
        "router_id main_router@1; peer 2@4"
    );
    assert_eq!(
        shape(&read_text(text, "backup").unwrap().nodes),
        "router_id backup_router@2; peer 1@3"
    );
    assert_eq!(
        shape(&read_text(text, "other").unwrap().nodes),
        "peer 1@3; peer 2@4"
    );
}

#[test]
fn parameters_are_replaced_at_use_recursively() {
    // The example of keepalived.conf(5), Parameter substitution.
    let text = "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n";
    assert_eq!(ok(text), "10.2.0.100/32@3; 10.2.10.100/32@5");
    assert_eq!(ok("$P=240\npriority $P\n"), "priority 240@2");
    // Not followed by white space, and undefined: left as written.
    assert_eq!(ok("$P=240\nx $Pa $Q\n"), "x $Pa $Q@2");
    assert_eq!(ok("$IF_MAIN=@a\n$IF_MAIN priority 240\n"), "priority 240@2");
    assert_eq!(ok("x ${_HASH}1\n"), "x #1@1");
}

#[test]
fn multi_line_parameters_expand_into_blocks() {
    let text = "$INSTANCE= \\\nvrrp_instance VI_${NUM} { \\\n  @a priority 130 \\\n  @b priority 120 \\\n}\n$NUM=0\n$INSTANCE\n$NUM=1\n$INSTANCE\n";
    assert_eq!(
        ok(text),
        "vrrp_instance VI_0@7 {priority 130@7}; vrrp_instance VI_1@9 {priority 130@9}"
    );
}

#[test]
fn a_parameter_defined_by_itself_is_an_error_not_a_hang() {
    let problems = errors("$A=${A}x\ny $A\n");
    assert_eq!(problems, ["parameters replace each other without end"]);
}

#[test]
fn sequences_repeat_the_rest_of_the_line() {
    assert_eq!(
        ok("~SEQ(SUBNET, 0, 3) ip 10.0.${SUBNET}.1\n"),
        "ip 10.0.0.1@1; ip 10.0.1.1@1; ip 10.0.2.1@1; ip 10.0.3.1@1"
    );
    assert_eq!(
        ok("~SEQx(S, 0x90, 0x10, 0xc0) fe80::${S}:1\n"),
        "fe80::90:1@1; fe80::a0:1@1; fe80::b0:1@1; fe80::c0:1@1"
    );
    assert_eq!(ok("~SEQ(N, 3) n$N\n"), "n1@1; n2@1; n3@1");
    assert_eq!(ok("~SEQ(N, 3, 1) n$N\n"), "n3@1; n2@1; n1@1");
    assert_eq!(
        ok("~SEQ(A, 1, 2) ~SEQ(B, 1, 2) x${A}${B}\n"),
        "x11@1; x12@1; x21@1; x22@1"
    );
    assert_eq!(
        errors("~SEQ(N, 1, 0, 3) n$N\n"),
        ["~SEQ: expected ~SEQ(VAR, [START,] [STEP,] END) TEXT, got \"~SEQ(N, 1, 0, 3) n$N\""]
    );
}

#[test]
fn lists_set_one_or_several_variables_and_nest_with_sequences() {
    // The examples of keepalived.conf(5), List blocks.
    assert_eq!(
        ok("~LST({IP, IP1}, {10,1},{20,4},{5,6},{12,8}) 192.168.${IP}.${IP1}\n"),
        "192.168.10.1@1; 192.168.20.4@1; 192.168.5.6@1; 192.168.12.8@1"
    );
    assert_eq!(
        ok("~LST(IP, 1, 2) ~LST(IP1, 5,6) 192.169.${IP}.${IP1}\n"),
        "192.169.1.5@1; 192.169.1.6@1; 192.169.2.5@1; 192.169.2.6@1"
    );
    assert_eq!(
        ok("~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}\n"),
        "192.168.10.1@1; 192.170.10.1@1; 192.168.20.4@1; 192.170.20.4@1"
    );
    assert_eq!(errors("~LST({A, B}, {1}) x\n").len(), 1);
    assert_eq!(errors("~LST(A) x\n").len(), 1);
}

#[test]
fn includes_are_relative_to_the_including_file_and_globbed() {
    let scratch = Scratch::new();
    scratch.file("conf.d/b.conf", "b 1\ninclude ../more/c.conf\n");
    scratch.file("conf.d/a.conf", "a 1\n");
    scratch.file("more/c.conf", "c 1\n");
    scratch.file("more/d.conf", "d 1\n");
    let main = scratch.file(
        "main.conf",
        "x 0\ninclude conf.d/*.conf\ninclude more/{d,e}.conf\ny 0\n",
    );
    let read = read(&main, "id").unwrap();
    assert_eq!(
        shape(&read.nodes),
        "x 0@1; a 1@1; b 1@1; c 1@1; d 1@1; y 0@4"
    );
    assert!(read.nodes[2].at.file.ends_with("conf.d/b.conf"));
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
}

#[test]
fn an_include_loop_is_an_error_naming_the_chain() {
    let scratch = Scratch::new();
    scratch.file("b.conf", "include c.conf\n");
    scratch.file("c.conf", "include a.conf\n");
    let a = scratch.file("a.conf", "include b.conf\n");
    let problems = read(&a, "id").unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let message = &problems[0].message;
    assert!(message.starts_with("include loop: "), "{message}");
    let chain: Vec<&str> = message["include loop: ".len()..].split(" -> ").collect();
    let names: Vec<&str> = chain
        .iter()
        .map(|p| Path::new(p).file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["a.conf", "b.conf", "c.conf", "a.conf"]);
    assert_eq!(problems[0].at.as_ref().unwrap().line, 1);
    assert!(problems[0].at.as_ref().unwrap().file.ends_with("c.conf"));
}

#[test]
fn a_missing_include_warns_for_include_and_fails_for_includea() {
    let read = read_text("include nothing/*.conf\nx 1\n", "id").unwrap();
    assert_eq!(shape(&read.nodes), "x 1@2");
    assert_eq!(read.warnings.len(), 1);
    assert_eq!(
        errors("includea nothing.conf\n"),
        ["includea nothing.conf: no file matches"]
    );
}

#[test]
fn brace_expansion_nests() {
    assert_eq!(
        expand_braces("{foo/{,cat,dog},bar}"),
        ["foo/", "foo/cat", "foo/dog", "bar"]
    );
    assert_eq!(expand_braces("plain"), ["plain"]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// No text makes the reader or the mapping panic or hang: it reads, or
    /// it says why not.
    #[test]
    fn any_text_is_read_or_refused(text in "[ \t\n{}\"'#!\\\\$@~^a-zA-Z0-9_(),.=/:-]{0,300}") {
        let scratch = Scratch::new();
        let path = scratch.file("fuzz.conf", &text);
        if let Ok(read) = read(&path, "a") {
            let _ = crate::config::keepalived::mapping::map(&read.nodes);
        }
    }

    /// Keepalived-shaped text, with the constructs that expand.
    #[test]
    fn constructs_expand_without_panic(
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("vrrp_instance VI_1 {".to_string()),
                proptest::strategy::Just("}".to_string()),
                proptest::strategy::Just("$A=x ${B} $A".to_string()),
                proptest::strategy::Just("$B= \\".to_string()),
                proptest::strategy::Just("~SEQ(N, 1, 3) priority $N".to_string()),
                proptest::strategy::Just("@a virtual_router_id 1".to_string()),
                proptest::strategy::Just("@^a interface eth0".to_string()),
                proptest::strategy::Just("virtual_ipaddress { 192.0.2.1 }".to_string()),
                proptest::strategy::Just("include fuzz.conf".to_string()),
                proptest::strategy::Just("\"unclosed".to_string()),
                "[a-z_]{1,12} [0-9]{1,3}",
            ],
            0..30,
        )
    ) {
        let scratch = Scratch::new();
        let path = scratch.file("fuzz.conf", &parts.join("\n"));
        if let Ok(read) = read(&path, "a") {
            let _ = crate::config::keepalived::mapping::map(&read.nodes);
        }
    }
}
