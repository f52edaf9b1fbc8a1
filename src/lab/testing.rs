//! Test-only: what a test does when this machine lacks something it
//! needs. Built only for tests (the `__internal-test` feature), never into
//! the daemon.

/// The skip policy of tests that need something this machine may lack:
/// true when nothing is `missing`; otherwise one "skipped:" line and
/// false, except under CI=true, where a missing prerequisite fails.
pub fn proceed_or_skip(test: &str, missing: Option<String>) -> bool {
    let Some(missing) = missing else { return true };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: CI=true but {missing}");
    }
    println!("skipped: {test}: {missing}");
    false
}

/// `proceed_or_skip` for tests that need only root.
pub fn root_or_skip(test: &str) -> bool {
    let missing = (!nix::unistd::geteuid().is_root()).then(|| "not root".to_string());
    proceed_or_skip(test, missing)
}

use std::process::Command;

use super::{Lab, LabError};

impl Lab {
    /// Drops every multicast VRRP packet (to 224.0.0.18 or ff02::12) on
    /// the lab's bridge, as a cloud network or a strict switch does: only
    /// unicast VRRP gets through.
    pub fn block_multicast_vrrp(&self) -> Result<(), LabError> {
        let rules = [
            "add table bridge vipdlab",
            "add chain bridge vipdlab forward { type filter hook forward priority 0; }",
            "add rule bridge vipdlab forward ip daddr 224.0.0.18 counter drop",
            "add rule bridge vipdlab forward ip6 daddr ff02::12 counter drop",
        ];
        for rule in rules {
            let out = Command::new("ip")
                .args(["netns", "exec", &self.switch, "nft"])
                .args(rule.split(' '))
                .output()?;
            if !out.status.success() {
                return Err(LabError::Command {
                    command: format!("nft {rule}"),
                    stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                });
            }
        }
        Ok(())
    }

    /// Multicast VRRP packets the bridge has dropped since blocking them.
    pub fn blocked_multicast_vrrp(&self) -> u64 {
        let Ok(out) = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.switch,
                "nft",
                "list",
                "chain",
                "bridge",
                "vipdlab",
                "forward",
            ])
            .output()
        else {
            return 0;
        };
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                let at = words.iter().position(|w| *w == "packets")?;
                words.get(at + 1)?.parse::<u64>().ok()
            })
            .sum()
    }
}

impl Lab {
    /// A second LAN: bridge br1 on the switch and `eth1` on every host,
    /// host i with 198.51.100.(200+i)/24.
    pub fn add_second_lan(&self) -> Result<(), LabError> {
        let sw = self.switch.as_str();
        super::ip(&[
            "-n",
            sw,
            "link",
            "add",
            "br1",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        super::ip(&["-n", sw, "link", "set", "br1", "up"])?;
        for (i, host) in self.hosts.iter().enumerate() {
            let (ns, port) = (host.netns.as_str(), format!("lan1port{}", i + 1));
            super::ip(&[
                "link", "add", "eth1", "netns", ns, "type", "veth", "peer", "name", &port, "netns",
                sw,
            ])?;
            super::ip(&["-n", sw, "link", "set", &port, "master", "br1", "up"])?;
            super::ip(&["-n", ns, "link", "set", "eth1", "addrgenmode", "none"])?;
            super::ip(&["-n", ns, "link", "set", "eth1", "up"])?;
            let address = format!("198.51.100.{}/24", 201 + i);
            super::ip(&["-n", ns, "addr", "add", &address, "dev", "eth1"])?;
        }
        Ok(())
    }
}

impl Lab {
    /// Deletes host `i`'s eth0 (its port on the switch goes with it) and
    /// makes it again with the same addresses: a new interface under the
    /// old name, with another index.
    pub fn recreate_eth0(&self, i: usize) -> Result<(), LabError> {
        let (ns, port) = (self.host(i).netns.clone(), format!("port{i}"));
        // Gone already, if the test deleted it.
        let _ = super::ip(&["-n", &ns, "link", "del", "eth0"]);
        super::ip(&[
            "link",
            "add",
            "eth0",
            "netns",
            &ns,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &self.switch,
        ])?;
        super::ip(&[
            "-n",
            &self.switch,
            "link",
            "set",
            &port,
            "master",
            "br0",
            "up",
        ])?;
        super::ip(&["-n", &ns, "link", "set", "eth0", "addrgenmode", "none"])?;
        super::ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        let host = self.host(i);
        for (address, flag) in [
            (format!("{}/24", host.ipv4), None),
            (format!("{}/64", host.ipv6), Some("nodad")),
            (format!("{}/64", host.link_local), Some("nodad")),
        ] {
            let mut args = vec!["-n", &ns, "addr", "add", &address, "dev", "eth0"];
            args.extend(flag);
            super::ip(&args)?;
        }
        Ok(())
    }

    /// Runs `ip ARGS` inside host `i`'s namespace (`ip -n NS ARGS`).
    pub fn ip_in(&self, i: usize, args: &[&str]) -> Result<(), LabError> {
        let ns = self.host(i).netns.clone();
        let mut all = vec!["-n", ns.as_str()];
        all.extend_from_slice(args);
        super::ip(&all)
    }
}
