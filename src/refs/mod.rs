//! Image references, pull-secret decoding and the registry-key matching rules kubelet and OpenShift apply.
pub mod cakey;
pub mod dockercfg;
pub mod image;
pub mod keyring;
