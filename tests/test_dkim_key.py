"""Unit tests for the DKIM key record parser (RFC 6376 §3.2, §3.6.1; RFC 8301; RFC 8463)."""

from __future__ import annotations

import base64
import random

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from dmarc_audit.records.dkim_key import (
    KeyFormat,
    KeyType,
    parse_dkim_key,
    parse_tag_list,
)

# Public test keys (dkimpy 1.1.8 test data / RFC 8463 App. A), as in the conformance file.
RSA2048_SPKI = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5Ru5WVhkPiBuE+mOf29uqontUfoQpcWX04sA/V6dRmZ0"
    "I2kRHOSKYXLW84sqPiWyfKH4WaP7f0p6RvENyIqFjCYWDPxSX5Ck/rj0jUzQ6FKloUb9M/0hhdUy2xa7przy7wud"
    "Lu7WpgxyMLogPZfWMV369vvPefyvuXF8B3rCuy5qSNyvnDf0Dn4/blILfyw5df4JWJIj0FfXxc3LMMLQM+Nn8q71"
    "iJmH5qXuB78GWUjT7erEXnrXdWKZimM9l6fMSOb6EBm0AwNVR+mOGwt05LPrSHFrwKJSNRB5gBOzXfmjdUpghIq+"
    "wLF1trz+oJt5CcZs45GPjiuyUomI+HgFpQIDAQAB"
)
ED25519 = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def rsa(extra: str = "") -> str:
    return f"v=DKIM1; k=rsa; {extra}p={RSA2048_SPKI}"


# --- must stay clean -----------------------------------------------------------------


def test_2048_spki_key_is_clean() -> None:
    key = parse_dkim_key(rsa())
    assert (key.valid, key.usable_for_email, key.key_type, key.key_bits) == (
        True,
        True,
        "rsa",
        2048,
    )
    assert key.key_format == KeyFormat.SPKI.value
    assert key.problems == () and key.warnings == ()
    assert key.kind is KeyType.RSA


def test_ed25519_key_is_clean_and_not_weak() -> None:
    key = parse_dkim_key(f"v=DKIM1; k=ed25519; p={ED25519}")
    assert (key.valid, key.usable_for_email, key.key_type, key.key_bits) == (
        True,
        True,
        "ed25519",
        256,
    )
    assert key.key_format == KeyFormat.RAW_ED25519.value
    assert key.warnings == ()
    assert key.kind is KeyType.ED25519


# --- tag-list syntax (RFC 6376 §3.2) ---------------------------------------------------


def test_tag_list_keeps_order_and_strips_whitespace() -> None:
    assert parse_tag_list(" a = 1 ;\tb=x y ;") == (("a", "1"), ("b", "x y"))


def test_trailing_semicolon_and_whitespace_allowed() -> None:
    assert parse_dkim_key(rsa() + ";  ").valid


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty tag-spec"),
        ("v=DKIM1;; p=abc", "empty tag-spec"),
        ("v=DKIM1; bogus; p=abc", "has no '='"),
        ("v=DKIM1; _k=rsa; p=abc", "not a tag name"),
        ("v=DKIM1; k=rsa; k=rsa; p=abc", "more than once"),
        ("v=DKIM1; n=caf\u00e9; p=abc", "not allowed in a tag value"),
        ("v=DKIM1; n=a\x00b; p=abc", "not allowed in a tag value"),
    ],
)
def test_tag_list_errors_are_key_invalid(text: str, fragment: str) -> None:
    key = parse_dkim_key(text)
    assert not key.valid and not key.usable_for_email
    assert key.warnings == ("dkim.key-invalid",)
    assert fragment in key.problems[0].message
    assert key.tags == ()
    with pytest.raises(ValueError):
        parse_tag_list(text)


def test_tag_names_are_case_sensitive() -> None:
    key = parse_dkim_key(f"v=DKIM1; P={RSA2048_SPKI}")
    assert key.warnings == ("dkim.key-invalid",)
    assert "'P' is not 'p'" in key.problems[0].message


# --- v= and p= -------------------------------------------------------------------------


def test_v_is_optional() -> None:
    key = parse_dkim_key(f"p={RSA2048_SPKI}")
    assert key.valid and key.version is None and key.key_type == "rsa"


def test_v_must_be_first() -> None:
    key = parse_dkim_key(f"k=rsa; v=DKIM1; p={RSA2048_SPKI}")
    assert key.warnings == ("dkim.key-invalid",)
    assert key.problems[0].tag == "v"


def test_spf_record_at_selector_is_not_a_key() -> None:
    key = parse_dkim_key("v=spf1 include:_spf.example.net -all")
    assert not key.valid and key.warnings == ("dkim.key-invalid",)


def test_verification_token_at_selector_is_not_a_key() -> None:
    key = parse_dkim_key("MS=ms12345678")
    assert not key.valid and key.warnings == ("dkim.key-invalid",)
    assert "does not look like a DKIM key" in key.problems[0].message


def test_fws_inside_p_is_ignored() -> None:
    folded = " \r\n\t".join(RSA2048_SPKI[i : i + 60] for i in range(0, len(RSA2048_SPKI), 60))
    assert parse_dkim_key(f"v=DKIM1; p={folded}").key_bits == 2048


def test_missing_base64_padding_is_invalid() -> None:
    assert not parse_dkim_key(f"k=ed25519; p={ED25519.rstrip('=')}").valid


def test_pem_markers_in_p_are_invalid_with_a_hint() -> None:
    key = parse_dkim_key(
        f"v=DKIM1; p=-----BEGIN PUBLIC KEY-----{RSA2048_SPKI}-----END PUBLIC KEY-----"
    )
    assert key.warnings == ("dkim.key-invalid",)
    assert "PEM" in key.problems[0].message


def test_rsa_type_with_an_ec_key_is_invalid() -> None:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    key = parse_dkim_key(f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}")
    assert key.warnings == ("dkim.key-invalid",)
    assert "non-RSA key (EC)" in key.problems[0].message


def test_ed25519_data_under_k_rsa_is_invalid_with_a_hint() -> None:
    key = parse_dkim_key(f"v=DKIM1; k=rsa; p={ED25519}")
    assert key.warnings == ("dkim.key-invalid",)
    assert "k=ed25519" in key.problems[0].message


# --- revoked, key type -----------------------------------------------------------------


def test_revoked_key_reports_only_revocation() -> None:
    key = parse_dkim_key("v=DKIM1; k=rsa; t=y; h=sha1; p=")
    assert key.valid and key.revoked and not key.usable_for_email
    assert key.warnings == ("dkim.key-revoked",)
    assert key.key_type == "rsa" and key.key_bits is None


def test_revoked_key_with_whitespace_only_p() -> None:
    assert parse_dkim_key("v=DKIM1; p= ").revoked


def test_revoked_key_of_unknown_type() -> None:
    key = parse_dkim_key("v=DKIM1; k=dsa; p=")
    assert key.warnings == ("dkim.key-revoked",) and key.key_type is None
    assert key.kind is KeyType.UNKNOWN


def test_unknown_key_type_is_ignored_not_invalid() -> None:
    key = parse_dkim_key(f"v=DKIM1; k=ecdsa; p={RSA2048_SPKI}")
    assert key.valid and not key.usable_for_email
    assert key.warnings == ("dkim.unknown-key-type",)
    assert key.key_type is None and key.tag("k") == "ecdsa"


# --- h=, s=, t=, n= --------------------------------------------------------------------


def test_lists_allow_whitespace_around_colons() -> None:
    key = parse_dkim_key(rsa("h=sha256 : sha1; s=email : tlsrpt; t=s:y; n=rotated 2024; "))
    assert key.hash_algorithms == ("sha256", "sha1")
    assert key.services == ("email", "tlsrpt")
    assert key.flags == ("s", "y") and key.testing and key.strict_identity
    assert key.notes == "rotated 2024"
    assert key.version == "DKIM1"
    assert key.usable_for_email
    assert set(key.warnings) == {"dkim.sha1", "dkim.testing-mode"}


def test_absent_lists_are_none() -> None:
    key = parse_dkim_key(rsa())
    assert key.hash_algorithms is None and key.services is None and key.flags == ()
    assert not key.testing and not key.strict_identity


def test_t_s_alone_is_clean() -> None:
    key = parse_dkim_key(rsa("t=s; "))
    assert key.strict_identity and key.warnings == ()


def test_h_without_sha256_or_sha1_is_unusable() -> None:
    key = parse_dkim_key(rsa("h=sha512; "))
    assert key.valid and not key.usable_for_email
    assert key.warnings == ("dkim.key-invalid",) and key.problems[0].tag == "h"


def test_h_sha1_only_is_unusable() -> None:
    key = parse_dkim_key(rsa("h=sha1; "))
    assert not key.usable_for_email and key.warnings == ("dkim.sha1",)


def test_empty_s_means_no_service() -> None:
    key = parse_dkim_key(rsa("s=; "))
    assert key.services == () and key.warnings == ("dkim.service-not-email",)


def test_s_star_and_email_with_others_are_fine() -> None:
    assert parse_dkim_key(rsa("s=*; ")).warnings == ()
    assert parse_dkim_key(rsa("s=tlsrpt:email; ")).warnings == ()


# --- sizes and formats -----------------------------------------------------------------


def test_pkcs1_form_is_recognised_with_its_size() -> None:
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    public = load_der_public_key(base64.b64decode(RSA2048_SPKI))
    pkcs1 = base64.b64encode(public.public_bytes(Encoding.DER, PublicFormat.PKCS1)).decode()
    key = parse_dkim_key(f"v=DKIM1; p={pkcs1}")
    assert key.key_format == KeyFormat.PKCS1.value and key.key_bits == 2048
    assert key.usable_for_email and key.warnings == ("dkim.pkcs1-key-format",)


def test_problem_lookup_and_tag() -> None:
    key = parse_dkim_key(rsa("t=y; "))
    problem = key.problem("dkim.testing-mode")
    assert problem is not None and problem.tag == "t"
    assert key.problem("dkim.rsa-1024") is None
    assert key.tag("t") == "y" and key.tag("x") is None


def test_parser_never_raises_on_noise() -> None:
    rng = random.Random(6376)
    alphabet = "v=DKIM1;kp rsa:ed25519\t/+=ABCdef0123;;==\x00\xff-"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        key = parse_dkim_key(text)
        assert key.text == text
        assert key.valid or key.warnings == ("dkim.key-invalid",)


def test_rsa_data_under_k_ed25519_names_the_fix() -> None:
    key = parse_dkim_key(f"v=DKIM1; k=ed25519; p={RSA2048_SPKI}")
    assert key.warnings == ("dkim.key-invalid",)
    assert "it is an RSA key: set k=rsa" in key.problems[0].message
