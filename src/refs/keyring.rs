use super::{dockercfg::DockerConfig, image::ImageRef};
pub fn key_matches(key: &str, image: &ImageRef) -> bool { key_matches_host(key, &image.registry) }
pub fn key_matches_host(key: &str, registry: &str) -> bool { let k = key.trim_start_matches("https://").trim_start_matches("http://"); let k = k.split('/').next().unwrap_or(k); k.eq_ignore_ascii_case(registry) || (registry == "docker.io" && (k == "index.docker.io" || k == "docker.io")) }
pub fn covering_keys(cfg: &DockerConfig, image: &ImageRef) -> Vec<String> { cfg.entries.iter().filter(|(k, e)| e.has_credentials() && key_matches(k, image)).map(|(k, _)| k.clone()).collect() }
