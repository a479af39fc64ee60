#!/usr/bin/env python3
"""Recompute every expected header in vectors.json from its inputs.

This is an implementation of the three Convoy signature formats written apart
from the Go code, using only the Python standard library, so a mistake shared by
the Go signer and verifier still shows up here. Exits non-zero on any mismatch.

Usage: python3 check_vectors.py vectors.json
"""

import base64
import hashlib
import hmac
import json
import sys

# Convoy hash names -> hashlib names.
HASHES = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA224": "sha224",
    "SHA256": "sha256",
    "SHA384": "sha384",
    "SHA512": "sha512",
    "SHA3_224": "sha3_224",
    "SHA3_256": "sha3_256",
    "SHA3_384": "sha3_384",
    "SHA3_512": "sha3_512",
    "SHA512_224": "sha512_224",
    "SHA512_256": "sha512_256",
}


def mac_hex(hash_name, key, msg):
    digest = lambda data=b"": hashlib.new(HASHES[hash_name], data)
    return hmac.new(key.encode("utf-8"), msg, digest).hexdigest()


def standard_key(secret):
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):], validate=True)
    return secret.encode("utf-8")


def expected(v):
    body = v["body"].encode("utf-8")
    ts = str(v["timestamp"])
    fmt = v["format"]
    if fmt == "simple":
        if v["replay_attacks"]:
            return {
                "Convoy-Timestamp": ts,
                v["header"]: mac_hex(v["hash"], v["secrets"][0], ts.encode() + b"," + body),
            }
        return {v["header"]: mac_hex(v["hash"], v["secrets"][0], body)}
    if fmt == "advanced":
        parts = ["t=" + ts]
        for s in v["secrets"]:
            parts.append("v1=" + mac_hex(v["hash"], s, ts.encode() + b"," + body))
        return {v["header"]: ",".join(parts)}
    if fmt == "standard-webhooks":
        signed = v["delivery_id"].encode("utf-8") + b"." + ts.encode() + b"." + body
        sigs = []
        for s in v["secrets"]:
            digest = hmac.new(standard_key(s), signed, hashlib.sha256).digest()
            sigs.append("v1," + base64.b64encode(digest).decode("ascii"))
        return {
            "webhook-id": v["delivery_id"],
            "webhook-timestamp": ts,
            "webhook-signature": " ".join(sigs),
        }
    if fmt == "standard-webhooks-asymmetric":
        # RFC 8032 ed25519 is deterministic: the same key and message give
        # the same signature, so it is recomputed like the HMACs.
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = base64.b64decode(v["signing_key"][len("whsk_"):], validate=True)
        key = Ed25519PrivateKey.from_private_bytes(raw[:32])
        public = "whpk_" + base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")
        if v["secrets"] != [public]:
            raise ValueError("public key %r is not the signing key's %r" % (v["secrets"], public))
        signed = v["delivery_id"].encode("utf-8") + b"." + ts.encode() + b"." + body
        return {
            "webhook-id": v["delivery_id"],
            "webhook-timestamp": ts,
            "webhook-signature": "v1a," + base64.b64encode(key.sign(signed)).decode("ascii"),
        }
    raise ValueError("unknown format %r" % fmt)


def lower_keys(d):
    # HTTP header names are case-insensitive.
    return {k.lower(): val for k, val in d.items()}


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        vectors = json.load(f)
    if not vectors:
        print("no vectors", file=sys.stderr)
        return 1
    failures = 0
    for v in vectors:
        try:
            want = lower_keys(expected(v))
        except Exception as e:  # report every broken case, not just the first
            print("FAIL %s: %s" % (v.get("name"), e), file=sys.stderr)
            failures += 1
            continue
        got = lower_keys(v["expected_headers"])
        if got != want:
            failures += 1
            print("FAIL %s" % v["name"], file=sys.stderr)
            for name in sorted(set(got) | set(want)):
                if got.get(name) != want.get(name):
                    print("  %s: file %r, recomputed %r" % (name, got.get(name), want.get(name)), file=sys.stderr)
    print("%d vectors, %d mismatches" % (len(vectors), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
