//! The binary tensor data extension (Triton's `binary_tensor_data`): a body is a JSON
//! header of `Inference-Header-Content-Length` bytes followed by each binary tensor's raw
//! bytes, little-endian and row-major, in the order of the header's tensors; a `BYTES`
//! element is a 4-byte little-endian length and that many bytes.
//!
//! Every size here comes from the client, so nothing is allocated or sliced from one
//! before it is checked against the bytes actually present.

/// Splits a body at the header length the `Inference-Header-Content-Length` header gave
/// (`None`: the whole body is JSON).
pub fn split<'a>(
    body: &'a [u8],
    header_length: Option<&str>,
) -> Result<(&'a [u8], &'a [u8]), String> {
    let Some(raw) = header_length else {
        return Ok((body, &[]));
    };
    let n: usize = raw.trim().parse().map_err(|_| {
        format!(
            "Inference-Header-Content-Length {:?} is not a byte count",
            super::cut(raw, 32)
        )
    })?;
    if n == 0 {
        return Err(
            "Inference-Header-Content-Length 0 (a raw binary request without a JSON \
                    header) is not supported: send the JSON inference header"
                .into(),
        );
    }
    if n > body.len() {
        return Err(format!(
            "Inference-Header-Content-Length {n} exceeds the body's {} bytes",
            body.len()
        ));
    }
    Ok(body.split_at(n))
}

/// Takes `size` bytes off the front of `rest`, or says how many there are.
pub fn take<'a>(rest: &mut &'a [u8], size: u64) -> Result<&'a [u8], String> {
    match usize::try_from(size) {
        Ok(n) if n <= rest.len() => {
            let (head, tail) = rest.split_at(n);
            *rest = tail;
            Ok(head)
        }
        _ => Err(format!(
            "binary_data_size {size} exceeds the {} bytes of binary data left after the JSON header",
            rest.len()
        )),
    }
}

/// Splits a `BYTES` tensor's data into exactly `count` elements that use up all of
/// `data`. `count` is trusted only as far as the data goes: each element needs 4 bytes.
pub fn bytes_elements(data: &[u8], count: usize) -> Result<Vec<&[u8]>, String> {
    if count > data.len() / 4 {
        return Err(format!(
            "{} bytes cannot hold {count} BYTES elements (4-byte length each)",
            data.len()
        ));
    }
    let mut out = Vec::with_capacity(count);
    let mut rest = data;
    for i in 0..count {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(format!(
                "element {i}: the data ends inside its 4-byte length"
            ));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if len > tail.len() {
            return Err(format!(
                "element {i}: length {len} exceeds the {} bytes left",
                tail.len()
            ));
        }
        let (s, tail) = tail.split_at(len);
        out.push(s);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(format!(
            "{} bytes left after the {count} elements the shape gives",
            rest.len()
        ));
    }
    Ok(out)
}

/// Appends one `BYTES` element.
pub fn push_bytes_element(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_checks_the_header_length_against_the_body() {
        let body = b"{\"a\":1}\x01\x02";
        assert_eq!(split(body, None).unwrap(), (&body[..], &b""[..]));
        assert_eq!(split(body, Some("7")).unwrap(), (&body[..7], &body[7..]));
        assert_eq!(split(body, Some(" 9 ")).unwrap().1, b"");
        for bad in ["10", "-1", "x", "", "18446744073709551616", "0"] {
            assert!(split(body, Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn take_never_goes_past_the_data() {
        let mut rest: &[u8] = &[1, 2, 3];
        assert_eq!(take(&mut rest, 2).unwrap(), [1, 2]);
        assert!(take(&mut rest, 2).is_err());
        assert!(take(&mut rest, u64::MAX).is_err());
        assert_eq!(take(&mut rest, 1).unwrap(), [3]);
        assert_eq!(rest, b"");
    }

    #[test]
    fn bytes_elements_round_trip_and_refuse_any_inconsistency() {
        let mut data = Vec::new();
        for s in ["Biscoe", "", "Dream"] {
            push_bytes_element(&mut data, s.as_bytes());
        }
        assert_eq!(
            bytes_elements(&data, 3).unwrap(),
            [&b"Biscoe"[..], b"", b"Dream"]
        );
        assert!(bytes_elements(&data, 2).is_err()); // bytes left over
        assert!(bytes_elements(&data, 4).is_err()); // runs out
        assert!(bytes_elements(&data[..data.len() - 1], 3).is_err());
        assert!(bytes_elements(&data, usize::MAX).is_err()); // no allocation from it
        let huge_len = [0xff, 0xff, 0xff, 0xff, b'a'];
        assert!(bytes_elements(&huge_len, 1).is_err());
        assert_eq!(bytes_elements(&[], 0).unwrap(), Vec::<&[u8]>::new());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic sweep over short inputs and counts.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 24) as usize;
            let data: Vec<u8> = (0..len).map(|i| (seed >> (i % 8 * 8)) as u8 % 9).collect();
            let _ = bytes_elements(&data, (seed >> 40) as usize % 8);
            let mut rest = &data[..];
            let _ = take(&mut rest, seed >> 60);
        }
    }
}
