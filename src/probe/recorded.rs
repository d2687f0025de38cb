//! A probe's result as an evaluation and a plan record it: compact JSON text, read back as a
//! value only to be shown or redacted. As a tree of values it was most of an evaluation's
//! memory where each failure is a finding of its own (a pull secret missing in each of
//! thousands of namespaces): some kilobytes per probe for a few hundred bytes of text.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Debug, Clone)]
pub struct Recorded(Box<RawValue>);

impl Recorded {
    pub fn new(v: &Value) -> Self {
        // A `Value` always serializes (its keys are strings, its numbers finite).
        Recorded(serde_json::value::to_raw_value(v).unwrap_or_else(|_| Self::null().0))
    }

    pub fn null() -> Self {
        Recorded(RawValue::from_string("null".into()).unwrap_or_default())
    }

    pub fn value(&self) -> Value {
        // Only text `new` wrote is read.
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    /// What `f` makes of the value (redaction), recorded again.
    pub fn visit(&mut self, f: &mut dyn FnMut(&mut Value)) {
        let mut v = self.value();
        f(&mut v);
        *self = Recorded::new(&v);
    }
}

impl PartialEq for Recorded {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

// Written as the value, so pretty output stays pretty.
impl Serialize for Recorded {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Recorded {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Recorded::new(&Value::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_recorded_value_reads_back_writes_as_itself_and_is_smaller() {
        let v = json!({"covering": [], "covers": false, "image": "quay.io/acme/c0:1", "n": 1.5,
            "missing": ["regcred"], "nested": {"a": null, "b": [1, 2, {"c": "d"}]}});
        let r = Recorded::new(&v);
        assert_eq!(r.value(), v);
        assert_eq!(
            serde_json::to_string_pretty(&r).unwrap(),
            serde_json::to_string_pretty(&v).unwrap()
        );
        let back: Recorded = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, r);
        let mut redacted = r.clone();
        redacted.visit(&mut |v| v["image"] = json!("[redacted]"));
        assert_eq!(redacted.value()["image"], "[redacted]");
        assert_eq!(redacted.value()["missing"], json!(["regcred"]));
        assert_eq!(Recorded::null().value(), Value::Null);
    }
}
