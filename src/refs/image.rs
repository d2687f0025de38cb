#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageRef { pub registry: String, pub repository: String, pub tag: Option<String>, pub digest: Option<String> }
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError { #[error("empty image reference")] Empty, #[error("invalid reference format: {0}")] Invalid(String), #[error("invalid reference format: repository name must be lowercase")] Uppercase }
impl ImageRef {
    pub fn parse(s: &str) -> Result<Self, ImageRefError> {
        if s.is_empty() { return Err(ImageRefError::Empty); }
        let (rest, digest) = match s.split_once('@') { Some((a, d)) => (a, Some(d.to_string())), None => (s, None) };
        let (first, tail) = rest.split_once('/').unwrap_or(("", rest));
        let (registry, path) = if !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost") { (first.to_string(), tail) } else { ("docker.io".to_string(), rest) };
        let (repo, tag) = match path.rsplit_once(':') { Some((r, t)) if !t.contains('/') => (r.to_string(), Some(t.to_string())), _ => (path.to_string(), None) };
        let repo = if registry == "docker.io" && !repo.contains('/') { format!("library/{repo}") } else { repo };
        let tag = if tag.is_none() && digest.is_none() { Some("latest".into()) } else { tag };
        Ok(ImageRef { registry, repository: repo, tag, digest })
    }
    pub fn registry_host(&self) -> &str { &self.registry }
    pub fn normalized(&self) -> String { format!("{}/{}", self.registry, self.repository) }
}
pub fn registry_of(image: &str) -> Option<String> { ImageRef::parse(image).ok().map(|r| r.registry) }
