#!/usr/bin/env python3
"""mint_token.py: make JSON Web Tokens for tests and local use (stdlib only).

Library:
    from mint_token import mint
    mint(secret, claims, alg='HS256', header_extra=None) -> str

    secret        str (UTF-8 encoded) or bytes; the HMAC key
    claims        dict, serialised as the JWT payload as given
    alg           'HS256', 'HS384', 'HS512', or 'none'; 'none' gives an unsigned token
                  "<header>.<payload>." (for negative tests; the header says "none")
    header_extra  dict merged into the header {"alg": ..., "typ": "JWT"}; it may
                  override "alg" or "typ" to forge inconsistent tokens

CLI:
    mint_token.py --secret S --sub UUID [--ttl 3600] [--alg HS256]
                  [--claim k=v ...] [--drop k ...]
    Prints one token with claims user_id=sub=UUID, role "authenticated", iat=now,
    exp=now+ttl. --claim sets or overrides a claim; v is parsed as JSON when it can
    be (exp=0, admin=true, n=null) and is a string otherwise. --drop removes a claim
    (e.g. --drop exp, --drop user_id). --secret-file F reads the secret from a file
    (one trailing newline stripped), like the service's JWT_SECRET_FILE.
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time

_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64url(data):
    """Return the unpadded base64url text of bytes `data` (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def mint(secret, claims, alg="HS256", header_extra=None):
    """Return a compact JWS (str) over `claims`, signed with HMAC `alg` and `secret`.

    alg 'none' returns "<header>.<payload>." with an empty signature. Raises
    ValueError for any other unknown alg.
    """
    header = {"alg": alg, "typ": "JWT"}
    if header_extra:
        header.update(header_extra)
    signing_input = b64url(_json(header)) + "." + b64url(_json(claims))
    if alg == "none":
        return signing_input + "."
    if alg not in _HASHES:
        raise ValueError("unsupported alg %r" % (alg,))
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    sig = hmac.new(key, signing_input.encode("ascii"), _HASHES[alg]).digest()
    return signing_input + "." + b64url(sig)


def standard_claims(user_id, ttl=3600, now=None):
    """Return the claims the platform's tokens carry for `user_id`, valid for `ttl` s."""
    now = int(time.time()) if now is None else int(now)
    return {"user_id": user_id, "sub": user_id, "role": "authenticated",
            "iat": now, "exp": now + int(ttl)}


def _parse_claim(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected k=v, got %r" % (text,))
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def main(argv=None):
    p = argparse.ArgumentParser(description="Mint a JWT for coursegen-status.")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--secret", help="HMAC secret (raw bytes of the string)")
    g.add_argument("--secret-file", help="file holding the secret")
    p.add_argument("--sub", required=True, help="user UUID (user_id and sub)")
    p.add_argument("--ttl", type=int, default=3600, help="seconds until exp (default 3600)")
    p.add_argument("--alg", default="HS256", choices=sorted(_HASHES) + ["none"])
    p.add_argument("--claim", action="append", default=[], type=_parse_claim,
                   metavar="K=V", help="set a claim (V parsed as JSON if possible)")
    p.add_argument("--drop", action="append", default=[], metavar="K",
                   help="remove a claim")
    a = p.parse_args(argv)
    if a.secret_file:
        with open(a.secret_file, "rb") as f:
            secret = f.read()
        if secret.endswith(b"\n"):
            secret = secret[:-1]
    else:
        secret = a.secret
    claims = standard_claims(a.sub, a.ttl)
    claims.update(dict(a.claim))
    for k in a.drop:
        claims.pop(k, None)
    print(mint(secret, claims, a.alg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
