//! pf renderer (macOS). Filled in by the pf renderer work.
