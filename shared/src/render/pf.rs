//! pf renderer (macOS). Filled in by the pf renderer work.

use crate::policy::Policy;

/// The anchor text for `pfctl -a com.apple/airlock -f -`.
pub fn render(policy: &Policy) -> String {
    let _ = policy;
    String::new()
}
