//! A real etcd cluster in a lab: one member per host namespace, started
//! by the lab itself (never systemd) with its own data directory (on
//! /dev/shm: the lab's own, removed with it) and the host's address.
//! For the quorum fence's tests and bench.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{wait_for, Lab, LabError};

pub const CLIENT_PORT: u16 = 2379;
pub const PEER_PORT: u16 = 2380;

/// Certificates for a cluster that serves clients over TLS and asks them
/// for a certificate (`--client-cert-auth`), made with openssl.
#[derive(Clone, Debug)]
pub struct EtcdTls {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn openssl(args: &[&str]) -> Result<(), LabError> {
    super::checked(
        std::process::Command::new("openssl").args(args),
        format!("openssl {}", args.join(" ")),
        |e| LabError::Missing(format!("the TLS test needs openssl: {e}")),
    )
}

impl EtcdTls {
    /// A CA, one server certificate for every member's address, and a
    /// client certificate, in `dir` (valid for a day).
    pub fn generate(
        lab: &Lab,
        hosts: &[usize],
        dir: &std::path::Path,
    ) -> Result<EtcdTls, LabError> {
        fs::create_dir_all(dir)?;
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let sans: Vec<String> = hosts
            .iter()
            .map(|&h| format!("IP:{}", lab.host(h).ipv4))
            .collect();
        fs::write(
            path("server.ext"),
            format!(
                "subjectAltName={}\nextendedKeyUsage=serverAuth,clientAuth\n",
                sans.join(",")
            ),
        )?;
        fs::write(path("client.ext"), "extendedKeyUsage=clientAuth\n")?;
        // A key and a request for `name`, and its certificate signed by
        // the CA (`ext`: the extensions file), or self-signed (the CA).
        let make = |name: &str, subject: &str, ext: Option<&str>| -> Result<(), LabError> {
            let (key, csr, pem) = (
                path(&format!("{name}.key")),
                path(&format!("{name}.csr")),
                path(&format!("{name}.pem")),
            );
            let mut request = vec![
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                subject,
                "-keyout",
                &key,
            ];
            match ext {
                None => request.extend(["-x509", "-days", "1", "-out", &pem]),
                Some(_) => request.extend(["-out", &csr]),
            }
            openssl(&request)?;
            if let Some(ext) = ext {
                let (ca, ca_key, ext) = (path("ca.pem"), path("ca.key"), path(ext));
                openssl(&[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &ca,
                    "-CAkey",
                    &ca_key,
                    "-CAcreateserial",
                    "-days",
                    "1",
                    "-extfile",
                    &ext,
                    "-out",
                    &pem,
                ])?;
            }
            Ok(())
        };
        make("ca", "/CN=vipd lab CA", None)?;
        make("server", "/CN=etcd", Some("server.ext"))?;
        make("client", "/CN=vipd", Some("client.ext"))?;
        Ok(EtcdTls {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        })
    }
}

pub struct EtcdCluster {
    /// (host, pid while running).
    members: Vec<(usize, Option<Pid>)>,
    tls: Option<EtcdTls>,
    /// Members started so far: each start has its own log.
    starts: usize,
    initial_cluster: String,
    token: String,
    data: PathBuf,
}

impl EtcdCluster {
    /// Starts a member on each of `hosts` and waits until the cluster
    /// has a leader and answers writes.
    pub fn start(lab: &mut Lab, hosts: &[usize]) -> Result<EtcdCluster, LabError> {
        EtcdCluster::start_with(lab, hosts, None)
    }

    /// As `start`; with `tls`, clients must use https and a certificate.
    pub fn start_with(
        lab: &mut Lab,
        hosts: &[usize],
        tls: Option<EtcdTls>,
    ) -> Result<EtcdCluster, LabError> {
        if std::process::Command::new("etcd")
            .arg("--version")
            .output()
            .is_err()
        {
            return Err(LabError::Missing(
                "the quorum tests need etcd (apt install etcd-server etcd-client)".into(),
            ));
        }
        let initial_cluster = hosts
            .iter()
            .map(|&h| format!("m{h}=http://{}:{PEER_PORT}", lab.host(h).ipv4))
            .collect::<Vec<_>>()
            .join(",");
        let data = PathBuf::from("/dev/shm").join(format!("{}-etcd", lab.prefix));
        fs::create_dir_all(&data)?;
        let mut cluster = EtcdCluster {
            members: hosts.iter().map(|&h| (h, None)).collect(),
            tls,
            starts: 0,
            initial_cluster,
            token: lab.prefix.clone(),
            data,
        };
        for &host in hosts {
            cluster.start_member(lab, host, "new")?;
        }
        if !cluster.wait_healthy(lab, Duration::from_secs(30)) {
            return Err(LabError::Missing(
                "the etcd cluster did not become healthy in 30 s".into(),
            ));
        }
        Ok(cluster)
    }

    /// `quorum:` for vipd's configuration, listing every member.
    pub fn endpoints(&self, lab: &Lab) -> Vec<String> {
        self.members
            .iter()
            .map(|(h, _)| format!("{}://{}:{CLIENT_PORT}", self.scheme(), lab.host(*h).ipv4))
            .collect()
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    fn start_member(&mut self, lab: &mut Lab, host: usize, state: &str) -> Result<(), LabError> {
        let ip = lab.host(host).ipv4;
        let dir = self.data.join(format!("m{host}"));
        self.starts += 1;
        let log = lab.dir.join(format!("etcd-h{host}-{}.log", self.starts));
        let scheme = self.scheme();
        let mut args = vec![
            format!("--name=m{host}"),
            format!("--data-dir={}", dir.display()),
            format!("--listen-client-urls={scheme}://{ip}:{CLIENT_PORT}"),
            format!("--advertise-client-urls={scheme}://{ip}:{CLIENT_PORT}"),
            format!("--listen-peer-urls=http://{ip}:{PEER_PORT}"),
            format!("--initial-advertise-peer-urls=http://{ip}:{PEER_PORT}"),
            format!("--initial-cluster={}", self.initial_cluster),
            format!("--initial-cluster-token={}", self.token),
            format!("--initial-cluster-state={state}"),
            // etcd's defaults (100 ms heartbeat, 1 s election timeout).
            "--heartbeat-interval=100".into(),
            "--election-timeout=1000".into(),
            // A member cut off and back must not depose the leader
            // (etcd 3.5's default; 3.4's is off).
            "--pre-vote=true".into(),
            "--logger=zap".into(),
            "--log-outputs=stderr".into(),
        ];
        if let Some(tls) = &self.tls {
            args.extend([
                format!("--cert-file={}", tls.server_cert.display()),
                format!("--key-file={}", tls.server_key.display()),
                format!("--trusted-ca-file={}", tls.ca.display()),
                "--client-cert-auth=true".into(),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let pid = lab.spawn(host, std::path::Path::new("etcd"), &args, &log)?;
        if let Some(member) = self.members.iter_mut().find(|(h, _)| *h == host) {
            member.1 = Some(pid);
        }
        Ok(())
    }

    /// Stops host `host`'s member (SIGKILL: as a crash).
    pub fn kill_member(&mut self, lab: &mut Lab, host: usize) {
        if let Some((_, pid)) = self.members.iter_mut().find(|(h, _)| *h == host) {
            if let Some(pid) = pid.take() {
                lab.signal(pid, Signal::SIGKILL);
                lab.wait_exit(pid, Duration::from_secs(10));
            }
        }
    }

    /// Starts host `host`'s member again, with its data.
    pub fn restart_member(&mut self, lab: &mut Lab, host: usize) -> Result<(), LabError> {
        self.start_member(lab, host, "existing")
    }

    /// Runs etcdctl against the running members.
    pub fn etcdctl(&self, lab: &Lab, args: &[&str]) -> Option<String> {
        let running: Vec<usize> = self
            .members
            .iter()
            .filter(|(_, pid)| pid.is_some())
            .map(|(h, _)| *h)
            .collect();
        self.etcdctl_to(lab, &running, args)
    }

    /// Runs etcdctl against the members on `hosts` (with the client
    /// certificate when the cluster asks for one).
    fn etcdctl_to(&self, lab: &Lab, hosts: &[usize], args: &[&str]) -> Option<String> {
        let endpoints = hosts
            .iter()
            .map(|h| format!("{}://{}:{CLIENT_PORT}", self.scheme(), lab.host(*h).ipv4))
            .collect::<Vec<_>>()
            .join(",");
        let mut full = vec![
            "--dial-timeout=2s".to_string(),
            "--command-timeout=3s".to_string(),
            format!("--endpoints={endpoints}"),
        ];
        if let Some(tls) = &self.tls {
            full.push(format!("--cacert={}", tls.ca.display()));
            full.push(format!("--cert={}", tls.client_cert.display()));
            full.push(format!("--key={}", tls.client_key.display()));
        }
        full.extend(args.iter().map(|a| a.to_string()));
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        let out = lab.exec(*hosts.first()?, "etcdctl", &full).ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The host whose member leads, as the members say.
    pub fn leader(&self, lab: &Lab) -> Option<usize> {
        let status = self.etcdctl(lab, &["endpoint", "status", "-w", "json"])?;
        let status: serde_json::Value = serde_json::from_str(&status).ok()?;
        status.as_array()?.iter().find_map(|member| {
            let header = &member["Status"]["header"];
            let leads = member["Status"]["leader"] == header["member_id"];
            let endpoint = member["Endpoint"].as_str()?;
            leads.then(|| self.host_of(lab, endpoint)).flatten()
        })
    }

    /// etcd's member id of host `host`'s member (hex, as move-leader takes it).
    pub fn member_id(&self, lab: &Lab, host: usize) -> Option<String> {
        let list = self.etcdctl(lab, &["member", "list", "-w", "json"])?;
        let list: serde_json::Value = serde_json::from_str(&list).ok()?;
        let name = format!("m{host}");
        list["members"].as_array()?.iter().find_map(|m| {
            (m["name"].as_str() == Some(name.as_str()))
                .then(|| m["ID"].as_u64().map(|id| format!("{id:x}")))
                .flatten()
        })
    }

    /// Hands leadership to host `host`'s member.
    pub fn move_leader(&self, lab: &Lab, host: usize) -> bool {
        let Some(id) = self.member_id(lab, host) else {
            return false;
        };
        // move-leader must be sent to the current leader.
        let Some(leader) = self.leader(lab) else {
            return false;
        };
        self.etcdctl_to(lab, &[leader], &["move-leader", &id])
            .is_some()
    }

    fn host_of(&self, lab: &Lab, endpoint: &str) -> Option<usize> {
        self.members
            .iter()
            .map(|(h, _)| *h)
            .find(|h| endpoint.contains(&format!("{}:", lab.host(*h).ipv4)))
    }

    /// Polls until a leader is known and a write goes through.
    pub fn wait_healthy(&self, lab: &Lab, timeout: Duration) -> bool {
        wait_for(timeout, || {
            self.etcdctl(lab, &["put", "/lab/health", "ok"]).is_some() && self.leader(lab).is_some()
        })
        .is_some()
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        // The members are the lab's children: it ends them.
        let _ = fs::remove_dir_all(&self.data);
    }
}
