//! Access point identity: SGTIN normalisation and the CLIENTAUTH header.

use sha2::{Digest, Sha512};

use super::CloudError;

/// The salt eQ-3's clients append to the SGTIN for CLIENTAUTH (public, in every client).
const CLIENTAUTH_SALT: &str = "jiLpVitHvWnIGD1yo7MA";

/// Normalise an SGTIN as printed (`3014-F711-A000-...`): keep hex digits, uppercase,
/// and require exactly 24 of them.
pub fn normalize_sgtin(raw: &str) -> Result<String, CloudError> {
    let s: String = raw
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if s.len() == 24 {
        Ok(s)
    } else {
        Err(CloudError::BadSgtin(s.len()))
    }
}

/// CLIENTAUTH = uppercase hex of SHA-512(SGTIN + salt).
pub fn client_auth(sgtin: &str) -> String {
    let mut h = Sha512::new();
    h.update(sgtin.as_bytes());
    h.update(CLIENTAUTH_SALT.as_bytes());
    hex::encode_upper(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgtin_normalisation() {
        assert_eq!(
            normalize_sgtin("3014-f711-a000-0000-0000-0001").unwrap(),
            "3014F711A000000000000001"
        );
        assert!(matches!(
            normalize_sgtin("3014-F711"),
            Err(CloudError::BadSgtin(8))
        ));
    }

    #[test]
    fn client_auth_is_sha512_hex_upper() {
        let a = client_auth("3014F711A000000000000001");
        assert_eq!(a.len(), 128);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_ne!(a, client_auth("3014F711A000000000000002"));
    }
}
