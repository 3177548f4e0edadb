//! ioBroker's `encryptedNative`: values stored as `$/aes-192-cbc:<iv hex>:<ciphertext hex>`,
//! AES-192-CBC with PKCS7, keyed by the 48 hex characters of `system.config`
//! `native.secret`; older values are a XOR with the secret's characters.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};

const PREFIX: &str = "$/aes-192-cbc:";

type Enc = cbc::Encryptor<aes::Aes192>;
type Dec = cbc::Decryptor<aes::Aes192>;

/// Why a value could not be decrypted. Never contains the value or the secret.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SecretError {
    /// The system secret is not 48 hex characters.
    #[error("the system secret (system.config native.secret) is not 48 hex characters")]
    BadSecret,
    /// The encrypted value is malformed or was encrypted with another secret.
    #[error("an encrypted setting could not be decrypted (malformed, or another system secret)")]
    BadValue,
}

fn key(secret: &str) -> Result<[u8; 24], SecretError> {
    let bytes = hex::decode(secret).map_err(|_| SecretError::BadSecret)?;
    bytes.try_into().map_err(|_| SecretError::BadSecret)
}

/// Decrypt a stored value: AES when it carries the prefix, else the legacy XOR.
pub fn decrypt(secret: &str, value: &str) -> Result<String, SecretError> {
    let Some(rest) = value.strip_prefix(PREFIX) else {
        return Ok(xor(secret, value));
    };
    let (iv, data) = rest.split_once(':').ok_or(SecretError::BadValue)?;
    let iv: [u8; 16] = hex::decode(iv)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or(SecretError::BadValue)?;
    let data = hex::decode(data).map_err(|_| SecretError::BadValue)?;
    let plain = Dec::new(&key(secret)?.into(), &iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(&data)
        .map_err(|_| SecretError::BadValue)?;
    String::from_utf8(plain).map_err(|_| SecretError::BadValue)
}

/// Encrypt a value the way js-controller does, with a random IV.
pub fn encrypt(secret: &str, value: &str) -> Result<String, SecretError> {
    let iv: [u8; 16] = rand::random();
    encrypt_with_iv(secret, value, iv)
}

fn encrypt_with_iv(secret: &str, value: &str, iv: [u8; 16]) -> Result<String, SecretError> {
    let data = Enc::new(&key(secret)?.into(), &iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(value.as_bytes());
    Ok(format!("{PREFIX}{}:{}", hex::encode(iv), hex::encode(data)))
}

/// The legacy scheme: each UTF-16 unit XOR the secret's character at the same position.
fn xor(secret: &str, value: &str) -> String {
    let key: Vec<u16> = secret.encode_utf16().collect();
    if key.is_empty() {
        return value.to_string();
    }
    let units: Vec<u16> = value
        .encode_utf16()
        .enumerate()
        .map(|(i, c)| c ^ key[i % key.len()])
        .collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn decrypts_what_node_encrypted() {
        // Made with Node's crypto exactly as js-controller encrypts (aes-192-cbc, hex).
        let stored = "$/aes-192-cbc:000102030405060708090a0b0c0d0e0f:d38ad3be5f24204d9dae22fbf5cb2096d21d0c7551600b17e97f4878b1428585";
        assert_eq!(decrypt(SECRET, stored).unwrap(), "SECRET-TOKEN-ÄÖ-1234");
        let iv: [u8; 16] = core::array::from_fn(|i| i as u8);
        assert_eq!(
            encrypt_with_iv(SECRET, "SECRET-TOKEN-ÄÖ-1234", iv).unwrap(),
            stored
        );
    }

    #[test]
    fn legacy_xor_and_round_trips() {
        assert_eq!(decrypt(SECRET, "\\TURWL\u{1b}GQW").unwrap(), "legacy-pin");
        let e = encrypt(SECRET, "token").unwrap();
        assert!(e.starts_with(PREFIX) && !e.contains("token"));
        assert_eq!(decrypt(SECRET, &e).unwrap(), "token");
        assert_ne!(encrypt(SECRET, "token").unwrap(), e, "a fresh IV each time");
    }

    #[test]
    fn errors_are_clear_and_hold_no_secret() {
        assert_eq!(
            decrypt("short", "$/aes-192-cbc:00:00"),
            Err(SecretError::BadValue)
        );
        let e = encrypt(SECRET, "token").unwrap();
        let other = "f".repeat(48);
        assert_eq!(decrypt(&other, &e), Err(SecretError::BadValue));
        assert_eq!(encrypt("xyz", "token"), Err(SecretError::BadSecret));
    }
}
