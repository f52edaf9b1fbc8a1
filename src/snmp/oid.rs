//! Object identifiers: the names SNMP reads by, ordered as SNMP walks
//! them (sub-identifier by sub-identifier, a prefix before its children).

use std::fmt;

/// An object identifier, e.g. 1.3.6.1.2.1.68.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    pub fn new(subids: &[u32]) -> Oid {
        Oid(subids.to_vec())
    }

    /// This OID with `more` appended.
    pub fn child(&self, more: &[u32]) -> Oid {
        let mut subids = self.0.clone();
        subids.extend_from_slice(more);
        Oid(subids)
    }

    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    pub fn is_null(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for subid in &self.0 {
            write!(f, ".{subid}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lexicographic by sub-identifier, as GetNext walks (RFC 2741 §7.2.3.2).
    #[test]
    fn orders_as_a_walk() {
        let a = Oid::new(&[1, 3, 6, 1]);
        let b = Oid::new(&[1, 3, 6, 1, 2]);
        let c = Oid::new(&[1, 3, 6, 2]);
        let d = Oid::new(&[1, 3, 10]);
        assert!(a < b && b < c && c < d);
        assert_eq!(b.to_string(), ".1.3.6.1.2");
        assert!(b.starts_with(&a) && !c.starts_with(&a));
    }
}
