//! A small, blocking S3 client: what `mirror` needs of a bucket (put, multipart
//! put, get, ranged get, head, list, delete), signed with AWS Signature Version 4,
//! path-style (`ENDPOINT/BUCKET/KEY`, which every S3-compatible server
//! takes). Transient failures (connection errors, 5xx, 429) are retried
//! with exponential backoff; every error names the bucket and key.
//!
//! Endpoint, region and credentials come from the usual environment
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`) unless given.

use crate::error::{Error, Result};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::time::Duration;

/// Where a bucket is and how to sign for it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `http(s)://host[:port]`, no trailing slash.
    pub url: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

impl Endpoint {
    /// From the environment; `url` overrides `AWS_ENDPOINT_URL`.
    pub fn from_env(url: Option<&str>) -> Result<Endpoint> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let url = url.map(String::from).or_else(|| var("AWS_ENDPOINT_URL")).unwrap_or_else(|| {
            let region = var("AWS_REGION").unwrap_or_else(|| "us-east-1".into());
            format!("https://s3.{region}.amazonaws.com")
        });
        let missing = |k: &str| Error::Invalid(format!("S3: {k} is not set (the bucket's credentials)"));
        Ok(Endpoint {
            url: url.trim_end_matches('/').to_string(),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).unwrap_or_else(|| "us-east-1".into()),
            access_key: var("AWS_ACCESS_KEY_ID").ok_or_else(|| missing("AWS_ACCESS_KEY_ID"))?,
            secret_key: var("AWS_SECRET_ACCESS_KEY").ok_or_else(|| missing("AWS_SECRET_ACCESS_KEY"))?,
        })
    }
}

/// `s3://BUCKET/PREFIX` split; `None` when `s` is not such a URL.
pub fn parse_url(s: &str) -> Option<(String, String)> {
    let rest = s.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// One bucket, under a key prefix (clones share the connection pool).
#[derive(Clone)]
pub struct Bucket {
    endpoint: Endpoint,
    bucket: String,
    /// Empty, or ending in '/'.
    prefix: String,
    agent: ureq::Agent,
    retries: u32,
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    crate::crypto::hex(&Sha256::digest(data))
}

/// URI-encodes as SigV4 wants: unreserved characters kept, '/' kept in
/// paths (`keep_slash`), everything else %XX.
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The text between `<tag>` and `</tag>` in each occurrence.
fn xml_all<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// An object in a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// The key below the bucket's prefix.
    pub key: String,
    pub size: u64,
}

/// Objects above this size are uploaded in parts of it.
const PART: usize = 8 << 20;

enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
}

impl Bucket {
    pub fn new(endpoint: Endpoint, bucket: &str, prefix: &str) -> Bucket {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(120))
            .timeout_write(Duration::from_secs(120))
            .build();
        let prefix = if prefix.is_empty() { String::new() } else { format!("{}/", prefix.trim_matches('/')) };
        Bucket { endpoint, bucket: bucket.to_string(), prefix, agent, retries: 5 }
    }

    /// `s3://BUCKET/PREFIX`, for messages.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix.trim_end_matches('/'))
    }

    fn err(&self, key: &str, detail: impl std::fmt::Display) -> Error {
        Error::Invalid(format!("{} ({}), object {key:?}: {detail}", self.url(), self.endpoint.url))
    }

    /// Sends one signed request; retries transient failures. Returns the
    /// status and the response (for statuses below 300 and 404).
    fn send(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, String)],
        headers: &[(&str, String)],
        body: Body,
    ) -> Result<Option<ureq::Response>> {
        // An empty key is the bucket itself (listings, creation).
        let path = if key.is_empty() {
            format!("/{}", self.bucket)
        } else {
            format!("/{}/{}", self.bucket, encode(&format!("{}{key}", self.prefix), true))
        };
        let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (encode(k, false), encode(v, false))).collect();
        q.sort();
        let canonical_query = q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let host = self.endpoint.url.split("://").nth(1).unwrap_or(&self.endpoint.url).to_string();
        // Bodies go unsigned: hashing each with SHA-256 took half of a
        // mirror's CPU, and what travels is verified end to end anyway
        // (packs are named by their BLAKE3, records carry checksums).
        let payload = match body {
            Body::Empty => sha256_hex(b""),
            Body::Bytes(_) => "UNSIGNED-PAYLOAD".to_string(),
        };
        let mut attempt = 0;
        loop {
            let now = chrono::Utc::now();
            let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
            let date = now.format("%Y%m%d").to_string();
            let mut signed: Vec<(String, String)> = vec![
                ("host".into(), host.clone()),
                ("x-amz-content-sha256".into(), payload.clone()),
                ("x-amz-date".into(), amz_date.clone()),
            ];
            signed.extend(headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string())));
            signed.sort();
            let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
            let signed_headers = signed.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
            let canonical =
                format!("{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload}");
            let scope = format!("{date}/{}/s3/aws4_request", self.endpoint.region);
            let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical.as_bytes()));
            let k = hmac(format!("AWS4{}", self.endpoint.secret_key).as_bytes(), date.as_bytes());
            let k = hmac(&k, self.endpoint.region.as_bytes());
            let k = hmac(&k, b"s3");
            let k = hmac(&k, b"aws4_request");
            let signature = crate::crypto::hex(&hmac(&k, to_sign.as_bytes()));
            let auth = format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                self.endpoint.access_key
            );
            let url = if canonical_query.is_empty() {
                format!("{}{path}", self.endpoint.url)
            } else {
                format!("{}{path}?{canonical_query}", self.endpoint.url)
            };
            let mut req = self
                .agent
                .request(method, &url)
                .set("x-amz-content-sha256", &payload)
                .set("x-amz-date", &amz_date)
                .set("Authorization", &auth);
            for (k, v) in headers {
                req = req.set(k, v);
            }
            let r = match body {
                Body::Empty => req.call(),
                Body::Bytes(b) => req.send_bytes(b),
            };
            let transient = match r {
                Ok(resp) => return Ok(Some(resp)),
                Err(ureq::Error::Status(404, resp)) => {
                    let text = resp.into_string().unwrap_or_default();
                    if text.contains("<Code>NoSuchBucket</Code>") {
                        return Err(self.err(key, format!("{method}: NoSuchBucket (the bucket does not exist)")));
                    }
                    return Ok(None);
                }
                Err(ureq::Error::Status(code, resp)) if code == 429 || code >= 500 => {
                    format!("HTTP {code}: {}", resp.into_string().unwrap_or_default().trim())
                }
                Err(ureq::Error::Status(code, resp)) => {
                    let text = resp.into_string().unwrap_or_default();
                    let what = xml_all(&text, "Code").first().map(|c| c.to_string()).unwrap_or_default();
                    let msg = xml_all(&text, "Message").first().map(|c| xml_unescape(c)).unwrap_or_default();
                    let hint = match what.as_str() {
                        "NoSuchBucket" => " (the bucket does not exist)",
                        "SignatureDoesNotMatch" | "InvalidAccessKeyId" | "AccessDenied" => {
                            " (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
                        }
                        _ => "",
                    };
                    return Err(self.err(key, format!("{method} refused, HTTP {code} {what} {msg}{hint}")));
                }
                Err(e) => e.to_string(),
            };
            attempt += 1;
            if attempt > self.retries {
                return Err(self.err(key, format!("{method} failed after {attempt} tries: {transient}")));
            }
            std::thread::sleep(Duration::from_millis(100 << attempt.min(6)));
        }
    }

    /// Stores an object (whole, replacing none: callers never rewrite a key).
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.send("PUT", key, &[], &[], Body::Bytes(bytes))?.ok_or_else(|| self.err(key, "PUT: not found"))?;
        Ok(())
    }

    /// Stores an object, in parts of `PART` bytes when it is larger than
    /// that (a transient failure then retries one part, not the whole);
    /// an upload that fails is aborted, leaving nothing behind.
    pub fn put_parts(&self, key: &str, bytes: &[u8]) -> Result<()> {
        if bytes.len() <= PART {
            return self.put(key, bytes);
        }
        let r = self.send("POST", key, &[("uploads", String::new())], &[], Body::Bytes(&[]))?;
        let r = r.ok_or_else(|| self.err(key, "starting a multipart upload: not found"))?;
        let text = String::from_utf8_lossy(&self.read_body(key, r)?).into_owned();
        let id = xml_all(&text, "UploadId").first().map(|u| xml_unescape(u));
        let id = id.ok_or_else(|| self.err(key, format!("starting a multipart upload: no UploadId in {text:?}")))?;
        let upload = || -> Result<()> {
            let mut done = String::from("<CompleteMultipartUpload>");
            for (i, part) in bytes.chunks(PART).enumerate() {
                let n = (i + 1).to_string();
                let q = [("partNumber", n.clone()), ("uploadId", id.clone())];
                let r = self.send("PUT", key, &q, &[], Body::Bytes(part))?;
                let etag = r.as_ref().and_then(|r| r.header("ETag")).map(str::to_string);
                let etag = etag.ok_or_else(|| self.err(key, format!("part {n}: no ETag in the answer")))?;
                done += &format!("<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>");
            }
            done += "</CompleteMultipartUpload>";
            let r = self.send("POST", key, &[("uploadId", id.clone())], &[], Body::Bytes(done.as_bytes()))?;
            let r = r.ok_or_else(|| self.err(key, "completing a multipart upload: not found"))?;
            // S3 may answer 200 with an error in the body.
            let text = String::from_utf8_lossy(&self.read_body(key, r)?).into_owned();
            match xml_all(&text, "Code").first() {
                Some(code) if text.contains("<Error>") => {
                    Err(self.err(key, format!("completing a multipart upload: {code}")))
                }
                _ => Ok(()),
            }
        };
        upload().inspect_err(|_| {
            let _ = self.send("DELETE", key, &[("uploadId", id.clone())], &[], Body::Empty);
        })
    }

    fn read_body(&self, key: &str, resp: ureq::Response) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        resp.into_reader().read_to_end(&mut out).map_err(|e| self.err(key, format!("reading: {e}")))?;
        Ok(out)
    }

    /// An object's bytes; `None` when there is none.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.send("GET", key, &[], &[], Body::Empty)? {
            Some(r) => self.read_body(key, r).map(Some),
            None => Ok(None),
        }
    }

    /// `len` bytes of an object from `offset`.
    pub fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let range = format!("bytes={offset}-{}", offset + len.max(1) - 1);
        let r =
            self.send("GET", key, &[], &[("Range", range)], Body::Empty)?.ok_or_else(|| self.err(key, "not found"))?;
        let b = self.read_body(key, r)?;
        if b.len() as u64 != len {
            return Err(self.err(key, format!("asked for {len} bytes at {offset}, got {}", b.len())));
        }
        Ok(b)
    }

    /// Whether an object exists.
    pub fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.send("HEAD", key, &[], &[], Body::Empty)?.is_some())
    }

    pub fn delete(&self, key: &str) -> Result<()> {
        self.send("DELETE", key, &[], &[], Body::Empty)?;
        Ok(())
    }

    /// Every object whose key starts with `prefix` (below the bucket's
    /// prefix), in key order.
    pub fn list(&self, prefix: &str) -> Result<Vec<Object>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![("list-type", "2".to_string()), ("prefix", format!("{}{prefix}", self.prefix))];
            if let Some(t) = &token {
                q.push(("continuation-token", t.clone()));
            }
            let r = self
                .send("GET", "", &q, &[], Body::Empty)?
                .ok_or_else(|| self.err(prefix, "listing: HTTP 404 NoSuchBucket (the bucket does not exist)"))?;
            let text = String::from_utf8_lossy(&self.read_body(prefix, r)?).into_owned();
            for c in xml_all(&text, "Contents") {
                let key = xml_all(c, "Key").first().map(|k| xml_unescape(k)).unwrap_or_default();
                let size = xml_all(c, "Size").first().and_then(|s| s.parse().ok()).unwrap_or(0);
                if let Some(k) = key.strip_prefix(&self.prefix) {
                    out.push(Object { key: k.to_string(), size });
                }
            }
            let more = xml_all(&text, "IsTruncated").first() == Some(&"true");
            token = xml_all(&text, "NextContinuationToken").first().map(|t| xml_unescape(t));
            if !more || token.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Makes the bucket (for tests and first use); an existing one is fine.
    pub fn create_bucket(&self) -> Result<()> {
        match self.send("PUT", "", &[], &[], Body::Empty) {
            Ok(_) => Ok(()),
            Err(e)
                if e.to_string().contains("BucketAlreadyOwnedByYou")
                    || e.to_string().contains("BucketAlreadyExists") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of AWS's SigV4 documentation ("GET Object"): the same
    /// signing key chain and string to sign give its signature.
    #[test]
    fn signing_key_matches_the_aws_example() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let k = hmac(format!("AWS4{secret}").as_bytes(), b"20130524");
        let k = hmac(&k, b"us-east-1");
        let k = hmac(&k, b"s3");
        let k = hmac(&k, b"aws4_request");
        let canonical = "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n\
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
            x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n{}",
            sha256_hex(canonical.as_bytes())
        );
        assert_eq!(
            crate::crypto::hex(&hmac(&k, to_sign.as_bytes())),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn urls_and_encoding() {
        assert_eq!(parse_url("s3://b/p/q/"), Some(("b".into(), "p/q".into())));
        assert_eq!(parse_url("s3://b"), Some(("b".into(), String::new())));
        assert_eq!(parse_url("s3:///x"), None);
        assert_eq!(parse_url("/tmp/x"), None);
        assert_eq!(encode("a b/c~d+e", true), "a%20b/c~d%2Be");
        assert_eq!(encode("a/b", false), "a%2Fb");
        assert_eq!(xml_all("<K>a</K><K>b&amp;c</K>", "K"), ["a", "b&amp;c"]);
        assert_eq!(xml_unescape("b&amp;c"), "b&c");
    }
}
