"""Fill in the DKIM keys of the posture fixture zones (fixtures/posture/*.zone).

A key record in those zones ends with a marker comment naming the key it needs::

    google._domainkey IN TXT "v=DKIM1; k=rsa; p=..." ; dkim-key: rsa-2048

This script replaces the ``p=`` value of every marked record with a freshly
generated public key of that kind (``rsa-2048``, ``rsa-1024``, ``rsa-512`` or
``ed25519``), keeps the other tags as written, and splits the TXT data into
character-strings of at most 255 octets on the same line. Private keys are thrown
away: the fixtures only need public keys. ``--check`` changes nothing and exits 1
when a marked record does not hold a key of the kind its marker names.

Run it from the repository root after adding a marked record, then commit the zones::

    python scripts/make_posture_keys.py            # (re)generate the marked keys
    python scripts/make_posture_keys.py --check    # verify them
"""

from __future__ import annotations

import argparse
import base64
import re
import secrets
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

ZONES = Path(__file__).resolve().parent.parent / "fixtures" / "posture"
MARKER = re.compile(
    r'^(?P<head>\S+\s+(?:\d+\s+)?IN\s+TXT\s+)(?P<data>(?:"[^"]*"\s*)+)'
    r"(?P<tail>;\s*dkim-key:\s*(?P<kind>[a-z0-9-]+)\s*)$"
)
KINDS = ("rsa-2048", "rsa-1024", "rsa-512", "ed25519")
STRING_LIMIT = 255


def _is_probable_prime(n: int, rounds: int = 40) -> bool:
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        a = secrets.randbelow(n - 3) + 2
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if _is_probable_prime(candidate):
            return candidate


def _short_rsa_public_der(bits: int) -> bytes:
    """An RSA public key under 1024 bits (``cryptography`` refuses to generate those)."""
    e = 65537
    while True:
        p, q = _prime(bits // 2), _prime(bits // 2)
        n = p * q
        if p != q and n.bit_length() == bits and (p - 1) % e and (q - 1) % e:
            key = rsa.RSAPublicNumbers(e, n).public_key()
            return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def new_public_key(kind: str) -> str:
    """Base64 of a new public key as DKIM publishes it (RFC 6376 §3.6.1, RFC 8463 §4)."""
    if kind == "ed25519":
        public = ed25519.Ed25519PrivateKey.generate().public_key()
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    elif kind in ("rsa-2048", "rsa-1024"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[4:]))
        raw = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    elif kind == "rsa-512":
        raw = _short_rsa_public_der(512)
    else:
        raise ValueError(f"unknown key kind {kind!r}; use one of {', '.join(KINDS)}")
    return base64.b64encode(raw).decode("ascii")


def key_kind(p_value: str) -> str | None:
    """The kind of key a base64 ``p=`` value holds, or None."""
    try:
        data = base64.b64decode(p_value, validate=True)
    except ValueError:
        return None
    if len(data) == 32:
        return "ed25519"
    try:
        public = load_der_public_key(data)
    except ValueError:
        return None
    if isinstance(public, rsa.RSAPublicKey):
        return f"rsa-{public.key_size}"
    return None


def _strings(data: str) -> str:
    return "".join(re.findall(r'"([^"]*)"', data))


def _quoted(text: str) -> str:
    return " ".join(f'"{text[i : i + STRING_LIMIT]}"' for i in range(0, len(text), STRING_LIMIT))


def _with_key(text: str, key: str) -> str:
    if not re.search(r"(^|;)\s*p=", text):
        raise ValueError(f"no p= tag in {text!r}")
    return re.sub(r"((?:^|;)\s*p=)[^;]*", lambda m: m.group(1) + key, text, count=1)


def _p_value(text: str) -> str:
    match = re.search(r"(?:^|;)\s*p=([^;]*)", text)
    return "".join(match.group(1).split()) if match else ""


def process(path: Path, check: bool) -> list[str]:
    """Regenerate (or check) the marked keys of one zone file; returns the problems."""
    problems = []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = False
    for number, line in enumerate(lines, 1):
        match = MARKER.match(line.rstrip("\n"))
        if match is None:
            if "dkim-key:" in line:
                problems.append(f"{path.name}:{number}: marker on a line the script cannot read")
            continue
        kind, text = match.group("kind"), _strings(match.group("data"))
        if check:
            found = key_kind(_p_value(text))
            if found != kind:
                problems.append(f"{path.name}:{number}: marker says {kind}, key is {found}")
            continue
        new_text = _with_key(text, new_public_key(kind))
        lines[number - 1] = (
            match.group("head") + _quoted(new_text) + " " + match.group("tail").strip() + "\n"
        )
        changed = True
    if changed:
        path.write_text("".join(lines), encoding="utf-8")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify, change nothing")
    parser.add_argument("zones", nargs="*", type=Path, help="zone files (default: all posture)")
    args = parser.parse_args(argv)
    paths = args.zones or sorted(ZONES.glob("*.zone"))
    problems = [p for path in paths for p in process(path, args.check)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
