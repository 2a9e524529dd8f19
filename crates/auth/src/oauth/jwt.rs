//! A JWT access token (RFC 7519) in JWS compact form (RFC 7515 §7.1): its signature checked
//! against a key of the set, then its claims against the policy.

use aws_lc_rs::signature::{self, RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::jwks::{Keys, PublicKey};
use super::{Policy, TokenRefused, LEEWAY_SECONDS, MAX_TOKEN_LEN};

/// The signature algorithms accepted (RFC 7518 §3.1, RFC 8037 §3.1). `none` and the HMAC
/// algorithms are refused: a key set is public, and a token must be signed by its issuer's
/// private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    EdDsa,
}

impl Algorithm {
    const ALL: [Algorithm; 9] = [
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::EdDsa,
    ];

    /// The `alg` header value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    fn from_name(name: &str) -> Result<Algorithm, TokenRefused> {
        Algorithm::ALL
            .into_iter()
            .find(|alg| alg.name() == name)
            .ok_or_else(|| TokenRefused::Algorithm(name.chars().take(16).collect()))
    }

    /// Whether `key` is of the type and curve this algorithm verifies with.
    pub(crate) fn suits(self, key: &PublicKey) -> bool {
        match key {
            PublicKey::Rsa { .. } => self.rsa().is_some(),
            PublicKey::EcP256(_) => self == Algorithm::Es256,
            PublicKey::EcP384(_) => self == Algorithm::Es384,
            PublicKey::Ed25519(_) => self == Algorithm::EdDsa,
        }
    }

    /// RFC 7518 §3.3 and §3.5: PKCS #1 v1.5 and PSS (salt as long as the hash), 2048 bits up.
    fn rsa(self) -> Option<&'static RsaParameters> {
        match self {
            Algorithm::Rs256 => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
            Algorithm::Rs384 => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
            Algorithm::Rs512 => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
            Algorithm::Ps256 => Some(&signature::RSA_PSS_2048_8192_SHA256),
            Algorithm::Ps384 => Some(&signature::RSA_PSS_2048_8192_SHA384),
            Algorithm::Ps512 => Some(&signature::RSA_PSS_2048_8192_SHA512),
            Algorithm::Es256 | Algorithm::Es384 | Algorithm::EdDsa => None,
        }
    }
}

/// RFC 7515 §4.1 header parameters used here.
#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    /// §4.1.11: extensions the recipient must understand; none are, so any refuses.
    crit: Option<Value>,
}

/// The token's user if `token` is signed by a key of `keys` and its claims satisfy `policy`
/// at `now` (seconds since the epoch).
pub(crate) fn verify(
    token: &str,
    keys: &Keys,
    policy: &Policy,
    now: i64,
) -> Result<String, TokenRefused> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenRefused::Malformed("longer than the limit"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRefused::Malformed("not three dot-separated parts"));
    };
    let header: Header = serde_json::from_slice(&decode(header)?)
        .map_err(|_| TokenRefused::Malformed("the header is not a JOSE header"))?;
    if header.crit.is_some() {
        return Err(TokenRefused::Malformed("a critical header extension"));
    }
    let alg = Algorithm::from_name(&header.alg)?;
    let key = keys.select(header.kid.as_deref(), alg)?;
    // RFC 7515 §5.2: the signing input is the encoded header "." the encoded payload.
    let signing_input = &token[..token.len() - sig.len() - 1];
    check_signature(alg, &key.public, signing_input.as_bytes(), &decode(sig)?)?;
    let claims: Map<String, Value> = serde_json::from_slice(&decode(payload)?)
        .map_err(|_| TokenRefused::Malformed("the claims are not a JSON object"))?;
    check_claims(&claims, policy, now)
}

/// Base64url without padding (RFC 7515 §2).
fn decode(part: &str) -> Result<Vec<u8>, TokenRefused> {
    BASE64URL
        .decode(part)
        .map_err(|_| TokenRefused::Malformed("a part is not base64url"))
}

fn check_signature(
    alg: Algorithm,
    key: &PublicKey,
    message: &[u8],
    sig: &[u8],
) -> Result<(), TokenRefused> {
    let verified = match (key, alg.rsa()) {
        (PublicKey::Rsa { n, e }, Some(params)) => {
            RsaPublicKeyComponents { n, e }.verify(params, message, sig)
        }
        // RFC 7518 §3.4: ECDSA signatures are R || S, each the curve's size.
        (PublicKey::EcP256(point), None) => {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(message, sig)
        }
        (PublicKey::EcP384(point), None) => {
            UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point).verify(message, sig)
        }
        (PublicKey::Ed25519(x), None) => {
            UnparsedPublicKey::new(&signature::ED25519, x).verify(message, sig)
        }
        // `Keys::select` gives only keys that suit the algorithm.
        (_, _) => return Err(TokenRefused::UnknownKey),
    };
    verified.map_err(|_| TokenRefused::BadSignature)
}

/// RFC 7519 §4.1: `exp` (required), `nbf`, `iat` with [`LEEWAY_SECONDS`] either way; `iss`
/// and `aud` when the policy names them; the user from the policy's claim.
fn check_claims(
    claims: &Map<String, Value>,
    policy: &Policy,
    now: i64,
) -> Result<String, TokenRefused> {
    let now = now as f64;
    let leeway = LEEWAY_SECONDS as f64;
    let exp = numeric_date(claims, "exp")?.ok_or(TokenRefused::Malformed("no exp claim"))?;
    if now >= exp + leeway {
        return Err(TokenRefused::Expired);
    }
    if numeric_date(claims, "nbf")?.is_some_and(|nbf| now + leeway < nbf) {
        return Err(TokenRefused::NotYetValid);
    }
    if numeric_date(claims, "iat")?.is_some_and(|iat| now + leeway < iat) {
        return Err(TokenRefused::IssuedInTheFuture);
    }
    if let Some(issuer) = &policy.issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(TokenRefused::WrongIssuer);
        }
    }
    if let Some(audience) = &policy.audience {
        // §4.1.3: one string, or an array of them.
        let ours = |v: &Value| v.as_str() == Some(audience.as_str());
        let listed = match claims.get("aud") {
            Some(Value::Array(values)) => values.iter().any(ours),
            Some(value) => ours(value),
            None => false,
        };
        if !listed {
            return Err(TokenRefused::WrongAudience);
        }
    }
    let user = claims
        .get(&policy.username_claim)
        .and_then(Value::as_str)
        .ok_or(TokenRefused::NoUsername)?;
    if user.is_empty() || user.len() > sasl::MAX_FIELD_LEN || user.chars().any(char::is_control) {
        return Err(TokenRefused::NoUsername);
    }
    Ok(user.to_string())
}

/// RFC 7519 §2 NumericDate: seconds since the epoch, possibly with a fraction.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, TokenRefused> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_f64()
            .filter(|t| t.is_finite())
            .map(Some)
            .ok_or(TokenRefused::Malformed("a date claim is not a number")),
    }
}
