"""Who may talk to the sandbox: AWS Signature Version 4, CodeCommit's git credentials, and the
Host header.

The sandbox runs as its owner and its builds run what a pushed buildspec says, so a request
it takes is code run as that user. It therefore authenticates as AWS does: every API request
carries a SigV4 signature made with a secret the sandbox knows (its own keys, an attendee
account's, or temporary credentials moto's STS issued for AssumeRole, with their session
token), and git's smart HTTP carries the username and password `aws codecommit
credential-helper` makes. A refusal takes the shape the caller's protocol expects, with AWS's
codes (see `refusal`). Requests addressed to a host other than loopback are refused before
anything reads them: a web page cannot reach the sandbox through DNS rebinding.

The canonical request follows the SigV4 rules botocore signs with (botocore/auth.py,
`SigV4Auth.canonical_request`): the path is normalised and encoded again except for S3
(`S3SigV4Auth._normalize_url_path`), the payload hash is `X-Amz-Content-SHA256` when the
request sends one (S3 always does: the body's hash, `UNSIGNED-PAYLOAD` or a `STREAMING-*`
value); the string to sign and the signature are `SigV4Auth`'s (a test checks them against
botocore's signer).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

MAX_SKEW = timedelta(minutes=15)
"""How far a request's time may be from the sandbox's clock (AWS allows 15 minutes)."""
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
ALGORITHM = "AWS4-HMAC-SHA256"
_S3_SIGNING_NAMES = ("s3", "s3-object-lambda", "s3-outposts")
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Principal:
    """An access key the sandbox knows, and what it acts as."""

    access_key: str
    secret_key: str
    account: str
    session_token: str | None = None
    """Temporary credentials (AssumeRole) come with one, which every request must carry."""
    expiration: datetime | None = None
    """When temporary credentials stop working (UTC)."""


class Failure(Enum):
    MISSING = "missing"
    INCOMPLETE = "incomplete"
    UNKNOWN_KEY = "unknown key"
    BAD_TOKEN = "bad token"
    EXPIRED_TOKEN = "expired token"
    SKEWED = "skewed"
    PRESIGN_EXPIRED = "presign expired"
    BAD_SIGNATURE = "bad signature"
    BODY_MISMATCH = "body mismatch"


@dataclass(frozen=True)
class Refused:
    failure: Failure
    detail: str = ""


# ---------------------------------------------------------------------- Host header


def host_allowed(host: str | None, port: int) -> bool:
    """Whether a request addressed to `host` (the Host header) is for this sandbox: a loopback
    name, with the sandbox's port or none. `*.localhost` is loopback too (RFC 6761; botocore
    addresses S3 buckets so on a `localhost` endpoint)."""
    if not host:
        return False
    parts = urlsplit(f"//{host}")
    try:
        given_port = parts.port
    except ValueError:
        return False
    name = (parts.hostname or "").lower().rstrip(".")
    if given_port is not None and given_port != port:
        return False
    return name in LOOPBACK_HOSTS or name.endswith(".localhost")


# ---------------------------------------------------------------------- SigV4


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
        if environ.get(key):
            headers[name] = str(environ[key])
    return headers


def _raw_target(environ: dict[str, Any]) -> tuple[str, str]:
    """The path and query exactly as the client sent them (still percent-encoded)."""
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
    if not raw:
        return quote(str(environ.get("PATH_INFO", "/"))), str(environ.get("QUERY_STRING", ""))
    if "://" in raw.split("?", 1)[0]:
        parts = urlsplit(raw)
        return parts.path or "/", parts.query
    path, _, query = raw.partition("?")
    return path or "/", query


def _canonical_query(query: str, drop: str | None = None) -> str:
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        # Decoded then encoded again, as AWS does: clients differ in what they leave unencoded.
        key, value = quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")
        if key != drop:
            pairs.append((key, value))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def _canonical_path(raw_path: str, service: str) -> str:
    if service in _S3_SIGNING_NAMES:
        return raw_path or "/"  # S3 signs the path as sent (S3SigV4Auth._normalize_url_path)
    from botocore.utils import normalize_url_path

    return quote(normalize_url_path(raw_path), safe="/~")


def canonical_request(
    method: str,
    raw_path: str,
    canonical_query: str,
    headers: dict[str, str],
    signed: list[str],
    payload_hash: str,
    service: str,
) -> str:
    lines = [f"{name}:{' '.join(headers.get(name, '').split())}" for name in signed]
    return "\n".join(
        [
            method.upper(),
            _canonical_path(raw_path, service),
            canonical_query,
            "\n".join(lines) + "\n",
            ";".join(signed),
            payload_hash,
        ]
    )


def signature(secret: str, timestamp: str, region: str, service: str, canonical: str) -> str:
    """The SigV4 signature of a canonical request: botocore's `SigV4Auth.string_to_sign` and
    `signature`, written out (git's password is tried against every region: no objects per
    try), with the signing key cached."""
    scope = f"{timestamp[:8]}/{region}/{service}/aws4_request"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"
    key = _signing_key(secret, timestamp[:8], region, service)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


@lru_cache(maxsize=512)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


@dataclass(frozen=True)
class _Signed:
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    timestamp: str
    token: str | None
    presigned_expires: int | None
    query: str


def _parse(environ: dict[str, Any], headers: dict[str, str], query: str) -> _Signed | Refused:
    params = {
        unquote(k): unquote(v)
        for k, _, v in (item.partition("=") for item in query.split("&") if item)
    }
    authorization = headers.get("authorization")
    if authorization is not None:
        match = _AUTHORIZATION.match(authorization.strip())
        if match is None:
            return Refused(
                Failure.INCOMPLETE,
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                f"parameters of {ALGORITHM}",
            )
        credential, signed, sig = match["credential"], match["signed"], match["signature"]
        timestamp = headers.get("x-amz-date", "")
        token = headers.get("x-amz-security-token")
        expires: int | None = None
        canonical_query = _canonical_query(query)
    elif params.get("X-Amz-Algorithm") == ALGORITHM:
        credential = params.get("X-Amz-Credential", "")
        signed, sig = params.get("X-Amz-SignedHeaders", ""), params.get("X-Amz-Signature", "")
        timestamp = params.get("X-Amz-Date", "")
        token = params.get("X-Amz-Security-Token")
        try:
            expires = int(params.get("X-Amz-Expires", ""))
        except ValueError:
            return Refused(Failure.INCOMPLETE, "X-Amz-Expires must be a number of seconds")
        if not 0 < expires <= MAX_PRESIGN_SECONDS:
            return Refused(Failure.INCOMPLETE, "X-Amz-Expires must be between 1 and 604800")
        canonical_query = _canonical_query(query, drop="X-Amz-Signature")
    else:
        return Refused(Failure.MISSING)
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not scope[0]:
        return Refused(Failure.INCOMPLETE, f"Credential should be scoped correctly: {credential}")
    signed_headers = signed.split(";")
    if "host" not in signed_headers:
        return Refused(Failure.INCOMPLETE, "The host header must be signed")
    return _Signed(
        access_key=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=signed_headers,
        signature=sig,
        timestamp=timestamp,
        token=token,
        presigned_expires=expires,
        query=canonical_query,
    )


def scope_of(environ: dict[str, Any]) -> tuple[str, str]:
    """(signing name, region) a request claims, for the shape of a refusal ("" if none)."""
    headers = _headers(environ)
    _, query = _raw_target(environ)
    parsed = _parse(environ, headers, query)
    if isinstance(parsed, Refused):
        return "", ""
    return parsed.service, parsed.region


def verify(
    environ: dict[str, Any],
    body: bytes,
    lookup: Any,
    now: datetime | None = None,
) -> Principal | Refused:
    """The principal a request is signed by, or why it is refused.

    `lookup(access_key)` gives the Principal of a key the sandbox knows, else None.
    """
    headers = _headers(environ)
    raw_path, query = _raw_target(environ)
    now = now or datetime.now(UTC)
    if "authorization" not in headers and "Signature=" in query and "AWSAccessKeyId=" in query:
        return _verify_s3_v2_query(environ, headers, raw_path, query, lookup, now)
    parsed = _parse(environ, headers, query)
    if isinstance(parsed, Refused):
        return parsed
    principal: Principal | None = lookup(parsed.access_key)
    if principal is None:
        return Refused(Failure.UNKNOWN_KEY)
    if (parsed.token or None) != principal.session_token:
        # A temporary key without its token (or with another one), or a long-term key that
        # sends a token: AWS refuses both as an invalid token.
        return Refused(Failure.BAD_TOKEN)
    if principal.expiration is not None and principal.expiration <= now:
        return Refused(Failure.EXPIRED_TOKEN)
    try:
        moment = datetime.strptime(parsed.timestamp, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        return Refused(
            Failure.INCOMPLETE,
            "the request must carry X-Amz-Date in ISO 8601 basic form (YYYYMMDDTHHMMSSZ)",
        )
    if parsed.presigned_expires is not None:
        if moment + timedelta(seconds=parsed.presigned_expires) < now:
            return Refused(Failure.PRESIGN_EXPIRED, "Request has expired")
        if moment - now > MAX_SKEW:
            return Refused(Failure.SKEWED, _skew_message(moment, now))
    elif abs(moment - now) > MAX_SKEW:
        return Refused(Failure.SKEWED, _skew_message(moment, now))
    if parsed.date != parsed.timestamp[:8]:
        return Refused(
            Failure.BAD_SIGNATURE,
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{parsed.date}' != '{parsed.timestamp[:8]}'",
        )
    declared = headers.get("x-amz-content-sha256")
    if parsed.presigned_expires is not None and parsed.service in _S3_SIGNING_NAMES:
        payload_hash = "UNSIGNED-PAYLOAD"  # botocore's S3SigV4QueryAuth
    elif declared is not None:
        payload_hash = declared
        # Only S3 takes a payload it cannot hash (UNSIGNED-PAYLOAD, STREAMING-*): any other
        # service signs the body itself.
        hashed = re.fullmatch(r"[0-9a-f]{64}", declared) is not None
        s3 = parsed.service in _S3_SIGNING_NAMES
        if (hashed or not s3) and declared != _sha256(body):
            return Refused(
                Failure.BODY_MISMATCH,
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        # UNSIGNED-PAYLOAD and the STREAMING-* values are signed as they are; the chunks of a
        # STREAMING-AWS4-HMAC-SHA256-PAYLOAD body carry signatures of their own, which the
        # sandbox does not check (botocore sends none over HTTP).
    else:
        payload_hash = _sha256(body)
    canonical = canonical_request(
        str(environ.get("REQUEST_METHOD", "GET")),
        raw_path,
        parsed.query,
        headers,
        parsed.signed_headers,
        payload_hash,
        parsed.service,
    )
    expected = signature(
        principal.secret_key, parsed.timestamp, parsed.region, parsed.service, canonical
    )
    if not hmac.compare_digest(expected, parsed.signature):
        return Refused(Failure.BAD_SIGNATURE)
    return principal


def _verify_s3_v2_query(
    environ: dict[str, Any],
    headers: dict[str, str],
    raw_path: str,
    query: str,
    lookup: Any,
    now: datetime,
) -> Principal | Refused:
    """An S3 URL presigned with Signature Version 2 (what `aws s3 presign` makes unless told
    to use s3v4): HMAC-SHA1 of the method, Content-MD5, Content-Type, Expires, the x-amz-*
    values and the resource, by botocore's own HmacV1Auth. Path-style URLs only (the
    sandbox's endpoint is an IP address, where botocore never uses virtual hosts)."""
    from botocore.auth import HmacV1Auth
    from botocore.credentials import Credentials

    params: dict[str, str] = {}
    for item in query.split("&"):
        key, _, value = item.partition("=")
        params.setdefault(unquote(key), unquote(value))
    principal: Principal | None = lookup(params.get("AWSAccessKeyId", ""))
    if principal is None:
        return Refused(Failure.UNKNOWN_KEY)
    if (params.get("x-amz-security-token") or None) != principal.session_token:
        return Refused(Failure.BAD_TOKEN)
    if principal.expiration is not None and principal.expiration <= now:
        return Refused(Failure.EXPIRED_TOKEN)
    expires = params.get("Expires", "")
    if not expires.isdigit():
        return Refused(Failure.INCOMPLETE, "Expires must be a number of seconds since 1970")
    if int(expires) < now.timestamp():
        return Refused(Failure.PRESIGN_EXPIRED, "Request has expired")
    signer = HmacV1Auth(Credentials(principal.access_key, principal.secret_key))
    amz = {k: v for k, v in params.items() if k.lower().startswith("x-amz-")}
    amz.update({k: v for k, v in headers.items() if k.startswith("x-amz-")})
    lines = [
        str(environ.get("REQUEST_METHOD", "GET")).upper(),
        headers.get("content-md5", params.get("Content-MD5", "")),
        headers.get("content-type", params.get("Content-Type", "")),
        expires,
        *(f"{k.lower()}:{v.strip()}" for k, v in sorted(amz.items())),
    ]
    resource = signer.canonical_resource(urlsplit(f"{raw_path}?{query}"))
    expected = signer.sign_string("\n".join([*lines, resource]))
    if not hmac.compare_digest(expected, params.get("Signature", "")):
        return Refused(Failure.BAD_SIGNATURE)
    return principal


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _skew_message(moment: datetime, now: datetime) -> str:
    # AWS's wording (JSON and query services) for a request outside the 15 minutes.
    stamp, current = moment.strftime(_AMZ_DATE), now.strftime(_AMZ_DATE)
    if moment < now:
        limit = (now - MAX_SKEW).strftime(_AMZ_DATE)
        return f"Signature expired: {stamp} is now earlier than {limit} ({current} - 15 min.)"
    limit = (now + MAX_SKEW).strftime(_AMZ_DATE)
    return f"Signature not yet current: {stamp} is still later than {limit} ({current} + 15 min.)"


# ---------------------------------------------------------------------- refusals


@lru_cache(maxsize=128)
def protocol_of(signing_name: str) -> str:
    """botocore's protocol of the service signing as `signing_name` ("" when unknown)."""
    if not signing_name:
        return ""
    import botocore.session

    session = botocore.session.get_session()
    available = session.get_available_services()
    candidates = [signing_name] if signing_name in available else available
    for service in candidates:
        model = session.get_service_model(service)
        if signing_name in (model.signing_name, model.endpoint_prefix, service):
            return str(model.protocol)
    return ""


_JSON_MESSAGES = {
    Failure.MISSING: ("MissingAuthenticationTokenException", "Missing Authentication Token"),
    Failure.INCOMPLETE: ("IncompleteSignatureException", ""),
    Failure.UNKNOWN_KEY: (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    Failure.BAD_TOKEN: (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    Failure.EXPIRED_TOKEN: (
        "ExpiredTokenException",
        "The security token included in the request is expired",
    ),
    Failure.SKEWED: ("InvalidSignatureException", ""),
    Failure.PRESIGN_EXPIRED: ("InvalidSignatureException", ""),
    Failure.BAD_SIGNATURE: ("InvalidSignatureException", ""),
    Failure.BODY_MISMATCH: ("InvalidSignatureException", ""),
}
_QUERY_MESSAGES = {
    Failure.MISSING: (
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
    ),
    Failure.INCOMPLETE: ("IncompleteSignature", ""),
    Failure.UNKNOWN_KEY: (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    ),
    Failure.BAD_TOKEN: (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    ),
    Failure.EXPIRED_TOKEN: (
        "ExpiredToken",
        "The security token included in the request is expired",
    ),
    Failure.SKEWED: ("SignatureDoesNotMatch", ""),
    Failure.PRESIGN_EXPIRED: ("SignatureDoesNotMatch", ""),
    Failure.BAD_SIGNATURE: ("SignatureDoesNotMatch", ""),
    Failure.BODY_MISMATCH: ("SignatureDoesNotMatch", ""),
}
_S3_MESSAGES = {
    Failure.MISSING: ("AccessDenied", "Access Denied", 403),
    Failure.INCOMPLETE: ("AuthorizationHeaderMalformed", "", 400),
    Failure.UNKNOWN_KEY: (
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
        403,
    ),
    Failure.BAD_TOKEN: (
        "InvalidToken",
        "The provided token is malformed or otherwise invalid.",
        400,
    ),
    Failure.EXPIRED_TOKEN: ("ExpiredToken", "The provided token has expired.", 400),
    Failure.SKEWED: (
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
        403,
    ),
    Failure.PRESIGN_EXPIRED: ("AccessDenied", "Request has expired", 403),
    Failure.BAD_SIGNATURE: ("SignatureDoesNotMatch", "", 403),
    Failure.BODY_MISMATCH: ("XAmzContentSHA256Mismatch", "", 400),
}
_SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)


def refusal(refused: Refused, protocol: str) -> tuple[int, str, str]:
    """(HTTP status, error code, message) AWS answers a refused request with, for a service of
    botocore protocol `protocol` ("rest-xml" for S3, "query"/"ec2", "json", "rest-json").

    Based on: AWS's "Common Errors" of the query APIs (IAM, STS, CloudFormation, ELB:
    MissingAuthenticationToken, InvalidClientTokenId, SignatureDoesNotMatch and ExpiredToken,
    all 403; IncompleteSignature 400); DynamoDB's error-handling guide for the JSON protocols
    (MissingAuthenticationTokenException, UnrecognizedClientException,
    InvalidSignatureException, ExpiredTokenException, IncompleteSignatureException, all 400,
    and "Signature expired: ... (... - 15 min.)" beyond the 15 minutes); the same exceptions
    with 403 for REST-JSON services (X-Ray, Lambda), as AWS's API Gateway-fronted services
    answer; S3's error-code list (AccessDenied 403 for an anonymous request,
    InvalidAccessKeyId 403, SignatureDoesNotMatch 403, RequestTimeTooSkewed 403, InvalidToken
    and ExpiredToken 400, XAmzContentSHA256Mismatch 400).
    """
    detail = refused.detail
    if protocol == "rest-xml":
        code, message, status = _S3_MESSAGES[refused.failure]
        if refused.failure is Failure.BAD_SIGNATURE:
            message = _SIGNATURE_MESSAGE
        return status, code, detail or message or code
    if protocol in ("query", "ec2"):
        code, message = _QUERY_MESSAGES[refused.failure]
        status = 400 if refused.failure is Failure.INCOMPLETE else 403
    else:
        code, message = _JSON_MESSAGES[refused.failure]
        status = 403 if protocol == "rest-json" else 400
    if refused.failure is Failure.BAD_SIGNATURE and not detail:
        message = _SIGNATURE_MESSAGE
    return status, code, detail or message or code


# ---------------------------------------------------------------------- CodeCommit's git


@lru_cache(maxsize=1)
def partition_regions() -> tuple[str, ...]:
    """Every region of every partition botocore knows (the credential helper signs for the
    CLI's region, which the sandbox is not told)."""
    from mmtui.sandbox.moto_repairs.import_speed import shared_session

    # moto's session: its loader has read botocore's endpoint data already (1.2 MB of JSON).
    loader = shared_session()._session.get_component("data_loader")
    endpoints = loader.load_data("endpoints")
    regions: list[str] = []
    for partition in endpoints.get("partitions", []):
        regions += list(partition.get("regions", {}))
    return tuple(dict.fromkeys(regions))


def codecommit_password(
    secret: str, host: str, path: str, region: str, moment: datetime | None = None
) -> str:
    """The password `aws codecommit credential-helper get` makes (awscli/customizations/
    codecommit.py, `sign_request`): `<timestamp>Z<signature>` of the canonical request
    `GIT\\n<path>\\n\\nhost:<host without port>\\n\\nhost\\n` with service `codecommit`."""
    stamp = (moment or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    hostname = host.split(":")[0]
    canonical = f"GIT\n{path}\n\nhost:{hostname}\n\nhost\n"
    return f"{stamp}Z{signature(secret, stamp, region, 'codecommit', canonical)}"


def verify_git(
    username: str,
    password: str,
    host: str,
    path: str,
    lookup: Any,
    now: datetime | None = None,
) -> Principal | None:
    """The principal of a git request's Basic credentials, if they verify for `path` (the
    repository's path) in some region; None otherwise."""
    access_key, _, token = username.partition("%")
    principal: Principal | None = lookup(access_key)
    if principal is None or (token or None) != principal.session_token:
        return None
    now = now or datetime.now(UTC)
    if principal.expiration is not None and principal.expiration <= now:
        return None
    stamp, separator, given = password.partition("Z")
    if not separator or not re.fullmatch(r"[0-9a-f]{64}", given):
        return None
    try:
        moment = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    if abs(moment - now) > MAX_SKEW:
        return None
    hostname = host.split(":")[0]
    canonical = f"GIT\n{path}\n\nhost:{hostname}\n\nhost\n"
    for region in partition_regions():
        expected = signature(principal.secret_key, stamp, region, "codecommit", canonical)
        if hmac.compare_digest(expected, given):
            return principal
    return None
