//! The silent partition: the switch drops every frame to and from a host's
//! port, while the host's link stays up (its daemon sees nothing but
//! silence). Port down, the other kind, is `Lab::set_cable`: there the
//! host's eth0 loses carrier and its daemon sees the link go down.

use std::fs;
use std::process::Command;

use crate::lab::{checked, Lab, LabError};

const TABLE: &str = "vipdchaos";

impl Lab {
    /// Installs the switch's filter: frames from or to a port in the set
    /// `cut` are dropped on the bridge. Empty at first.
    pub fn prepare_partitions(&self) -> Result<(), LabError> {
        let script = format!(
            "table bridge {TABLE} {{\n\
             \tset cut {{ type ifname; }}\n\
             \tchain forward {{\n\
             \t\ttype filter hook forward priority 0; policy accept;\n\
             \t\tiifname @cut drop\n\
             \t\toifname @cut drop\n\
             \t}}\n\
             }}\n"
        );
        let path = self.dir.join("partitions.nft");
        fs::write(&path, script)?;
        let path = path.to_string_lossy().to_string();
        self.nft(&["-f", &path])
    }

    /// Cuts host `i` off from the others, or lets it back.
    pub fn set_partitioned(&self, i: usize, cut: bool) -> Result<(), LabError> {
        let element = format!("{{ port{i} }}");
        let verb = if cut { "add" } else { "delete" };
        self.nft(&[verb, "element", "bridge", TABLE, "cut", &element])
    }

    fn nft(&self, args: &[&str]) -> Result<(), LabError> {
        checked(
            Command::new("ip")
                .args(["netns", "exec", &self.switch, "nft"])
                .args(args),
            format!("nft {}", args.join(" ")),
            |e| {
                LabError::Missing(format!(
                    "the chaos bench needs nft (apt install nftables): {e}"
                ))
            },
        )
    }
}
