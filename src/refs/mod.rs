//! PLACEHOLDER until the real helpers land.
pub mod cakey;
pub mod dockercfg;
pub mod image;
pub mod keyring;
