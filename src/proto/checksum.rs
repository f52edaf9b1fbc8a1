//! The Internet checksum (RFC 1071) over one or more byte slices.
//!
//! VRRPv2 sums the VRRP message alone; VRRPv3 prepends the IPv4 or IPv6
//! pseudo-header (RFC 5798 §5.2.8). Summing slices in sequence avoids
//! copying the pseudo-header and message into one buffer on the receive path.

/// One's-complement sum of `parts` as if concatenated, folded and inverted.
/// Every part but the last must have even length (true for all callers:
/// pseudo-headers are 12 or 40 bytes).
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    for part in parts {
        let mut words = part.chunks_exact(2);
        for word in &mut words {
            sum += u64::from(u16::from_be_bytes([word[0], word[1]]));
        }
        if let [last] = words.remainder() {
            sum += u64::from(u16::from_be_bytes([*last, 0]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&[&data]), 0x220d);
    }

    #[test]
    fn split_parts_equal_concatenation() {
        let data: Vec<u8> = (0u8..=40).collect();
        let (a, b) = data.split_at(12);
        assert_eq!(internet_checksum(&[a, b]), internet_checksum(&[&data]));
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(
            internet_checksum(&[&[0xab]]),
            internet_checksum(&[&[0xab, 0x00]])
        );
    }
}
