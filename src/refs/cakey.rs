pub fn ca_key(registry: &str) -> String { match registry.rsplit_once(':') { Some((h, p)) => format!("{h}..{p}"), None => registry.to_string() } }
pub fn registry_of_ca_key(key: &str) -> String { key.replacen("..", ":", 1) }
pub fn is_colon_form(key: &str) -> bool { key.contains(':') }
#[derive(Debug, Clone, PartialEq, Eq)] pub enum CaKeyLookup { Correct(String), ColonForm(String), Missing }
pub fn find_ca_key<'a>(keys: impl IntoIterator<Item=&'a str>, registry: &str) -> CaKeyLookup { let want = ca_key(registry); let mut colon = None; for k in keys { if k == want { return CaKeyLookup::Correct(k.to_string()); } if k == registry && k.contains(':') { colon = Some(k.to_string()); } } colon.map(CaKeyLookup::ColonForm).unwrap_or(CaKeyLookup::Missing) }
