//! Pure summaries of cluster objects for templates, one module per probe kind. Secret values
//! never leave this module: a Secret is described by its keys and, for pull secrets, the
//! registries it covers.
//!
//! The fields of each summary are declared next to the code that builds it so they stay in
//! sync (a test checks every variant's keys): `load` checks templates that read them.

mod openshift;
mod owner;
mod pull_secrets;
mod secret;

pub use openshift::*;
pub use owner::*;
pub use pull_secrets::*;
pub use secret::*;

pub const PULL_SECRET_TYPES: &[&str] = &["kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"];

#[cfg(test)]
mod tests;
