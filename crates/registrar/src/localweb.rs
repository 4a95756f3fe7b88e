//! What headcount's local HTML pages share: the registrar's console (in this crate) and the
//! declarant's app (`headcount app`, in the binary). Both are served to a browser on the same
//! machine and must hold against the other pages that browser has open:
//!
//! * no script anywhere: a Content-Security-Policy with `default-src 'none'` and no
//!   `script-src`, forms only to the page's own origin, no framing, no referrer to any other
//!   origin;
//! * the `Host` header must name the address the service listens on (a DNS-rebinding name
//!   that resolves to 127.0.0.1 is refused);
//! * a state-changing `POST` must carry an `Origin` equal to the service's own origin and a
//!   per-session CSRF token ([`same_origin`], [`ct_eq`]);
//! * the session cookie is `HttpOnly; SameSite=Strict` and scoped to the service's path.
//!
//! The interface language is English or Chinese: the `hc_lang` cookie set by the switch link,
//! else the browser's `Accept-Language`.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

/// The Content-Security-Policy of every local page: no script from anywhere, styles and
/// images only from the service itself, forms only to it.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The Referrer-Policy of every local page (see [`set_security_headers`]).
pub const REFERRER_POLICY: &str = "same-origin";

/// The stylesheet of the local pages (system fonts with CJK fallbacks).
pub const STYLE_CSS: &str = include_str!("../static/local.css");

/// The icon of the local pages (linked from every page, so that a browser does not ask for
/// `/favicon.ico`).
pub const FAVICON_SVG: &str = include_str!("../static/favicon.svg");

/// The icon as a response.
pub async fn favicon() -> Response {
    use axum::response::IntoResponse;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml"),
        )],
        FAVICON_SVG,
    )
        .into_response()
}

/// The cookie that remembers the language switch.
pub const LANG_COOKIE: &str = "hc_lang";

/// An interface language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Chinese (simplified).
    Zh,
}

impl Lang {
    /// `en` or `zh`, as in the switch's URL and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// From `en` / `zh`.
    pub fn from_code(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The BCP 47 tag for the `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-Hans",
        }
    }

    /// The other language (the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Zh,
            Lang::Zh => Lang::En,
        }
    }

    /// The language's own name, for the switch link.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "中文",
        }
    }

    /// The request's language: the switch's cookie, else the browser's preference
    /// (`Accept-Language`: the highest-weighted of English and Chinese), else English.
    pub fn of(headers: &HeaderMap) -> Lang {
        if let Some(l) = cookie(headers, LANG_COOKIE).and_then(Lang::from_code) {
            return l;
        }
        let Some(al) = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Lang::En;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in al.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether a `Host` header names a loopback address (any port): `127.0.0.1`, `[::1]`,
/// `localhost`.
pub fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The request's `Host`, if it is a loopback one.
pub fn host(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| loopback_host(h))
}

/// Whether a request's `Origin` is the service's own (`http://` + its `Host`). A browser
/// sends `Origin` with every form `POST`; a request without one is refused too.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        host(headers),
    ) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .is_some_and(|o| o.eq_ignore_ascii_case(host))
}

/// Constant-time comparison of two secrets (lengths are not secret).
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// 32 random bytes, hex: a session id, CSRF token or URL secret.
pub fn random_hex() -> String {
    use rand_core::RngCore;
    let mut b = zeroize::Zeroizing::new([0u8; 32]);
    rand_core::OsRng.fill_bytes(b.as_mut());
    hex::encode(b.as_ref())
}

/// Adds the headers every local page carries (CSP, no sniffing, no referrer outside this origin, no framing, no
/// caching: pages show secrets' consequences, e.g. which campaigns a wallet joined).
pub fn set_security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null`
    // with every form POST, even to the page's own origin (Fetch, "serializing a request
    // origin"), and the Origin check could not tell our forms from another site's. Under
    // `same-origin` our own forms carry our origin, other sites' carry `null`, and no
    // referrer ever leaves this origin (the pages link nowhere else).
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(REFERRER_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
}

/// Middleware body: the security headers on a response.
pub async fn security_headers(mut r: Response) -> Response {
    set_security_headers(r.headers_mut());
    r
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Strict`, scoped to `path`.
pub fn set_cookie(name: &str, value: &str, path: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Strict"
    ))
    .expect("cookie names, hex values and paths are header-safe")
}

/// A `back` target for the language switch: a local path only (no scheme, no `//host`).
pub fn local_path(back: Option<&str>, default: &str) -> String {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains('\\')
                && b.bytes().all(|c| c.is_ascii_graphic()) =>
        {
            b.to_owned()
        }
        _ => default.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn language_from_cookie_then_accept_language() {
        assert_eq!(Lang::of(&h(&[])), Lang::En);
        assert_eq!(
            Lang::of(&h(&[("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")])),
            Lang::Zh
        );
        assert_eq!(
            Lang::of(&h(&[("accept-language", "en-GB,zh;q=0.5")])),
            Lang::En
        );
        assert_eq!(
            Lang::of(&h(&[("accept-language", "fr, zh-TW;q=0.4")])),
            Lang::Zh
        );
        assert_eq!(
            Lang::of(&h(&[
                ("accept-language", "zh"),
                ("cookie", "a=b; hc_lang=en")
            ])),
            Lang::En
        );
    }

    #[test]
    fn origin_must_match_a_loopback_host() {
        let ok = h(&[
            ("host", "127.0.0.1:4000"),
            ("origin", "http://127.0.0.1:4000"),
        ]);
        assert!(same_origin(&ok));
        assert!(!same_origin(&h(&[("host", "127.0.0.1:4000")])));
        assert!(!same_origin(&h(&[
            ("host", "127.0.0.1:4000"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&h(&[
            ("host", "evil.example:4000"),
            ("origin", "http://evil.example:4000")
        ])));
        assert!(!same_origin(&h(&[
            ("host", "127.0.0.1:4000"),
            ("origin", "null")
        ])));
    }

    #[test]
    fn back_paths_stay_local() {
        assert_eq!(local_path(Some("/console/ledger"), "/"), "/console/ledger");
        assert_eq!(local_path(Some("//evil.example/"), "/"), "/");
        assert_eq!(local_path(Some("https://evil.example/"), "/"), "/");
        assert_eq!(local_path(Some("/\\evil"), "/"), "/");
        assert_eq!(local_path(None, "/x"), "/x");
    }
}
