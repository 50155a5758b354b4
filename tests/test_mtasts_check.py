"""MTA-STS in ``check``, end to end: the real CLI against a loopback DNS server and a
loopback HTTPS server whose certificate comes from a CA made in the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from httpsserver import HttpsServer, Route
from pki import CertAuthority

from tests.cli_helpers import Run, run_cli
from tests.test_json_shape import FETCH, MTA_STS_POLICY, STS_POLICY

DOMAIN = "sts.example"
HOST = f"mta-sts.{DOMAIN}"
PATH = "/.well-known/mta-sts.txt"
URL = f"https://{HOST}{PATH}"
ENFORCE = (
    b"version: STSv1\r\nmode: enforce\r\nmx: mx1.sts.example\r\n"
    b"mx: *.mail.sts.example\r\nmax_age: 1209600\r\n"
)
ZONE = f"""$ORIGIN {DOMAIN}.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 127.0.0.1
@ MX 10 mx1
@ MX 20 in.mail
mx1 A 192.0.2.25
in.mail A 192.0.2.26
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@sts.example"
_mta-sts TXT "v=STSv1; id=20261208T000000"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@sts.example"
mta-sts A 127.0.0.1
"""


@pytest.fixture
def pki(tmp_path: Path) -> CertAuthority:
    return CertAuthority(tmp_path)


@pytest.fixture
def dns(dns_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    def start(mx: str = "", zone: str = ZONE):  # type: ignore[no-untyped-def]
        path = tmp_path / f"{DOMAIN}.zone"
        path.write_text(zone + mx)
        return dns_server(str(path))

    return start


@pytest.fixture
def https(pki: CertAuthority) -> Iterator[HttpsServer]:
    leaf = pki.issue(HOST)
    with HttpsServer(leaf.chain_file, leaf.key_file) as server:
        yield server


def check(dns, *extra: str, port: int, ca: CertAuthority | None, fmt: str = "json") -> Run:  # type: ignore[no-untyped-def]
    args = ["check", "--nameserver", dns.nameserver, "--selector", "s1", "--format", fmt]
    args += ["--https-port", str(port), "--select", "mtasts.", "--select", "tlsrpt."]
    if ca is not None:
        args += ["--ca-file", str(ca.ca_file)]
    return run_cli(*args, *extra, DOMAIN)


def sts_findings(run: Run) -> list[dict]:
    [domain] = run.json()["domains"]
    return [f for f in domain["findings"] if f["id"].startswith(("mtasts.", "tlsrpt."))]


def test_clean_policy_raises_no_false_alarm(dns, https: HttpsServer, pki) -> None:  # type: ignore[no-untyped-def]
    https.routes[(HOST, PATH)] = Route(ENFORCE)
    server = dns()
    run = check(server, port=https.port, ca=pki)
    assert sts_findings(run) == [], run.out
    [domain] = run.json()["domains"]
    policy = domain["mta_sts_policy"]
    assert set(policy) == MTA_STS_POLICY
    assert set(policy["fetch"]) == FETCH and set(policy["policy"]) == STS_POLICY
    assert policy["status"] == "enforce" and policy["url"] == URL
    assert policy["fetch"]["outcome"] == "ok" and policy["fetch"]["address"] == "127.0.0.1"
    assert policy["policy"]["mx"] == ["mx1.sts.example", "*.mail.sts.example"]
    assert https.requests == [(HOST, PATH)]  # one GET per run
    text = check(server, port=https.port, ca=pki, fmt="text")
    assert "MTA-STS ✓ enforce" in text.out


def test_mx_host_not_covered_is_named(dns, https: HttpsServer, pki) -> None:  # type: ignore[no-untyped-def]
    https.routes[(HOST, PATH)] = Route(ENFORCE)
    run = check(dns(mx="@ MX 30 backup.example.net.\n"), port=https.port, ca=pki)
    [f] = sts_findings(run)
    assert f["id"] == "mtasts.mx-mismatch" and f["subject"] == "backup.example.net"
    assert f["severity"] == "error" and f["status"] == "fail"
    assert "backup.example.net" in f["message"] and "mx: backup.example.net" in f["remediation"]
    assert run.code == 1


def test_testing_mode_gives_the_step_to_enforce(dns, https: HttpsServer, pki) -> None:  # type: ignore[no-untyped-def]
    https.routes[(HOST, PATH)] = Route(ENFORCE.replace(b"enforce", b"testing"))
    run = check(dns(mx="@ MX 30 backup.example.net.\n"), port=https.port, ca=pki)
    found = {f["id"]: f for f in sts_findings(run)}
    assert set(found) == {"mtasts.mode-testing", "mtasts.mx-mismatch"}
    assert found["mtasts.mode-testing"]["severity"] == "info"
    assert "mode: enforce" in found["mtasts.mode-testing"]["remediation"]
    assert found["mtasts.mx-mismatch"]["severity"] == "warning"  # testing: still delivered
    [domain] = run.json()["domains"]
    assert domain["mta_sts_policy"]["status"] == "testing"


@pytest.mark.parametrize(
    ("body", "content_type", "words", "severity"),
    [
        (ENFORCE.replace(b"1209600", b"3600"), "text/plain", "under a day", "warning"),
        (ENFORCE.replace(b"1209600", b"31557601"), "text/plain", "is over 31557600", "error"),
        (ENFORCE, "text/html; charset=utf-8", "'text/html', not text/plain", "error"),
        (ENFORCE.replace(b"mode: enforce", b"mode enforce"), "text/plain", "line 2:", "error"),
    ],
)
def test_policy_content_rules(
    dns, https: HttpsServer, pki, body, content_type, words, severity
) -> None:  # type: ignore[no-untyped-def]
    https.routes[(HOST, PATH)] = Route(body, content_type=content_type)
    [f] = sts_findings(check(dns(), port=https.port, ca=pki))
    assert words in f["message"] and f["severity"] == severity and f["status"] == "fail"


@pytest.mark.parametrize(
    ("route", "words"),
    [
        (Route(b"not here", status=404), "HTTP 404"),
        (Route(b"", status=302, headers={"Location": "https://www.sts.example/"}), "redirect"),
        (Route(b"x" * 70_000), "64 KiB"),
    ],
)
def test_served_failures_are_real_errors(dns, https: HttpsServer, pki, route, words) -> None:  # type: ignore[no-untyped-def]
    https.routes[(HOST, PATH)] = route
    run = check(dns(), port=https.port, ca=pki)
    [f] = sts_findings(run)
    assert f["id"] == "mtasts.policy-invalid" and f["status"] == "fail", f
    assert words in f["message"] and f["severity"] == "error"
    assert run.code == 1


def test_wrong_certificate_is_a_real_error(dns, https: HttpsServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    https.routes[(HOST, PATH)] = Route(ENFORCE)
    other = CertAuthority(tmp_path, name="somebody else")
    run = check(dns(), port=https.port, ca=other)
    [f] = sts_findings(run)
    assert f["status"] == "fail" and "certificate" in f["message"], f
    [domain] = run.json()["domains"]
    assert domain["mta_sts_policy"]["fetch"]["outcome"] == "tls-error"
    assert run.code == 1


def test_policy_host_without_address_is_a_real_error(dns, https: HttpsServer, pki) -> None:  # type: ignore[no-untyped-def]
    run = check(dns(zone=ZONE.replace("mta-sts A 127.0.0.1\n", "")), port=https.port, ca=pki)
    [f] = sts_findings(run)
    assert f["status"] == "fail" and "no address" in f["message"]


def test_timeout_and_refused_are_could_not_check(
    dns, https: HttpsServer, pki, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    https.routes[(HOST, PATH)] = Route(ENFORCE, delay=7)
    server = dns()
    slow = check(server, "--strict", port=https.port, ca=pki)
    [f] = sts_findings(slow)
    assert f["status"] == "unknown" and f["severity"] == "warning", f
    assert "Could not check" in f["message"]
    assert slow.code == 3  # incomplete, not a finding
    leaf = CertAuthority(tmp_path, name="gone").issue(HOST)
    with HttpsServer(leaf.chain_file, leaf.key_file) as gone:
        closed = gone.port
    refused = check(server, port=closed, ca=pki)
    [f] = sts_findings(refused)
    assert f["status"] == "unknown" and "refused" in f["message"]
    assert refused.code == 0
    text = check(server, port=closed, ca=pki, fmt="text")
    assert "MTA-STS ? could not check" in text.out


def test_no_fetch_makes_no_https_request(dns, https: HttpsServer, pki) -> None:  # type: ignore[no-untyped-def]
    https.routes[(HOST, PATH)] = Route(b"garbage")
    server = dns()
    run = check(server, "--no-fetch", port=https.port, ca=pki)
    assert sts_findings(run) == []
    [domain] = run.json()["domains"]
    assert domain["mta_sts_policy"]["status"] == "not-fetched"
    assert https.requests == []


def test_bad_ca_file_is_one_line_exit_2(dns, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = dns()
    missing = run_cli(
        "check", "--nameserver", server.nameserver, "--ca-file", str(tmp_path / "nope.pem"), DOMAIN
    )
    assert missing.code == 2 and "--ca-file" in missing.err and "no such file" in missing.err
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    bad = run_cli("check", "--nameserver", server.nameserver, "--ca-file", str(junk), DOMAIN)
    assert bad.code == 2 and "not a PEM" in bad.err and "Traceback" not in bad.err


def test_policy_file_mode_is_compared_with_the_served_policy(  # type: ignore[no-untyped-def]
    dns, https: HttpsServer, pki, tmp_path: Path
) -> None:
    https.routes[(HOST, PATH)] = Route(ENFORCE.replace(b"enforce", b"testing"))
    config = tmp_path / "policy.yaml"
    config.write_text(f"domains:\n  {DOMAIN}:\n    mta_sts_mode: enforce\n")
    run = check(dns(), "--config", str(config), "--select", "policy.", port=https.port, ca=pki)
    [domain] = run.json()["domains"]
    [f] = [f for f in domain["findings"] if f["id"] == "policy.mta-sts-mode"]
    assert "mode: testing" in f["message"] and f["subject"] == URL
    https.routes[(HOST, PATH)] = Route(ENFORCE)
    clean = check(dns(), "--config", str(config), "--select", "policy.", port=https.port, ca=pki)
    [domain] = clean.json()["domains"]
    assert not [f for f in domain["findings"] if f["id"].startswith("policy.")]
