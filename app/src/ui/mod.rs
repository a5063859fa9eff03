//! What the user sees, decided without the toolkit: the [`model`] (state),
//! the [`view`] rendered from it alone, the rules for notifications and
//! for "Show Rules", the icons; [`tray`] only applies a view to
//! tray-icon/muda.

pub mod blocked;
pub mod icons;
pub mod model;
pub mod notify_rules;
pub mod protection_test;
pub mod servers;
pub mod show_rules;
pub mod tray;
pub mod view;
