//! A real OpenVPN 2.6 server and client with TLS: certificates come from the
//! `openssl` command at run time (a throwaway CA per lab, EC keys so it
//! takes milliseconds), because static keys are deprecated and a VPN that
//! connects the way users' VPNs do is the point of an end-to-end test.
//! The config text is built by pure functions so scenarios can read it.

use std::path::{Path, PathBuf};

use crate::error::{LabError, Result};
use crate::netns::run;

/// Files of the lab's throwaway PKI.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// Creates a CA and a server and a client certificate under `dir`, with the
/// key usages `remote-cert-tls server` checks.
pub fn generate_pki(dir: &Path) -> Result<Pki> {
    let p = |name: &str| dir.join(name);
    let s = |path: &PathBuf| path.to_string_lossy().into_owned();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let (ca, ca_key) = (p("ca.crt"), p("ca.key"));
    let mut argv = vec!["openssl", "req", "-x509", "-nodes", "-days", "2"];
    argv.extend(ec);
    let (ca_s, ca_key_s) = (s(&ca), s(&ca_key));
    argv.extend([
        "-keyout",
        &ca_key_s,
        "-out",
        &ca_s,
        "-subj",
        "/CN=airlock-lab-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&argv)?;
    let issue = |name: &str, usage: &str| -> Result<(PathBuf, PathBuf)> {
        let (cert, key, csr, ext) = (
            p(&format!("{name}.crt")),
            p(&format!("{name}.key")),
            p(&format!("{name}.csr")),
            p(&format!("{name}.ext")),
        );
        std::fs::write(
            &ext,
            format!(
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage={usage}\n"
            ),
        )
        .map_err(LabError::io(format!("writing {}", ext.display())))?;
        let (key_s, csr_s, cert_s, ext_s) = (s(&key), s(&csr), s(&cert), s(&ext));
        let subj = format!("/CN=airlock-lab-{name}");
        let mut req = vec!["openssl", "req", "-nodes"];
        req.extend(ec);
        req.extend(["-keyout", &key_s, "-out", &csr_s, "-subj", &subj]);
        run(&req)?;
        run(&[
            "openssl",
            "x509",
            "-req",
            "-in",
            &csr_s,
            "-CA",
            &ca_s,
            "-CAkey",
            &ca_key_s,
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &cert_s,
            "-extfile",
            &ext_s,
        ])?;
        Ok((cert, key))
    };
    let (server_cert, server_key) = issue("server", "serverAuth")?;
    let (client_cert, client_key) = issue("client", "clientAuth")?;
    Ok(Pki {
        ca,
        server_cert,
        server_key,
        client_cert,
        client_key,
    })
}

/// Addresses of the tunnel, in the shape OpenVPN's config wants.
#[derive(Debug, Clone)]
pub struct TunnelNet {
    /// Public address the server listens on.
    pub server_addr: std::net::Ipv4Addr,
    pub port: u16,
    /// IPv4 pool network and netmask (`server 10.8.0.0 255.255.255.0`).
    pub v4_net: String,
    pub v4_mask: &'static str,
    /// IPv6 pool (`server-ipv6 fd00:8::/64`).
    pub v6_net: String,
    /// The server's tunnel device (two servers in one namespace need two).
    pub server_dev: String,
}

/// The server's config. `disable-dco`: the data channel offload module is
/// not available (nor wanted) inside a test namespace. `explicit-exit-notify
/// 2`: a server that stops tells its clients to reconnect at once *and to
/// move on to the next server* (`RESTART,[N]`), as a provider retiring a
/// server does. With 1 the client would retry the address it already has
/// (OpenVPN keeps it over a server-pushed restart) and only look the name
/// up again after its ping timeout.
pub fn server_config(pki: &Pki, net: &TunnelNet) -> String {
    format!(
        "\
# airlock-lab VPN server
mode server
tls-server
dev {dev}
dev-type tun
proto udp4
local {addr}
port {port}
server {v4net} {v4mask}
server-ipv6 {v6net}
topology subnet
ca {ca}
cert {cert}
key {key}
dh none
disable-dco
keepalive 2 10
explicit-exit-notify 2
verb 3
",
        dev = net.server_dev,
        addr = net.server_addr,
        port = net.port,
        v4net = net.v4_net,
        v4mask = net.v4_mask,
        v6net = net.v6_net,
        ca = pki.ca.display(),
        cert = pki.server_cert.display(),
        key = pki.server_key.display(),
    )
}

/// The client's config for tunnel device `dev` (`tun0`, `tun1`: scenarios
/// reconnect on a different name). `redirect-gateway def1 ipv6` sends all
/// IPv4 and IPv6 through the tunnel by routes alone: without a kill switch
/// that is exactly what leaks when the tunnel drops.
pub fn client_config(pki: &Pki, net: &TunnelNet, dev: &str) -> String {
    format!(
        "\
# airlock-lab VPN client
client
dev {dev}
dev-type tun
proto udp4
remote {addr} {port}
nobind
ca {ca}
cert {cert}
key {key}
remote-cert-tls server
disable-dco
redirect-gateway def1 ipv6
connect-retry 1 1
verb 3
",
        addr = net.server_addr,
        port = net.port,
        ca = pki.ca.display(),
        cert = pki.client_cert.display(),
        key = pki.client_key.display(),
    )
}

/// A client config that names its server (`remote HOST PORT`) instead of an
/// address, tuned for a fast and fair reconnect, the same with and without
/// the kill switch: `resolv-retry infinite` (a failed lookup is retried,
/// not fatal), `connect-retry 1 1` (one second between tries, never
/// backing off), `ping 1` / `ping-restart 5` (a silent server is given up
/// after 5 s), and no `persist-tun`, so a restart takes the tunnel down and
/// the kill switch sees the machine offline while it resolves the name.
pub fn named_client_config(pki: &Pki, host: &str, port: u16, dev: &str) -> String {
    format!(
        "\
# airlock-lab VPN client, server by name
client
dev {dev}
dev-type tun
proto udp4
remote {host} {port}
resolv-retry infinite
nobind
ca {ca}
cert {cert}
key {key}
remote-cert-tls server
disable-dco
redirect-gateway def1 ipv6
connect-retry 1 1
ping 1
ping-restart 5
verb 3
",
        ca = pki.ca.display(),
        cert = pki.client_cert.display(),
        key = pki.client_key.display(),
    )
}

/// What OpenVPN prints once routes and addresses are in place.
pub const READY_LINE: &str = "Initialization Sequence Completed";
