//! YAML-facing types: what rule authors write. Nothing here is validated beyond its shape;
//! `load` compiles these into runtime types and reports every problem with a location.
//!
//! All types are camelCase and `deny_unknown_fields` so typos are caught, and none uses
//! `flatten` (it breaks both unknown-field detection and the generated schema).

mod action;
mod matcher;
mod playbook;
mod probe;

pub use action::*;
pub use matcher::*;
pub use playbook::*;
pub use probe::*;

/// The only `apiVersion` this release reads.
pub const API_VERSION: &str = "remedy.dev/v1alpha1";
