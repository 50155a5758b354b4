"""``reports summary --format html``: one self-contained file, rendered in headless Chromium.

Chromium (scripts/test-packages.txt) loads the page with every request sent to a
proxy on loopback that records them and answers 404: the page must render its key
figures and make no request. Chromium itself asks its own services (the network
time, the component updater) whatever the page holds; those requests, to Google's
update hosts only, are left out. A control page with one remote image proves the
recorder sees a page's request.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmarc_audit.output.summary_html import CHART_FONT, CHART_W
from dmarc_audit.reports.store import Store
from tests.cli_helpers import run_cli
from tests.test_senders_fixtures import DAYS, POLICY, SENDGRID, _records, agg

NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
BROWSER_OWN = re.compile(
    rb"^(GET|POST|CONNECT) (https?://)?[a-z0-9.-]*\.(google\.com|googleapis\.com|gvt1\.com)[:/]"
)


class RequestRecorder:
    """A TCP listener on 127.0.0.1 that counts connections (the browser's proxy)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    self.requests.append(conn.recv(4096))
                    conn.sendall(NOT_FOUND)
                except OSError:
                    self.requests.append(b"")

    @property
    def page_requests(self) -> list[bytes]:
        """The requests, less Chromium's own to its update and time services."""
        return [r for r in self.requests if not BROWSER_OWN.search(r.split(b"\r\n", 1)[0])]

    def __enter__(self) -> RequestRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def recorder() -> Iterator[RequestRecorder]:
    with RequestRecorder() as r:
        yield r


def chromium(page: Path, recorder: RequestRecorder, *args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "chromium is not installed: run scripts/install-test-deps.sh"
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            f"--user-data-dir={page.parent / 'chromium-profile'}",
            f"--proxy-server=http://127.0.0.1:{recorder.port}",
            "--proxy-bypass-list=<-loopback>",
            "--enable-logging=stderr",
            "--virtual-time-budget=3000",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.fixture
def report(tmp_path: Path) -> Path:
    db = tmp_path / "reports.sqlite3"
    with Store(db) as store:
        for day in range(DAYS):
            store.add(agg(_records(), report_id=f"g{day}", day=day))
    policy = tmp_path / "dmarc-audit.yaml"
    policy.write_text(POLICY)
    out = tmp_path / "report.html"
    run = run_cli(
        "reports",
        "summary",
        "--db",
        str(db),
        "--config",
        str(policy),
        "--format",
        "html",
        "--output",
        str(out),
    )
    assert run.code == 0, run.err
    assert run.out == ""  # the page went to the file
    assert "DMARC pass" in run.err
    return out


def test_the_page_is_one_self_contained_file(report: Path) -> None:
    html = report.read_text()
    assert html.startswith("<!doctype html>")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"https?://", html)
    assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.IGNORECASE)
    assert not re.search(r"\b(src|href)=", html) and "@import" not in html
    assert "<svg" in html and 'name="viewport"' in html


def test_rendered_in_chromium_with_no_request(
    report: Path, recorder: RequestRecorder, tmp_path: Path
) -> None:
    run = chromium(report, recorder, "--dump-dom", "--window-size=1280,1800")
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert '<div class="big" id="pass-rate">59.6%</div>' in dom
    assert "of 17,440 messages pass DMARC" in dom
    assert "Do this first:" in dom and "SendGrid: DKIM signs d=sendgrid.net" in dom
    assert "<code>s1._domainkey.shop.example. CNAME s1.domainkey.u&lt;id&gt;" in dom
    assert SENDGRID in dom and "Franchise Lyon" in dom and "not authorised" in dom
    assert "Ready to enforce?" in dom and "not ready for p=quarantine" in dom
    assert dom.count("<rect ") == DAYS  # one bar per day
    assert "pass-rate axis starts at 50%" in dom
    for shot, size in (("phone.png", "400,1600"), ("desktop.png", "1280,1800")):
        out = tmp_path / shot
        snap = chromium(report, recorder, f"--screenshot={out}", f"--window-size={size}")
        assert snap.returncode == 0, snap.stderr[-2000:]
        assert out.stat().st_size > 10_000
    assert "Refused to" not in run.stderr  # no CSP violation
    assert "Uncaught" not in run.stderr
    assert recorder.page_requests == []


def test_the_request_recorder_sees_a_remote_image(
    tmp_path: Path, recorder: RequestRecorder
) -> None:
    page = tmp_path / "control.html"
    page.write_text('<!doctype html><img src="http://images.example/x.png">')
    run = chromium(page, recorder, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert any(b"images.example" in r for r in recorder.page_requests), recorder.requests


def test_chart_text_is_legible_on_a_phone() -> None:
    """At 400 px wide the chart is drawn about 380 px wide (10 px padding each side)."""
    assert CHART_FONT * 380 / CHART_W >= 12
