//! nftables renderer (Linux). Filled in by the nft renderer work.

use crate::policy::Policy;

/// The complete `nft -f` script for `policy`.
pub fn render(policy: &Policy) -> String {
    let _ = policy;
    String::new()
}
