//! Tree coordinates: the list of port numbers on the path from the root.
//!
//! On the wire: a u16 big-endian *byte* length, then varu64 port numbers
//! filling exactly that many bytes. The root's coordinates are empty.

use super::cursor::{u16_len, Reader, Writer};
use super::error::{EncodeError, Field, ParseError};
use super::varu64;

/// Owned coordinates, for building frames and for routing state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Coords(pub Vec<u64>);

impl Coords {
    /// The root's coordinates.
    pub const ROOT: Coords = Coords(Vec::new());

    /// The port numbers, root first.
    pub fn ports(&self) -> &[u64] {
        &self.0
    }

    /// Whether these are the root's (empty) coordinates.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Bytes taken by the varu64 ports, without the length prefix.
    fn body_len(&self) -> usize {
        self.0.iter().map(|&p| varu64::encoded_len(p)).sum()
    }

    /// Bytes taken on the wire, including the 2-byte length.
    pub fn encoded_len(&self) -> usize {
        2 + self.body_len()
    }

    /// Tree distance to `other`: hops up to the common ancestor and down.
    pub fn distance(&self, other: &[u64]) -> usize {
        tree_distance(self.0.iter().copied(), other.iter().copied())
    }

    /// Writes the coordinates into `out`, returning the bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::with_capacity(out, self.encoded_len())?;
        self.write(&mut w, Field::DestinationCoords)?;
        Ok(w.pos())
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>, field: Field) -> Result<(), EncodeError> {
        w.u16(u16_len(self.body_len(), field)?)?;
        for &port in &self.0 {
            w.varu64(port)?;
        }
        Ok(())
    }

    /// Parses coordinates that fill all of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Coords, ParseError> {
        let mut r = Reader::new(buf);
        let view = CoordsView::read(&mut r, Field::DestinationCoords)?;
        r.finish()?;
        Ok(view.to_coords())
    }
}

impl From<Vec<u64>> for Coords {
    fn from(ports: Vec<u64>) -> Self {
        Coords(ports)
    }
}

impl std::fmt::Display for Coords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_ports(f, self.0.iter().copied())
    }
}

fn write_ports(
    f: &mut std::fmt::Formatter<'_>,
    ports: impl Iterator<Item = u64>,
) -> std::fmt::Result {
    f.write_str("[")?;
    for (i, port) in ports.enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{port}")?;
    }
    f.write_str("]")
}

/// Tree distance between two coordinate lists: len(a) + len(b) − 2 × the
/// length of their common prefix.
pub fn tree_distance(a: impl Iterator<Item = u64>, b: impl Iterator<Item = u64>) -> usize {
    let mut a = a.peekable();
    let mut b = b.peekable();
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        if x != y {
            break;
        }
        a.next();
        b.next();
    }
    a.count() + b.count()
}

/// A checked, borrowed view of encoded coordinates.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CoordsView<'a> {
    /// The varu64 ports, without the length prefix; known to be valid.
    body: &'a [u8],
    count: usize,
}

impl<'a> CoordsView<'a> {
    /// Reads a length-prefixed coordinate list, checking every port.
    #[inline]
    pub(crate) fn read(r: &mut Reader<'a>, field: Field) -> Result<Self, ParseError> {
        let len = r.u16(field)?;
        let body = r.take(usize::from(len), field)?;
        let mut rest = body;
        let mut count = 0;
        while !rest.is_empty() {
            let (_, n) = varu64::decode(rest, field).map_err(|e| match e {
                ParseError::Truncated(f) => ParseError::CoordsOverrun(f),
                other => other,
            })?;
            rest = rest.get(n..).unwrap_or_default();
            count += 1;
        }
        Ok(CoordsView { body, count })
    }

    /// Number of ports.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether these are the root's (empty) coordinates.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded ports without the length prefix.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The ports, root first.
    pub fn iter(&self) -> CoordsIter<'a> {
        CoordsIter { rest: self.body }
    }

    /// An owned copy.
    pub fn to_coords(&self) -> Coords {
        Coords(self.iter().collect())
    }

    /// Whether the ports equal `ports`.
    pub fn eq_ports(&self, ports: &[u64]) -> bool {
        self.count == ports.len() && self.iter().eq(ports.iter().copied())
    }
}

impl std::fmt::Debug for CoordsView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_ports(f, self.iter())
    }
}

/// Iterator over the ports of a [`CoordsView`].
#[derive(Clone)]
pub struct CoordsIter<'a> {
    rest: &'a [u8],
}

impl Iterator for CoordsIter<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        // The view was validated, so decoding cannot fail; an error would end
        // the iteration rather than panic.
        let (value, n) = varu64::decode(self.rest, Field::DestinationCoords).ok()?;
        self.rest = self.rest.get(n..).unwrap_or_default();
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_hops_through_common_ancestor() {
        let a = Coords(vec![1, 2, 3]);
        assert_eq!(a.distance(&[1, 2, 3]), 0);
        assert_eq!(a.distance(&[1, 2]), 1);
        assert_eq!(a.distance(&[1, 4]), 3);
        assert_eq!(a.distance(&[]), 3);
        assert_eq!(Coords::ROOT.distance(&[]), 0);
    }

    #[test]
    fn overrun_is_reported() {
        // Length 1 but the single byte is a continuation byte.
        assert_eq!(
            Coords::parse(&[0x00, 0x01, 0x81]),
            Err(ParseError::CoordsOverrun(Field::DestinationCoords))
        );
        // Length beyond the input.
        assert_eq!(
            Coords::parse(&[0x00, 0x02, 0x01]),
            Err(ParseError::Truncated(Field::DestinationCoords))
        );
    }
}
