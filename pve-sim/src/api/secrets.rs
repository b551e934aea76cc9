//! Secrets the API hands out or checks: SHA-crypt password hashes as PVE
//! keeps them in `priv/shadow.cfg` (`$5$<8-char salt>$<hash>`, what Perl's
//! `crypt` with PVE's `encrypt_pw` produces; `$6$` is accepted too), and
//! API token secrets (random UUIDs, PVE's `UUID::uuid()` form).

use ring::rand::{SecureRandom, SystemRandom};
use sha_crypt::Params;

/// The alphabet of crypt's base64 variant.
const CRYPT_B64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// glibc's byte order for the final SHA-256-crypt digest.
const SHA256_ORDER: [usize; 32] = [
    20, 10, 0, 11, 1, 21, 2, 22, 12, 23, 13, 3, 14, 4, 24, 5, 25, 15, 26, 16, 6, 17, 7, 27, 8, 28,
    18, 29, 19, 9, 30, 31,
];

/// glibc's byte order for the final SHA-512-crypt digest.
const SHA512_ORDER: [usize; 64] = [
    42, 21, 0, 1, 43, 22, 23, 2, 44, 45, 24, 3, 4, 46, 25, 26, 5, 47, 48, 27, 6, 7, 49, 28, 29, 8,
    50, 51, 30, 9, 10, 52, 31, 32, 11, 53, 54, 33, 12, 13, 55, 34, 35, 14, 56, 57, 36, 15, 16, 58,
    37, 38, 17, 59, 60, 39, 18, 19, 61, 40, 41, 20, 62, 63,
];

/// Random bytes from the system generator.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| "unable to get random bytes".to_string())?;
    Ok(buf)
}

/// A new token secret: a random (version 4) UUID in canonical form.
pub fn new_uuid() -> Result<String, String> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// `encrypt_pw`: SHA-256-crypt with a fresh 8-character salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let raw = random_bytes::<8>()?;
    let salt: String = raw
        .iter()
        .map(|b| CRYPT_B64[(*b & 0x3f) as usize] as char)
        .collect();
    Ok(crypt_with(password, "5", None, &salt))
}

/// `crypt($password, $hash) eq $hash` for `$5$` and `$6$` hashes.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Some(rest) = hash.strip_prefix('$') else {
        return false;
    };
    let mut parts = rest.split('$');
    let (Some(id), Some(second)) = (parts.next(), parts.next()) else {
        return false;
    };
    let (rounds, salt) = match second.strip_prefix("rounds=") {
        Some(n) => match (n.parse::<u32>(), parts.next()) {
            (Ok(n), Some(salt)) => (Some(n), salt),
            _ => return false,
        },
        None => (None, second),
    };
    if id != "5" && id != "6" {
        return false;
    }
    let computed = crypt_with(password, id, rounds, salt);
    ct_eq(computed.as_bytes(), hash.as_bytes())
}

/// Compares secrets without an early exit on the first difference.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn crypt_with(password: &str, id: &str, rounds: Option<u32>, salt: &str) -> String {
    let salt: String = salt.chars().take(16).collect();
    let n = rounds
        .unwrap_or(Params::RECOMMENDED_ROUNDS)
        .clamp(Params::ROUNDS_MIN, Params::ROUNDS_MAX);
    let params = Params::new(n).unwrap_or_default();
    let encoded = if id == "6" {
        let raw = sha_crypt::sha512_crypt(password.as_bytes(), salt.as_bytes(), params);
        encode(&SHA512_ORDER.map(|i| raw[i]))
    } else {
        let raw = sha_crypt::sha256_crypt(password.as_bytes(), salt.as_bytes(), params);
        encode(&SHA256_ORDER.map(|i| raw[i]))
    };
    match rounds {
        Some(_) => format!("${id}$rounds={n}${salt}${encoded}"),
        None => format!("${id}${salt}${encoded}"),
    }
}

/// crypt's base64: little-endian groups of three bytes.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut w: u32 = 0;
        for (i, b) in chunk.iter().enumerate() {
            w |= u32::from(*b) << (8 * i);
        }
        for _ in 0..=chunk.len() {
            out.push(CRYPT_B64[(w & 0x3f) as usize] as char);
            w >>= 6;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_crypt_vectors() {
        // as produced by glibc's crypt(3)
        assert!(verify_password(
            "Hello world!",
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
        ));
        assert!(verify_password(
            "pässword",
            "$5$abcdefgh$PMzeX.3Tb43iNPh8ENNzPM9M7q/BLyRKM1Djd5s4Nu8"
        ));
        assert!(verify_password(
            "Hello world!",
            "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"
        ));
        assert!(verify_password(
            "Hello world!",
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        ));
        assert!(!verify_password(
            "hello world!",
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
        ));
        assert!(!verify_password("x", "garbage"));
    }

    #[test]
    fn hash_round_trip() {
        let h = hash_password("s3cret-pw").unwrap();
        assert!(h.starts_with("$5$"));
        assert_eq!(h.len(), 3 + 8 + 1 + 43);
        assert!(verify_password("s3cret-pw", &h));
        assert!(!verify_password("s3cret-pX", &h));
    }

    #[test]
    fn uuid_shape() {
        let u = new_uuid().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(u, new_uuid().unwrap());
    }
}
