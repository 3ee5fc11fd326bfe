"""Verifies OAuth 1.0a signatures with Python's oauthlib, an implementation independent of the Rust signer.

Driven by the `auth_oauth1` integration tests: reads a JSON array of cases on stdin and writes a JSON array of
results on stdout, one per case, in order.

A case: {"name", "method", "uri", "headers": {..}, "body": "",
         "consumer_key", "consumer_secret", "token" (optional), "token_secret" (optional),
         "now" (optional: the verifier's clock, for published examples with old timestamps),
         "low_level" (optional: check only the signature with oauthlib's signature module, for examples whose
                      timestamps oauthlib's endpoint refuses by format)}
A result: {"name", "valid", "reason", "realm", "placement", "signature_method"}.

Exit status 3 when oauthlib is missing (`pip install oauthlib`).
"""

import json
import logging
import sys
import urllib.parse

try:
    from oauthlib.common import Request
    from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint
    from oauthlib.oauth1.rfc5849 import signature
    from oauthlib.oauth1.rfc5849.endpoints import base as endpoint_base
except ImportError as error:  # pragma: no cover - reported to the Rust test
    sys.stderr.write(f"oauthlib is not installed ({error}); run `pip install oauthlib`\n")
    sys.exit(3)


SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class Validator(RequestValidator):
    """Knows one client (and optionally one token); refuses a nonce seen before, as WooCommerce does."""

    def __init__(self, case, seen):
        super().__init__()
        self.case = case
        self.seen = seen

    enforce_ssl = False
    dummy_client = "dummy_client_key"
    dummy_access_token = "dummy_access_token"
    allowed_signature_methods = ("HMAC-SHA1", "HMAC-SHA256")

    def check_client_key(self, client_key):
        return set(client_key) <= SAFE and 1 <= len(client_key) <= 128

    def check_access_token(self, token):
        return set(token) <= SAFE and 1 <= len(token) <= 128

    def check_nonce(self, nonce):
        return set(nonce) <= SAFE and 8 <= len(nonce) <= 64

    def validate_client_key(self, client_key, request):
        return client_key == self.case["consumer_key"]

    def get_client_secret(self, client_key, request):
        if client_key == self.case["consumer_key"]:
            return self.case["consumer_secret"]
        return "dummy-secret"

    def validate_access_token(self, client_key, token, request):
        return token == self.case.get("token")

    def get_access_token_secret(self, client_key, token, request):
        if token == self.case.get("token"):
            return self.case.get("token_secret")
        return "dummy-secret"

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, **kwargs):
        key = (client_key, nonce)
        if key in self.seen:
            logging.getLogger("verify").info("nonce %s was used before", nonce)
            return False
        self.seen.add(key)
        return True


class FixedClock:
    def __init__(self, now):
        self.now = now

    def time(self):
        return self.now


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def placement_of(case):
    query = urllib.parse.urlsplit(case["uri"]).query
    if "oauth_signature=" in query:
        return "query"
    if case.get("headers", {}).get("Authorization", "").startswith("OAuth "):
        return "header"
    return "none"


def oauth_params(case):
    params = dict(
        signature.collect_parameters(
            uri_query=urllib.parse.urlsplit(case["uri"]).query,
            headers=case.get("headers", {}),
            exclude_oauth_signature=False,
            with_realm=True,
        )
    )
    return params


def verify_low_level(case):
    """Recomputes the signature with oauthlib's signature module (realm and oauth_signature excluded)."""
    params = oauth_params(case)
    request = Request(case["uri"], case["method"], "", case.get("headers", {}))
    request.params = signature.collect_parameters(
        uri_query=urllib.parse.urlsplit(case["uri"]).query,
        headers=case.get("headers", {}),
        exclude_oauth_signature=True,
        with_realm=False,
    )
    request.signature = params.get("oauth_signature")
    method = params.get("oauth_signature_method")
    verify = {"HMAC-SHA1": signature.verify_hmac_sha1, "HMAC-SHA256": signature.verify_hmac_sha256}.get(method)
    if verify is None:
        return False, f"unsupported signature method {method!r}"
    valid = verify(request, case["consumer_secret"], case.get("token_secret"))
    return valid, "" if valid else "signature mismatch"


def verify_endpoint(case, seen, capture):
    """The full check of a server: mandatory parameters, timestamp window, nonce reuse, client, signature."""
    if "now" in case:
        endpoint_base.time = FixedClock(case["now"])
    else:
        import time

        endpoint_base.time = time
    endpoint = SignatureOnlyEndpoint(Validator(case, seen))
    capture.lines.clear()
    valid, request = endpoint.validate_request(
        case["uri"], http_method=case["method"], body=case.get("body") or None, headers=case.get("headers", {})
    )
    reason = "" if valid else "; ".join(capture.lines) or "rejected"
    if request is not None and not valid:
        reason += f" (validator log: {request.validator_log})"
    return valid, reason


def main():
    cases = json.load(sys.stdin)
    capture = Capture()
    for name in ("oauthlib", "verify"):
        logger = logging.getLogger(name)
        logger.addHandler(capture)
        logger.setLevel(logging.DEBUG)
    seen = set()
    results = []
    for case in cases:
        try:
            if case.get("low_level"):
                valid, reason = verify_low_level(case)
            else:
                valid, reason = verify_endpoint(case, seen, capture)
        except Exception as error:  # a malformed request is a failed verification, reported with its reason
            valid, reason = False, f"{type(error).__name__}: {error}"
        params = oauth_params(case)
        results.append(
            {
                "name": case.get("name", ""),
                "valid": bool(valid),
                "reason": reason,
                "realm": params.get("realm"),
                "placement": placement_of(case),
                "signature_method": params.get("oauth_signature_method"),
            }
        )
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
