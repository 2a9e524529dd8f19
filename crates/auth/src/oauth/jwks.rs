//! A JSON Web Key Set (RFC 7517 §5) of signature keys: RSA (RFC 7518 §6.3), EC P-256 and
//! P-384 (§6.2) and Ed25519 (RFC 8037 §2), and the choice of a token's key.
//!
//! Keys for encryption (`use: enc`, or `key_ops` without `verify`) and key types not listed
//! above (`oct`: HMAC secrets, which a verifier that can be read by others must never use) are
//! skipped, as RFC 7517 §5 asks of types not understood. A listed type with missing or
//! malformed parameters makes the whole set invalid: a typo in a key must not go unnoticed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use base64::Engine;
use serde::Deserialize;

use super::jwt::Algorithm;
use super::TokenRefused;

/// The most keys a set may hold.
pub(crate) const MAX_KEYS: usize = 256;

/// A signature key of the set.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) kid: Option<String>,
    /// The key's `alg`, when the set names one: the only algorithm it may verify.
    pub(crate) alg: Option<String>,
    pub(crate) public: PublicKey,
}

#[derive(Debug)]
pub(crate) enum PublicKey {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// The uncompressed point `04 || x || y`.
    EcP256(Vec<u8>),
    EcP384(Vec<u8>),
    Ed25519(Vec<u8>),
}

/// The signature keys of a JWKS file.
#[derive(Debug)]
pub(crate) struct Keys(Vec<Key>);

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// RFC 7517 §4 and RFC 7518 §6 members; others are ignored.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

impl Keys {
    /// Reads a JWKS document (`{"keys": [...]}`). Fails when it is not one, when a key of a
    /// type used here is malformed, or when it holds no signature key at all.
    pub(crate) fn parse(json: &[u8]) -> Result<Keys, String> {
        let set: JwkSet =
            serde_json::from_slice(json).map_err(|e| format!("not a JWK set: {e}"))?;
        if set.keys.len() > MAX_KEYS {
            return Err(format!("more than {MAX_KEYS} keys"));
        }
        let mut keys = Vec::new();
        for (index, jwk) in set.keys.into_iter().enumerate() {
            let name = match &jwk.kid {
                Some(kid) => format!("key {kid:?}"),
                None => format!("key #{}", index + 1),
            };
            if let Some(public) = public_key(&jwk).map_err(|why| format!("{name}: {why}"))? {
                keys.push(Key {
                    kid: jwk.kid,
                    alg: jwk.alg,
                    public,
                });
            }
        }
        if keys.is_empty() {
            return Err("no RSA, EC or Ed25519 signature key".to_string());
        }
        Ok(Keys(keys))
    }

    /// RFC 7515 §4.1.4: the key named by the token's `kid`; without one, the set's only key.
    /// The key must suit `alg` (its type and curve, and its own `alg` if it names one).
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Key, TokenRefused> {
        let suits = |key: &&Key| {
            alg.suits(&key.public) && key.alg.as_deref().is_none_or(|a| a == alg.name())
        };
        match kid {
            Some(kid) => self
                .0
                .iter()
                .filter(|key| key.kid.as_deref() == Some(kid))
                .find(suits)
                .ok_or(TokenRefused::UnknownKey),
            None => match self.0.as_slice() {
                [only] => Some(only).filter(suits).ok_or(TokenRefused::UnknownKey),
                _ => Err(TokenRefused::UnknownKey),
            },
        }
    }
}

/// The key of one JWK, or `None` when it is not a signature key of a type used here.
fn public_key(jwk: &Jwk) -> Result<Option<PublicKey>, String> {
    let for_signatures = jwk.use_.as_deref().is_none_or(|u| u == "sig")
        && jwk
            .key_ops
            .as_ref()
            .is_none_or(|ops| ops.iter().any(|op| op == "verify"));
    if !for_signatures {
        return Ok(None);
    }
    let public = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => {
            let n = unsigned(param(&jwk.n, "n")?);
            let e = unsigned(param(&jwk.e, "e")?);
            // RFC 7518 §3.3: 2048 bits at least.
            if n.len() < 256 || e.is_empty() {
                return Err("an RSA modulus under 2048 bits or an empty exponent".to_string());
            }
            PublicKey::Rsa { n, e }
        }
        ("EC", Some("P-256")) => PublicKey::EcP256(point(jwk, 32)?),
        ("EC", Some("P-384")) => PublicKey::EcP384(point(jwk, 48)?),
        ("OKP", Some("Ed25519")) => {
            let x = param(&jwk.x, "x")?;
            if x.len() != 32 {
                return Err("an Ed25519 key is not 32 bytes".to_string());
            }
            PublicKey::Ed25519(x)
        }
        ("EC" | "OKP", crv) => return Err(format!("unsupported curve {crv:?}")),
        _ => return Ok(None),
    };
    Ok(Some(public))
}

/// A base64url (no padding) member.
fn param(value: &Option<String>, name: &str) -> Result<Vec<u8>, String> {
    let value = value.as_deref().ok_or(format!("no {name:?}"))?;
    BASE64URL
        .decode(value)
        .map_err(|_| format!("{name:?} is not base64url"))
}

/// RFC 7518 §6.2.1.2: `x` and `y` are the curve's size each; the point uncompressed.
fn point(jwk: &Jwk, size: usize) -> Result<Vec<u8>, String> {
    let x = param(&jwk.x, "x")?;
    let y = param(&jwk.y, "y")?;
    if x.len() != size || y.len() != size {
        return Err(format!("EC coordinates are not {size} bytes"));
    }
    Ok([&[4u8][..], &x, &y].concat())
}

/// An unsigned big-endian integer without leading zeros (as the RSA verifier wants it).
fn unsigned(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.drain(..zeros);
    bytes
}
