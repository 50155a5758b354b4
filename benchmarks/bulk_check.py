#!/usr/bin/env python3
"""Bulk-audit speed of ``dmarc-audit check`` against a loopback DNS server, vs checkdmarc.

Generates N realistic mail domains as RFC 1035 master files, serves them (plus a few
shared provider zones) from ``tests/dnsserver.py`` with a fixed delay added to every
answer, runs ``dmarc-audit check`` on them as a subprocess (start-up included), and
prints domains/s, wall time and DNS queries per domain. Then runs checkdmarc 6.0.4 on
the same zones with the same server and prints the ratios against the issue's targets:

  (a) at 20 ms per answer, 200 domains (DKIM selector given with --selector): at least
      50x checkdmarc's domains/s (about 70 domains/s or more);
  (b) no delay, 40 domains, one process, start-up included: wall time at most 0.4x
      checkdmarc's, and DNS queries (``_domainkey`` lookups aside) at most 0.7x
      checkdmarc's.

This is a script that prints figures, not a test: nothing here fails a build.

checkdmarc is installed lazily into its own venv (default /tmp/bench-checkdmarc-venv),
never into the project's environment; ``--skip-checkdmarc`` skips it. checkdmarc's
``-n`` takes no port, so the DNS server listens on port 53 of 127.0.0.2 when it can
(root); otherwise it listens on a free port of 127.0.0.1 and a small driver points
dnspython's Do53 nameservers at it. The driver also makes the system resolver
unreachable from checkdmarc's process (``socket.getaddrinfo`` accepts loopback IP
literals only), so its MTA-STS policy download over HTTPS fails at once instead of
sending DNS to the machine's resolver: that step costs checkdmarc nothing here.

Usage::

    /work/venv/bin/python benchmarks/bulk_check.py --scenario both
    /work/venv/bin/python benchmarks/bulk_check.py --scenario a --domains 200 --delay-ms 20
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import dns.name  # noqa: E402

from tests.dnsserver import DnsServer  # noqa: E402

CHECKDMARC_VERSION = "6.0.4"
DEFAULT_CHECKDMARC_VENV = Path(tempfile.gettempdir()) / "bench-checkdmarc-venv"
PYCACHE = Path(tempfile.gettempdir()) / "bench-bulk-check-pycache"
SELECTOR = "s1"

# The reference figure and targets.
CHECKDMARC_REF_RATE_20MS = 1.35  # domains/s at 20 ms per answer
TARGET_A_SPEEDUP = 50.0
TARGET_A_RATE = 70.0
TARGET_B_TIME_RATIO = 0.4
TARGET_B_QUERY_RATIO = 0.7

SCENARIOS = {
    "a": {"domains": 200, "delay_ms": 20.0},
    "b": {"domains": 40, "delay_ms": 0.0},
}

# -- zone generation -------------------------------------------------------------------

DNS_HOST_ZONE = "dnshost.net"
REPORTS_ZONE = "dmarc-collector.net"
# Five mail providers shared by every domain: include targets, some nested, as real
# providers publish them (an include that itself includes a netblocks record).
PROVIDERS = [
    (
        "mailrelay-one.net",
        ["ip4:192.0.2.0/25", "ip4:192.0.2.128/26", "ip6:2001:db8:10::/48"],
        "_netblocks",
    ),
    ("sendwave.net", ["ip4:198.18.0.0/20", "ip4:198.18.16.0/21"], None),
    ("crmcloud-mail.net", ["ip4:198.18.64.0/22", "ip6:2001:db8:20::/48"], "_netblocks2"),
    (
        "officemail-cloud.net",
        ["ip4:198.18.128.0/19", "ip4:198.18.160.0/20", "ip6:2001:db8:30::/44"],
        None,
    ),
    ("newsletters-pro.net", ["ip4:198.19.0.0/21", "a:smtp.newsletters-pro.net"], None),
]


def provider_zone(name: str, mechanisms: list[str], nested: str | None) -> str:
    spf = " ".join(
        ["v=spf1", *mechanisms, *([f"include:{nested}.{name}"] if nested else []), "~all"]
    )
    lines = [
        f"$ORIGIN {name}.",
        "$TTL 3600",
        f"@ IN SOA ns1.{DNS_HOST_ZONE}. hostmaster.{name}. 2024010101 7200 3600 1209600 300",
        f"@ IN NS ns1.{DNS_HOST_ZONE}.",
        f"@ IN NS ns2.{DNS_HOST_ZONE}.",
        "@ IN A 192.0.2.10",
        f'_spf IN TXT "{spf}"',
        "smtp IN A 198.19.8.25",
    ]
    if nested:
        lines.append(f'{nested} IN TXT "v=spf1 ip4:192.0.2.192/26 ip4:198.18.96.0/21 ~all"')
    return "\n".join(lines) + "\n"


def dns_host_zone() -> str:
    return textwrap.dedent(f"""\
        $ORIGIN {DNS_HOST_ZONE}.
        $TTL 3600
        @ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
        @ IN NS ns1
        @ IN NS ns2
        ns1 IN A 192.0.2.53
        ns2 IN A 192.0.2.54
        """)


def reports_zone(domains: list[str]) -> str:
    """A DMARC report collector that authorises every domain sending it reports."""
    lines = [
        f"$ORIGIN {REPORTS_ZONE}.",
        "$TTL 3600",
        f"@ IN SOA ns1.{DNS_HOST_ZONE}. hostmaster 2024010101 7200 3600 1209600 300",
        f"@ IN NS ns1.{DNS_HOST_ZONE}.",
        "@ IN A 192.0.2.20",
        "@ IN MX 10 mx.dmarc-collector.net.",
        "mx IN A 192.0.2.21",
        f'_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:rua@{REPORTS_ZONE}"',
        '@ IN TXT "v=spf1 ip4:192.0.2.21 -all"',
    ]
    lines += [f'{d}._report._dmarc IN TXT "v=DMARC1"' for d in domains]
    return "\n".join(lines) + "\n"


def txt_strings(text: str, size: int = 255) -> str:
    return " ".join(f'"{text[i : i + size]}"' for i in range(0, len(text), size))


def domain_zone(i: int, name: str, dkim_p: str) -> str:
    """One ordinary sending domain: everything a mail audit looks at, all valid."""
    web = f"198.51.100.{1 + i % 250}"
    mx_ip = f"203.0.113.{1 + i % 250}"
    first = PROVIDERS[i % len(PROVIDERS)][0]
    includes = [f"include:_spf.{first}"]
    if i % 2:  # half the domains use a second provider
        includes.append(f"include:_spf.{PROVIDERS[(i + 2) % len(PROVIDERS)][0]}")
    spf = " ".join(["v=spf1", "mx", *includes, "-all"])
    rua = f"mailto:dmarc@{name}" if i % 2 == 0 else f"mailto:rua@{REPORTS_ZONE}"
    policy = ("reject", "quarantine", "reject", "none")[i % 4]
    dmarc = f"v=DMARC1; p={policy}; rua={rua}; adkim=r; aspf=r"
    dkim = txt_strings(f"v=DKIM1; k=rsa; p={dkim_p}")
    return textwrap.dedent(f"""\
        $ORIGIN {name}.
        $TTL 3600
        @ IN SOA ns1.{DNS_HOST_ZONE}. hostmaster.{name}. 2024010101 7200 3600 1209600 300
        @ IN NS ns1.{DNS_HOST_ZONE}.
        @ IN NS ns2.{DNS_HOST_ZONE}.
        @ IN A {web}
        www IN CNAME @
        @ IN MX 10 mx1
        mx1 IN A {mx_ip}
        @ IN TXT "{spf}"
        @ IN TXT "google-site-verification=bench{i:05d}"
        _dmarc IN TXT "{dmarc}"
        {SELECTOR}._domainkey IN TXT ( {dkim} )
        _mta-sts IN TXT "v=STSv1; id=20240115T120000Z"
        mta-sts IN A {web}
        _smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{name}"
        """)


def reverse_zones(domains: list[str]) -> dict[str, str]:
    """PTR records for the MX hosts, as a mail sender would have."""
    host = DNS_HOST_ZONE
    header = (
        f"$TTL 3600\n@ IN SOA ns1.{host}. hostmaster.{host}. 2024010101 7200 3600 "
        f"1209600 300\n@ IN NS ns1.{host}.\n"
    )
    ptr: dict[int, str] = {}
    for i, name in enumerate(domains):
        ptr.setdefault(1 + i % 250, f"mx1.{name}.")
    body = "".join(f"{octet} IN PTR {target}\n" for octet, target in sorted(ptr.items()))
    return {"113.0.203.in-addr.arpa": f"$ORIGIN 113.0.203.in-addr.arpa.\n{header}{body}"}


def dkim_public_key() -> str:
    """One RSA 2048 key, generated once and reused by every domain."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def domain_names(count: int) -> list[str]:
    words = [
        "acme",
        "globex",
        "initech",
        "umbrella",
        "hooli",
        "stark",
        "wayne",
        "wonka",
        "tyrell",
        "cyberdyne",
    ]
    return [f"{words[i % len(words)]}-bench{i:04d}.com" for i in range(count)]


def write_zones(workdir: Path, domains: list[str]) -> list[str]:
    """Write every master file; return the zone file paths for DnsServer."""
    zonedir = workdir / "zones"
    zonedir.mkdir(parents=True, exist_ok=True)
    key = dkim_public_key()
    files: dict[str, str] = {DNS_HOST_ZONE: dns_host_zone(), REPORTS_ZONE: reports_zone(domains)}
    for name, mechanisms, nested in PROVIDERS:
        files[name] = provider_zone(name, mechanisms, nested)
    files.update(reverse_zones(domains))
    for i, name in enumerate(domains):
        files[name] = domain_zone(i, name, key)
    paths = []
    for origin, text in files.items():
        path = zonedir / f"{origin}.zone"
        path.write_text(text)
        paths.append(str(path))
    (workdir / "domains.txt").write_text("".join(d + "\n" for d in domains))
    return paths


# -- running the tools -----------------------------------------------------------------


@dataclass
class Run:
    tool: str
    domains: int
    wall_s: float
    server_queries: int
    server_queries_no_dkim: int
    reported_queries: int | None = None
    reported_queries_no_dkim: int | None = None
    cpu_s: float = 0.0
    """User + system CPU time of the tool's process."""
    server_cpu_s: float = 0.0
    """CPU time the loopback DNS server spent answering it."""
    tcp_queries: int = 0
    duplicates: int = 0
    lost_answers: int = 0
    """Questions that took at least the timeout: a datagram lost, asked again."""
    elapsed_ms: tuple[float, float] = (0.0, 0.0)
    """Median and 90th percentile of the trace's per-question times (queueing included)."""
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.domains / self.wall_s


def summarize_log(server: DnsServer) -> tuple[int, int, int, int, dict[str, int]]:
    log = server.log
    no_dkim = sum(1 for e in log if "._domainkey." not in f".{e.name}.")
    tcp = sum(1 for e in log if e.transport == "tcp")
    seen = collections.Counter((e.name, e.rdtype) for e in log)
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    by_type = dict(collections.Counter(e.rdtype for e in log).most_common())
    return len(log), no_dkim, tcp, duplicates, by_type


def tool_env() -> dict[str, str]:
    """The environment both tools run in: bytecode cached as an installed package has it.

    A pip-installed package ships compiled bytecode; our editable checkout has none, and
    with PYTHONDONTWRITEBYTECODE=1 (set on some machines) every run would compile the
    package's sources again (~0.15 s). Both tools therefore read and write bytecode in
    one cache outside the work tree, warmed by an untimed run before the timed ones.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def timed(
    cmd: list[str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    """Run ``cmd``: the result, wall time, its CPU time and the DNS server's CPU time.

    The server runs in a thread of this process, which otherwise only waits, so this
    process's CPU time during the run is the server's.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = time.process_time()
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=tool_env())
    wall = time.perf_counter() - started
    server_cpu = time.process_time() - own
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc, wall, cpu, server_cpu


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values) or [0.0]
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.9)]


def dmarc_audit_command() -> list[str]:
    script = Path(sys.executable).with_name("dmarc-audit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dmarc_audit"]


def run_dmarc_audit(
    server: DnsServer, workdir: Path, domains: list[str], concurrency: int | None, timeout: float
) -> tuple[Run, dict]:
    count = len(domains)
    listfile = workdir / f"dmarc-audit-domains-{count}.txt"
    listfile.write_text("".join(d + "\n" for d in domains))
    cmd = [
        *dmarc_audit_command(),
        "check",
        "--nameserver",
        server.nameserver,
        "--selector",
        SELECTOR,
        "--format",
        "json",
        "--timeout",
        f"{timeout:g}",
        "--domains-file",
        str(listfile),
    ]
    if concurrency is not None:
        cmd += ["--concurrency", str(concurrency)]
    server.clear_log()
    proc, wall, cpu, server_cpu = timed(cmd, workdir)
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"dmarc-audit failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    doc = json.loads(proc.stdout)
    audited = len(doc["domains"])
    if audited != count:
        raise SystemExit(f"dmarc-audit audited {audited} domains, expected {count}")
    trace = doc["dns"]["trace"]
    total, no_dkim, tcp, dups, by_type = summarize_log(server)
    run = Run(
        "dmarc-audit",
        count,
        wall,
        total,
        no_dkim,
        cpu_s=cpu,
        server_cpu_s=server_cpu,
        reported_queries=doc["dns"]["queries"],
        reported_queries_no_dkim=sum(1 for t in trace if "._domainkey." not in f".{t['name']}."),
        tcp_queries=tcp,
        duplicates=dups,
        by_type=by_type,
        lost_answers=sum(1 for t in trace if t["elapsed_ms"] >= 950 * timeout),
        elapsed_ms=percentiles([t["elapsed_ms"] for t in trace]),
    )
    return run, doc


DRIVER = r'''
"""Run checkdmarc's own CLI with the system resolver out of reach (benchmark driver)."""
import ipaddress, socket, sys

_getaddrinfo = socket.getaddrinfo

def _loopback_only(host, *args, **kwargs):
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        loopback = ipaddress.ip_address(text.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise socket.gaierror(socket.EAI_NONAME, f"benchmark: no system DNS for {text!r}")
    return _getaddrinfo(host, *args, **kwargs)

socket.getaddrinfo = _loopback_only

host, port = sys.argv[1], int(sys.argv[2])
if port != 53:  # checkdmarc's -n takes no port: point its Do53 nameservers at ours
    import dns.nameserver
    _init = dns.nameserver.Do53Nameserver.__init__
    def _init_port(self, address, port=53, *args, **kwargs):
        if address == host and port == 53:
            port = PORT
        _init(self, address, port, *args, **kwargs)
    PORT = port
    dns.nameserver.Do53Nameserver.__init__ = _init_port

sys.argv = ["checkdmarc", *sys.argv[3:]]
from checkdmarc._cli import _main
sys.exit(_main())
'''


def ensure_checkdmarc(venv: Path) -> Path | None:
    """The venv's python with checkdmarc==6.0.4, installing it on first use."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('checkdmarc'))"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == CHECKDMARC_VERSION:
            return python
    print(
        f"checkdmarc {CHECKDMARC_VERSION} not found in {venv}: installing it there "
        f"(a separate venv, not the project's; --skip-checkdmarc skips this) ...",
        flush=True,
    )
    base = shutil.which("python3") or sys.executable
    steps = [
        [base, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "-q", f"checkdmarc=={CHECKDMARC_VERSION}"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            print(
                f"  could not install checkdmarc ({' '.join(step[:3])} ...):\n"
                f"{done.stderr[-2000:]}\n  skipping the comparison.",
                flush=True,
            )
            return None
    print("  installed.", flush=True)
    return python


def run_checkdmarc(
    python: Path, server: DnsServer, workdir: Path, domains: list[str], timeout: float
) -> Run:
    driver = workdir / "checkdmarc_driver.py"
    driver.write_text(DRIVER)
    listfile = workdir / f"checkdmarc-domains-{len(domains)}.txt"
    listfile.write_text("".join(d + "\n" for d in domains))
    cmd = [
        str(python),
        str(driver),
        server.host,
        str(server.port),
        "-n",
        server.host,
        "-t",
        f"{timeout:g}",
        "-f",
        "json",
        str(listfile),
    ]
    server.clear_log()
    proc, wall, cpu, server_cpu = timed(cmd, workdir)
    if proc.returncode != 0:
        raise SystemExit(f"checkdmarc failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    results = json.loads(proc.stdout)
    results = results if isinstance(results, list) else [results]
    if len(results) != len(domains):
        raise SystemExit(f"checkdmarc returned {len(results)} results, expected {len(domains)}")
    total, no_dkim, tcp, dups, by_type = summarize_log(server)
    return Run(
        "checkdmarc",
        len(domains),
        wall,
        total,
        no_dkim,
        cpu_s=cpu,
        server_cpu_s=server_cpu,
        tcp_queries=tcp,
        duplicates=dups,
        by_type=by_type,
    )


# -- reporting -------------------------------------------------------------------------


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]


def show_runs(label: str, runs: list[Run]) -> Run:
    mid = median_run(runs)
    walls = ", ".join(f"{r.wall_s:.3f}" for r in runs)
    print(
        f"  {label}: {mid.rate:8.2f} domains/s   wall {mid.wall_s:7.3f} s (median of "
        f"{len(runs)}: {walls})"
    )
    print(
        f"      CPU: {mid.cpu_s:.3f} s in the tool's process, {mid.server_cpu_s:.3f} s in "
        "the DNS server"
    )
    per = mid.domains
    line = (
        f"      queries/domain {mid.server_queries / per:6.2f} "
        f"(excluding _domainkey {mid.server_queries_no_dkim / per:6.2f}) at the server"
    )
    if mid.reported_queries is not None:
        line += (
            f"; JSON dns.queries {mid.reported_queries / per:.2f} "
            f"({mid.reported_queries_no_dkim / per:.2f} without _domainkey)"
        )
    print(line)
    print(
        f"      {mid.server_queries} questions, {mid.tcp_queries} over TCP, "
        f"{mid.duplicates} repeats of a question already asked; by type: "
        + ", ".join(f"{k} {v}" for k, v in mid.by_type.items())
    )
    if mid.reported_queries is not None:
        print(
            f"      per question (dns.trace, queueing included): median "
            f"{mid.elapsed_ms[0]:.0f} ms, p90 {mid.elapsed_ms[1]:.0f} ms; "
            f"{mid.lost_answers} took the whole timeout (lost datagram, asked again)"
        )
    return mid


def verdict(ok: bool | None) -> str:
    return "NOTE" if ok is None else "PASS" if ok else "FAIL"


@dataclass
class ScenarioResult:
    name: str
    domains: int
    delay_ms: float
    ours: Run
    theirs: Run | None
    checks: list[tuple[str, bool | None]] = field(default_factory=list)
    """(text, passed); passed is None for a note."""


def warm_up(server: DnsServer, run: object) -> None:
    """One untimed run with no delay: fills the bytecode cache and the server's memo."""
    delay, server.delay_ms = server.delay_ms, 0.0
    try:
        run()  # type: ignore[operator]
    finally:
        server.delay_ms = delay


def run_scenario(
    name: str, args: argparse.Namespace, cd_python: Path | None, workroot: Path
) -> ScenarioResult:
    count = args.domains or SCENARIOS[name]["domains"]
    delay = args.delay_ms if args.delay_ms is not None else SCENARIOS[name]["delay_ms"]
    workdir = workroot / f"scenario-{name}"
    workdir.mkdir(parents=True, exist_ok=True)
    domains = domain_names(count)
    zones = write_zones(workdir, domains)
    server = start_server(zones, delay, memo=not args.plain_server)
    print(
        f"\n== scenario ({name}): {count} domains, {delay:g} ms per answer, "
        f"server {server.nameserver} ({'plain' if args.plain_server else 'memoising'}), "
        f"{len(zones)} zones, concurrency {args.concurrency or 'default'}, load average "
        f"{os.getloadavg()[0]:.2f} ==",
        flush=True,
    )
    try:
        repeat = args.checkdmarc_repeat or (1 if delay > 0 else args.repeat)
        cd_domains = domains[: args.checkdmarc_domains] if args.checkdmarc_domains else domains

        def ours_run() -> Run:
            return run_dmarc_audit(server, workdir, domains, args.concurrency, args.timeout)[0]

        def theirs_run() -> Run:
            assert cd_python is not None
            return run_checkdmarc(cd_python, server, workdir, cd_domains, args.timeout)

        warm_up(server, ours_run)
        if cd_python is not None:
            hint = (
                f"; at 20 ms expect ~{len(cd_domains) / CHECKDMARC_REF_RATE_20MS:.0f} s each"
                if delay >= 20
                else ""
            )
            print(
                f"  runs: dmarc-audit x{args.repeat}, checkdmarc {CHECKDMARC_VERSION} on "
                f"{len(cd_domains)} domains x{repeat} (one domain after another{hint}), "
                "interleaved, after an untimed warm-up of each ...",
                flush=True,
            )
            warm_up(server, theirs_run)
        ours: list[Run] = []
        theirs: list[Run] = []
        # alternate the tools so that both see the same background load
        for i in range(max(args.repeat, repeat if cd_python is not None else 0)):
            if i < args.repeat:
                ours.append(ours_run())
            if cd_python is not None and i < repeat:
                theirs.append(theirs_run())
        mid = show_runs("dmarc-audit", ours)
        theirs_mid = show_runs("checkdmarc ", theirs) if theirs else None
    finally:
        server.stop()
        if server.errors:
            print(f"  DNS server errors: {server.errors[:5]}")
    result = ScenarioResult(name, count, delay, mid, theirs_mid)
    report_targets(result)
    return result


def report_targets(res: ScenarioResult) -> None:
    ours, theirs = res.ours, res.theirs
    if res.name == "a":
        ref = theirs.rate if theirs is not None else CHECKDMARC_REF_RATE_20MS
        src = "measured" if theirs is not None else "issue's figure"
        speedup = ours.rate / ref
        res.checks.append(
            (
                f"(a) speed-up {speedup:.1f}x checkdmarc ({src} {ref:.2f} domains/s)"
                f" >= {TARGET_A_SPEEDUP:g}x",
                speedup >= TARGET_A_SPEEDUP,
            )
        )
        res.checks.append(
            (
                f"(a) {ours.rate:.1f} domains/s >= {TARGET_A_RATE:g} domains/s",
                ours.rate >= TARGET_A_RATE,
            )
        )
        if res.delay_ms != 20 or res.domains != 200:
            res.checks.append(("(a) the target is defined at 200 domains, 20 ms", None))
    else:
        if theirs is None:
            print("  (b) needs checkdmarc's figures on the same zones: not compared")
            return
        time_ratio = ours.wall_s / (theirs.wall_s * ours.domains / theirs.domains)
        q_ours = ours.server_queries_no_dkim / ours.domains
        q_theirs = theirs.server_queries_no_dkim / theirs.domains
        q_ratio = q_ours / q_theirs
        res.checks.append(
            (
                f"(b) time {ours.wall_s:.3f} s vs {theirs.wall_s:.3f} s = "
                f"{time_ratio:.2f}x <= {TARGET_B_TIME_RATIO:g}x",
                time_ratio <= TARGET_B_TIME_RATIO,
            )
        )
        res.checks.append(
            (
                f"(b) queries/domain without _domainkey {q_ours:.2f} vs "
                f"{q_theirs:.2f} = {q_ratio:.2f}x <= {TARGET_B_QUERY_RATIO:g}x",
                q_ratio <= TARGET_B_QUERY_RATIO,
            )
        )
        if res.delay_ms != 0 or res.domains != 40:
            res.checks.append(("(b) the target is defined at 40 domains, no delay", None))
    for text, ok in res.checks:
        print(f"  {verdict(ok)}  {text}")


class MemoDnsServer(DnsServer):
    """``DnsServer`` that builds each distinct reply once and replays it.

    The zones never change during a run, so the reply to a question depends only on the
    query's bytes after its ID (question, flags, EDNS) and the transport. Building a
    reply costs tests/dnsserver.py about 0.4 ms plus ~2.5 us per zone held (it scans
    every zone for each question), i.e. ~1 ms of CPU per reply with 200 zones, and
    with asyncio's share ~1.3 ms per answer: on a 2-core machine the plain server caps
    a run near 750 answers/s, in the middle of the range being measured. Replaying
    costs ~0.1 ms, like a real resolver's cache; an untimed warm-up run of each tool
    fills the memo. Every question is still logged, and delayed, as the plain server
    does. Zones are found by walking up the name's labels instead of scanning them.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._memo: dict[tuple[bytes, str], tuple[object, bytes | None]] = {}
        self._by_origin = {zone.origin: zone for zone in self.zones}

    def _zone_for(self, name: dns.name.Name) -> object | None:
        """The zone with the longest origin covering ``name``: walk up, not scan them all."""
        while True:
            zone = self._by_origin.get(name)
            if zone is not None or len(name) <= 1:
                return zone
            name = name.parent()

    def _respond(self, data: bytes, transport: str) -> bytes | None:
        if self.silent or self.servfail or self.blackhole or len(data) < 12:
            return super()._respond(data, transport)
        key = (data[2:], transport)
        memo = self._memo.get(key)
        if memo is None:
            wire = super()._respond(data, transport)
            with self._log_lock:
                entry = self._log[-1]
            self._memo[key] = memo = (entry, wire[2:] if wire is not None else None)
            return wire
        entry, tail = memo
        with self._log_lock:
            self._log.append(entry)  # type: ignore[arg-type]
        return None if tail is None else data[:2] + tail


def start_server(zones: list[str], delay: float, memo: bool) -> DnsServer:
    """Port 53 of 127.0.0.2 so checkdmarc's -n works unpatched; else any loopback port."""
    cls = MemoDnsServer if memo else DnsServer
    common = {"delay_ms": delay, "outside": "nxdomain"}
    try:
        return cls(zones, host="127.0.0.2", port=53, **common).start()
    except (OSError, RuntimeError):
        return cls(zones, host="127.0.0.1", port=0, **common).start()


def dmarc_audit_revision() -> str:
    """The product code being measured: commit, and whether dmarc_audit/ has local changes."""

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], capture_output=True, text=True, cwd=REPO)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = git("status", "--porcelain", "--", "dmarc_audit")
    return commit + (" + uncommitted changes in dmarc_audit/" if dirty else "")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["a", "b", "both"], default="both")
    parser.add_argument(
        "--domains",
        type=int,
        default=None,
        help="domains to generate (default: 200 for a, 40 for b)",
    )
    parser.add_argument(
        "--delay-ms",
        type=float,
        default=None,
        help="delay added to every DNS answer (default: 20 for a, 0 for b)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="dmarc-audit --concurrency (default: the CLI's own default)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of dmarc-audit per scenario (median reported)"
    )
    parser.add_argument(
        "--checkdmarc-repeat",
        type=int,
        default=None,
        help="runs of checkdmarc (default: 1 with a delay, else --repeat)",
    )
    parser.add_argument(
        "--checkdmarc-domains",
        type=int,
        default=None,
        help="give checkdmarc only the first N domains (its rate is per "
        "domain, it runs them one after another)",
    )
    parser.add_argument("--skip-checkdmarc", action="store_true")
    parser.add_argument("--checkdmarc-venv", type=Path, default=DEFAULT_CHECKDMARC_VENV)
    parser.add_argument(
        "--timeout", type=float, default=2.0, help="DNS timeout given to both tools"
    )
    parser.add_argument(
        "--plain-server",
        action="store_true",
        help="use tests/dnsserver.py as it is, building every reply anew "
        "(its CPU cost then limits both tools; see MemoDnsServer)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated zones")
    args = parser.parse_args(argv)

    print(f"bulk_check: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {machine()}")
    print(f"dmarc-audit: {' '.join(dmarc_audit_command())} at {dmarc_audit_revision()}")
    cd_python = None if args.skip_checkdmarc else ensure_checkdmarc(args.checkdmarc_venv)
    workroot = Path(tempfile.mkdtemp(prefix="bench-bulk-check-"))
    results = []
    try:
        for name in ["a", "b"] if args.scenario == "both" else [args.scenario]:
            results.append(run_scenario(name, args, cd_python, workroot))
    finally:
        if args.keep:
            print(f"\nzones kept in {workroot}")
        else:
            shutil.rmtree(workroot, ignore_errors=True)
    print("\n== summary ==")
    for res in results:
        for text, ok in res.checks:
            print(f"  {verdict(ok)}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
