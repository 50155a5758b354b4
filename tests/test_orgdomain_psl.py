"""Our reader of tldextract's bundled Public Suffix List agrees with tldextract itself."""

from __future__ import annotations

import sys

import tldextract

from dmarc_audit.orgdomain import _psl, organizational_domain_psl, public_suffix

EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True, include_psl_private_domains=True
)


def reference(name: str) -> str:
    return EXTRACT(name).suffix or name.rsplit(".", 1)[-1]


def test_every_rule_of_the_list_matches_tldextract() -> None:
    rules, wildcards, exceptions = _psl()
    names = [f"host.{r}" for r in rules] + [f"host.label.{w}" for w in wildcards]
    names += [f"host.{e}" for e in exceptions]
    assert len(names) > 9000
    wrong = [(n, public_suffix(n), reference(n)) for n in names if public_suffix(n) != reference(n)]
    assert wrong == []


def test_organizational_domains() -> None:
    assert organizational_domain_psl("a.b.example.co.uk") == "example.co.uk"
    assert organizational_domain_psl("mail.example.com") == "example.com"
    assert organizational_domain_psl("x.y.unlisted-tld") == "y.unlisted-tld"
    assert organizational_domain_psl("gov") == "gov"


def test_reading_the_list_does_not_import_tldextract() -> None:
    import subprocess

    code = (
        "import sys\nfrom dmarc_audit.orgdomain import public_suffix\n"
        "public_suffix('a.example.co.uk')\nprint('tldextract' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
