//! Client requests -> engine operations -> responses. Authorization and
//! the handshake are the server's business; by the time a request gets
//! here it is allowed.

use airlock_shared::endpoint::book;
use airlock_shared::ipc::protocol::{ErrorCode, IpcError, OptionName, RequestBody, ResponseBody};
use airlock_shared::ipc::rules_page;
use airlock_shared::settings::Settings;

use super::{Engine, EngineError};

/// The longest pause a client may ask for. A pause is a hole in the kill
/// switch; a day is plenty for a captive portal and bounds a mistake.
pub const MAX_PAUSE_SECS: u64 = 24 * 60 * 60;

impl Engine {
    /// Serves one request. Reads never fail; changes answer with the new
    /// status only once the kernel holds the new rules.
    pub fn handle(&mut self, body: RequestBody, now: u64) -> Result<ResponseBody, IpcError> {
        match body {
            RequestBody::GetStatus => {
                self.refresh_counters(now);
                Ok(ResponseBody::Status(self.status(now)))
            }
            RequestBody::ListEndpoints => {
                Ok(ResponseBody::Endpoints(self.settings.endpoints.clone()))
            }
            RequestBody::GetSettings => Ok(ResponseBody::Settings(self.settings.clone())),
            RequestBody::GetBlocked => Ok(ResponseBody::Blocked(crate::blocked::report())),
            RequestBody::GetCounters => self.counters(now),
            RequestBody::GetRules { offset } => self.rules_page(offset),
            RequestBody::Hello { .. } | RequestBody::Subscribe | RequestBody::Resolve { .. } => {
                Err(IpcError::new(
                    ErrorCode::BadRequest,
                    "hello, subscribe and resolve are handled by the connection, not the engine",
                ))
            }
            RequestBody::Enable => self.done(now, |s| {
                s.kill_switch = true;
                s.pause_until = None;
                Ok(())
            }),
            RequestBody::Disable => self.done(now, |s| {
                s.kill_switch = false;
                s.pause_until = None;
                Ok(())
            }),
            RequestBody::SetOption { option, value } => self.done(now, move |s| {
                *option_field(s, option) = value;
                Ok(())
            }),
            RequestBody::Pause { seconds } => self.done(now, move |s| {
                if !s.kill_switch {
                    return Err("the kill switch is off: there is nothing to pause".into());
                }
                if seconds == 0 || seconds > MAX_PAUSE_SECS {
                    return Err(format!(
                        "a pause lasts from 1 second to {} hours, not {seconds} seconds",
                        MAX_PAUSE_SECS / 3600
                    ));
                }
                s.pause_until = Some(now + seconds);
                Ok(())
            }),
            RequestBody::Resume => self.done(now, |s| {
                s.pause_until = None;
                Ok(())
            }),
            RequestBody::AddEndpoints { endpoints } => self.done(now, move |s| {
                if endpoints.is_empty() {
                    return Err("no endpoints given".into());
                }
                book::add(&mut s.endpoints, endpoints, now);
                Ok(())
            }),
            RequestBody::LearnEndpoints => {
                // The same rule as on a network change (learn.rs), run
                // now: the connection may have appeared after the route.
                let flows = self.flows();
                let learned = crate::learn::endpoints(&self.snapshot, flows);
                if learned.is_empty() {
                    return Err(IpcError::new(
                        ErrorCode::BadRequest,
                        "no VPN server to learn: no tunnel is up, or no connection from \
                         this machine's network address goes to a server routed outside it",
                    ));
                }
                // The user asked for this server: it is theirs now, added
                // by hand, and never expires (a learned one becomes so).
                self.done(now, move |s| {
                    book::add(&mut s.endpoints, learned, now);
                    Ok(())
                })
            }
            RequestBody::RemoveEndpoints { endpoints } => self.done(now, move |s| {
                let unknown: Vec<String> = endpoints
                    .iter()
                    .filter(|e| !s.endpoints.iter().any(|x| x.same_target(e)))
                    .map(|e| e.to_string())
                    .collect();
                if !unknown.is_empty() {
                    return Err(format!("not in the endpoint list: {}", unknown.join(", ")));
                }
                s.endpoints
                    .retain(|x| !endpoints.iter().any(|e| e.same_target(x)));
                Ok(())
            }),
        }
    }

    fn done(
        &mut self,
        now: u64,
        mutate: impl FnOnce(&mut Settings) -> Result<(), String>,
    ) -> Result<ResponseBody, IpcError> {
        match self.change(now, mutate) {
            Ok(()) => Ok(ResponseBody::Done(self.status(now))),
            Err(e) => Err(to_ipc(e)),
        }
    }

    /// One page of the loaded rules. Offset 0 starts a read: the kernel is
    /// asked afresh and the listing kept for the following pages (see
    /// `rules_listing`). An offset that is no page start is the client's
    /// mistake (`BadRequest`); the listing stays for its next request.
    fn rules_page(&mut self, offset: u64) -> Result<ResponseBody, IpcError> {
        let listing = match self.rules_listing.take() {
            Some(listing) if offset != 0 => listing,
            _ => {
                let text = self.firewall.loaded_text().map_err(|e| {
                    IpcError::new(
                        ErrorCode::Firewall,
                        format!("cannot read the loaded rules: {e}"),
                    )
                })?;
                rules_page::Listing::new(text)
            }
        };
        let listing = self.rules_listing.insert(listing);
        listing
            .page(self.firewall.kind().as_str(), offset)
            .map_err(IpcError::from)
    }

    /// The counters read afresh. Costs one `nft`/`pfctl` run, like the
    /// first page of `GetRules`, which any local user may also ask for.
    fn counters(&mut self, now: u64) -> Result<ResponseBody, IpcError> {
        if !self.firewall.is_loaded() {
            return Ok(ResponseBody::Counters {
                blocked_packets: None,
            });
        }
        let read = self.firewall.blocked_packets().map_err(|e| {
            IpcError::new(
                ErrorCode::Firewall,
                format!("cannot read the block counters: {e}"),
            )
        })?;
        if let Some(n) = read {
            self.blocked_packets = n;
            self.counters_read_at = Some(now);
        }
        Ok(ResponseBody::Counters {
            blocked_packets: read,
        })
    }

    /// Reading the counters runs `nft`; with nothing of ours loaded there
    /// are none to read, and within one second the last reading is fresh
    /// enough, so a burst of status requests costs one `nft` run at most.
    fn refresh_counters(&mut self, now: u64) {
        if !self.firewall.is_loaded() || self.counters_read_at == Some(now) {
            return;
        }
        self.counters_read_at = Some(now);
        if let Ok(Some(n)) = self.firewall.blocked_packets() {
            self.blocked_packets = n;
        }
    }
}

fn option_field(s: &mut Settings, option: OptionName) -> &mut bool {
    match option {
        OptionName::AllowLan => &mut s.allow_lan,
        OptionName::AllowAirdrop => &mut s.allow_airdrop,
        OptionName::AllowAirprint => &mut s.allow_airprint,
        OptionName::AllowDns => &mut s.allow_dns,
        OptionName::PfRestoreHook => &mut s.pf_restore_hook,
        OptionName::VpnRootOnly => &mut s.vpn_root_only,
    }
}

fn to_ipc(e: EngineError) -> IpcError {
    let code = match e {
        EngineError::Firewall(_) => ErrorCode::Firewall,
        EngineError::Persist(_) => ErrorCode::Internal,
        EngineError::Invalid(_) => ErrorCode::BadRequest,
    };
    IpcError::new(code, e.to_string())
}
