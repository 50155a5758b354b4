"""Catalog entries: DKIM (RFC 6376, RFC 8301, RFC 8463)."""

from __future__ import annotations

from dmarc_audit.catalog.model import CheckInfo, SeverityCase
from dmarc_audit.findings import Severity

CHECKS: tuple[CheckInfo, ...] = (
    CheckInfo(
        id="dkim.no-key-found",
        title="No DKIM key found",
        severity=Severity.INFO,
        triggers="none of the known/probed selectors has a key record",
        why=(
            "Without DKIM, DMARC can pass only through SPF, which breaks when mail is forwarded;"
            " Gmail, Yahoo and Microsoft require DKIM from bulk senders. Selectors cannot be "
            "listed from DNS, so this may only mean that your selector is not a common name."
        ),
        fix=(
            "Give the selector explicitly (it is the s= of a DKIM-Signature header), or publish "
            "a key"
        ),
        references=("RFC 6376 §3.6.2.1",),
        bulk_severity=Severity.WARNING,
    ),
    CheckInfo(
        id="dkim.key-invalid",
        title="Unusable DKIM key record",
        severity=Severity.ERROR,
        triggers=(
            "key TXT record unusable: tag-list error (duplicate tag, tag without =, bad tag "
            "name), v= not first or not DKIM1, missing p=, or p= not a valid base64 key of type "
            "k="
        ),
        why=(
            "Verifiers must ignore a key record that does not parse and return permfail, so "
            "every signature made with this selector counts as invalid and DKIM cannot help "
            "DMARC pass."
        ),
        fix=(
            "Republish the key exactly as generated: SubjectPublicKeyInfo in base64, without PEM"
            " markers"
        ),
        references=("RFC 6376 §3.2, §3.6.1, §6.1.2",),
    ),
    CheckInfo(
        id="dkim.key-revoked",
        title="DKIM key revoked",
        severity=Severity.INFO,
        triggers="p= is empty (key revoked)",
        why=(
            "An empty p= means the key has been revoked, and signatures made with this selector "
            "fail verification. That is expected after a key rotation, not while a sender still "
            "signs with the selector."
        ),
        fix="Stop signing with this selector, or publish the new key",
        references=("RFC 6376 §3.6.1",),
    ),
    CheckInfo(
        id="dkim.rsa-too-short",
        title="DKIM RSA key shorter than 1024 bits",
        severity=Severity.ERROR,
        triggers="RSA key shorter than 1024 bits (receivers treat signatures as invalid)",
        why=(
            "RFC 8301 forbids verifiers to accept signatures made with RSA keys under 1024 bits,"
            " so this selector's signatures count as invalid. Such keys can be factored with "
            "modest effort, and whoever recovers the key can sign mail as your domain."
        ),
        fix="Generate a 2048-bit RSA key, publish it under a new selector and sign with it",
        references=("RFC 8301 §3.2",),
    ),
    CheckInfo(
        id="dkim.rsa-1024",
        title="DKIM RSA key shorter than 2048 bits",
        severity=Severity.WARNING,
        triggers="RSA key of 1024 to 2047 bits",
        why=(
            "1024-bit keys still verify everywhere, but RFC 8301 says signers SHOULD use at "
            "least 2048 bits and Google recommends 2048. Shorter keys leave little margin "
            "against factoring."
        ),
        fix="Rotate to a 2048-bit key (the TXT record must then be split into several strings)",
        references=("RFC 8301 §3.2 (SHOULD ≥ 2048)", "Google sender guidelines recommend 2048"),
    ),
    CheckInfo(
        id="dkim.unknown-key-type",
        title="Unknown DKIM key type",
        severity=Severity.ERROR,
        triggers="k= is not rsa or ed25519 (key ignored)",
        why=(
            "Verifiers implement only rsa and ed25519 keys; a key with another k= value is "
            "unusable, so every signature made with this selector fails."
        ),
        fix="Use k=rsa or k=ed25519",
        references=("RFC 6376 §3.6.1", "RFC 8463 §4"),
    ),
    CheckInfo(
        id="dkim.sha1",
        title="DKIM uses SHA-1",
        severity=Severity.ERROR,
        also=(SeverityCase(Severity.WARNING),),
        triggers=(
            "key h= lists only sha1 (error) or includes sha1 (warning); message mode: signature "
            "uses a=rsa-sha1 (error)"
        ),
        why=(
            "RFC 8301 says rsa-sha1 MUST NOT be used for signing or verifying, because SHA-1 is "
            "no longer collision-resistant. Signatures made with it are not valid, and a key "
            "restricted to h=sha1 can never produce a valid signature."
        ),
        fix="Sign with rsa-sha256 or ed25519-sha256, and set h=sha256 on the key or drop h=",
        references=("RFC 8301 §3.1",),
    ),
    CheckInfo(
        id="dkim.service-not-email",
        title="DKIM key not for email",
        severity=Severity.ERROR,
        triggers="s= present and does not include email or *",
        why=(
            "The s= tag restricts what a key is for, and verifiers must ignore a key whose "
            "service types do not include email or *, so mail signatures with this selector "
            "fail. s=tlsrpt keys are meant for signing TLS reports."
        ),
        fix="Remove s= from the key record, or add email to it",
        references=("RFC 6376 §3.6.1", "RFC 8460 (DKIM s=tlsrpt)"),
    ),
    CheckInfo(
        id="dkim.testing-mode",
        title="DKIM key in testing mode",
        severity=Severity.WARNING,
        triggers="key flag t=y",
        why=(
            "t=y tells verifiers the domain is only testing DKIM: RFC 6376 says they must not "
            "treat its mail differently from unsigned mail, even when a signature fails to "
            "verify. The flag is meant for rollout; a production key should not carry it."
        ),
        fix="Remove t=y from the key record once testing is over",
        references=("RFC 6376 §3.6.1",),
    ),
    CheckInfo(
        id="dkim.pkcs1-key-format",
        title="DKIM key in PKCS#1 form",
        severity=Severity.INFO,
        triggers="RSA p= holds a bare PKCS#1 RSAPublicKey instead of SubjectPublicKeyInfo",
        why=(
            "The text of RFC 6376 names the bare PKCS#1 RSAPublicKey, but signers and verifiers "
            "use SubjectPublicKeyInfo, as Errata 3017 records. Not every verifier accepts the "
            "PKCS#1 form, so signatures can fail at some receivers."
        ),
        fix="Publish the key in SubjectPublicKeyInfo (SPKI) form for the widest compatibility",
        references=("RFC 6376 §3.6.1 and Errata 3017",),
    ),
    CheckInfo(
        id="dkim.ed25519-only",
        title="Only Ed25519 DKIM keys",
        severity=Severity.WARNING,
        triggers="selectors found are all ed25519",
        why=(
            "Many receivers do not yet verify ed25519-sha256 signatures (RFC 8463); to them the "
            "mail looks unsigned and DKIM cannot help DMARC pass. Signing with both an ed25519 "
            "and an RSA key lets each receiver use the one it supports."
        ),
        fix="Add an RSA signature alongside the ed25519 one",
        references=("RFC 8463 (interoperability)", "RFC 8301"),
    ),
    CheckInfo(
        id="dkim.signature-invalid",
        title="DKIM signature does not verify",
        severity=Severity.ERROR,
        triggers="message mode: signature or body hash does not verify, or h= does not cover From",
        why=(
            "A signature that fails verification counts as no signature for DMARC. Common causes"
            " are a gateway or mailing list that changed the message, a published key that does "
            "not match the signing key, and an h= list without From, which RFC 6376 requires to "
            "be signed."
        ),
        fix=(
            "Check for changes made in transit and for a mismatch with the published key, and "
            "make sure the signature covers From"
        ),
        references=("RFC 6376 §5.4, §6.1.3",),
    ),
    CheckInfo(
        id="dkim.body-length-tag",
        title="DKIM body length limit (l=)",
        severity=Severity.WARNING,
        triggers="message mode: l= present (content can be appended)",
        why=(
            "With l=, only the first part of the body is signed, so anyone who gets hold of a "
            "signed message can append content, such as a phishing link, and the signature still"
            " verifies."
        ),
        fix="Sign the whole body: do not use l=",
        references=("RFC 6376 §8.2",),
    ),
)
