//! The "web service" in the inet namespace: it tells every peer which
//! source address it saw. That one line answers the question each scenario
//! asks — did this connection come through the tunnel (10.8.0.x, fd00:8::x)
//! or straight from the laptop's wire (192.168.1.20)? TCP connections then
//! echo lines back, so a scenario can hold one open and check it still works
//! (or was cut) after the tunnel dies. UDP answers each datagram the same way.
//!
//! Threads, not a process: sockets are bound from a thread that joined the
//! namespace and stay there, so there is nothing extra to kill.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::error::{LabError, Result};
use crate::netns::Netns;

const POLL: Duration = Duration::from_millis(50);

/// The running service; dropping it stops and joins every thread.
#[derive(Debug)]
pub struct WebServer {
    stop: Arc<AtomicBool>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl WebServer {
    /// Binds TCP listeners on `tcp` and UDP sockets on `udp` inside `ns`.
    pub fn start(ns: &Netns, tcp: &[SocketAddr], udp: &[SocketAddr]) -> Result<Self> {
        let (listeners, sockets) = ns
            .enter(|| -> std::io::Result<_> {
                let l = tcp
                    .iter()
                    .map(TcpListener::bind)
                    .collect::<std::io::Result<Vec<_>>>()?;
                let u = udp
                    .iter()
                    .map(UdpSocket::bind)
                    .collect::<std::io::Result<Vec<_>>>()?;
                Ok((l, u))
            })?
            .map_err(LabError::io("binding the web service in inet"))?;
        let server = WebServer {
            stop: Arc::default(),
            threads: Arc::default(),
        };
        for listener in listeners {
            listener
                .set_nonblocking(true)
                .map_err(LabError::io("web listener"))?;
            let (stop, threads) = (Arc::clone(&server.stop), Arc::clone(&server.threads));
            server.push(thread::spawn(move || {
                accept_loop(&listener, &stop, &threads)
            }));
        }
        for socket in sockets {
            socket
                .set_read_timeout(Some(POLL))
                .map_err(LabError::io("web udp socket"))?;
            let stop = Arc::clone(&server.stop);
            server.push(thread::spawn(move || udp_loop(&socket, &stop)));
        }
        Ok(server)
    }

    fn push(&self, handle: JoinHandle<()>) {
        self.threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        loop {
            let next = self.threads.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match next {
                Some(h) => {
                    let _ = h.join();
                }
                None => break,
            }
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    stop: &Arc<AtomicBool>,
    threads: &Mutex<Vec<JoinHandle<()>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, peer)) => {
                let stop = Arc::clone(stop);
                let handle = thread::spawn(move || serve(stream, peer, &stop));
                threads
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(handle);
            }
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// Says who the peer is, then echoes until EOF, an error (a cut
/// connection), or the server stopping.
fn serve(mut stream: TcpStream, peer: SocketAddr, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(POLL));
    if stream.write_all(format!("{peer}\n").as_bytes()).is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

fn udp_loop(socket: &UdpSocket, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::SeqCst) {
        if let Ok((_, peer)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(format!("{peer}\n").as_bytes(), peer);
        }
    }
}
