"""Named senders: the provider data file, naming from evidence, states and fixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmarc_audit.config import load_config
from dmarc_audit.reports.store import Store
from dmarc_audit.reports.summary import PeriodFilter, build_summary
from dmarc_audit.senders.providers import catalog, parse_catalog
from dmarc_audit.senders.report import with_senders
from dmarc_audit.senders.table import SenderState
from tests.test_reports_store import agg, dkim, rec, spf


def test_every_provider_entry_is_well_formed() -> None:
    cat = catalog()
    assert len(cat.providers) >= 20
    for p in cat.providers:
        assert p.name and (p.spf_includes or p.domains or p.ptr_suffixes), p.id
        if p.dkim is not None:
            step = p.dkim.filled("shop.example")
            assert "shop.example" in step.record and "{" not in step.record, p.id
    with pytest.raises(ValueError, match="kebab-case"):
        parse_catalog({"providers": [{**_entry(), "id": "Bad Id"}]})


def _entry() -> dict:
    return {
        "id": "x",
        "name": "X",
        "kind": "esp",
        "spf_includes": [],
        "domains": ["x.example"],
        "ptr_suffixes": [],
        "asns": [],
        "selectors": [],
        "dkim": None,
        "return_path": None,
    }


def test_policy_file_senders(tmp_path: Path) -> None:
    path = tmp_path / "dmarc-audit.yaml"
    path.write_text("senders:\n  Franchise Lyon: 192.0.2.16/28\n  CRM: {includes: [crm.example]}\n")
    senders = load_config(path).senders
    assert [s.name for s in senders] == ["Franchise Lyon", "CRM"]
    assert str(senders[0].networks[0]) == "192.0.2.16/28"
    assert senders[1].includes == ("crm.example",)


def test_senders_named_offline_with_state_and_fix(tmp_path: Path, store_target: str) -> None:
    path = tmp_path / "dmarc-audit.yaml"
    path.write_text("senders:\n  Franchise Lyon: 192.0.2.16/28\n")
    declared = load_config(path).senders
    with Store(store_target) as store:
        for day in range(8):
            store.add(
                agg(
                    [
                        rec("192.0.2.1", 1000, auth=(dkim("shop.example"), spf("shop.example"))),
                        rec(
                            "203.0.113.7",
                            300,
                            dkim_al="fail",
                            spf_al="fail",
                            auth=(dkim("sendgrid.net"), spf("em.sendgrid.net")),
                        ),
                        rec(
                            "192.0.2.23",
                            40,
                            dkim_al="fail",
                            spf_al="fail",
                            auth=(spf("shop.example", "fail"),),
                        ),
                        rec(
                            "198.51.100.9",
                            50,
                            dkim_al="fail",
                            spf_al="fail",
                            auth=(spf("shop.example", "fail"),),
                        ),
                        rec("198.51.100.50", 20, dkim_al="fail", spf_al="fail"),
                    ],
                    report_id=f"g{day}",
                    day=day,
                )
            )
        summary = with_senders(store, build_summary(store, PeriodFilter()), declared)
    rows = {r.name: r for r in summary.senders}
    sendgrid = rows["SendGrid"]
    assert sendgrid.state is SenderState.NOT_ALIGNED
    assert sendgrid.fix is not None and "DKIM signs d=sendgrid.net" in sendgrid.fix
    assert (
        sendgrid.record
        == "s1._domainkey.shop.example. CNAME s1.domainkey.u<id>.wl<n>.sendgrid.net."
    )
    lyon = rows["Franchise Lyon"]
    assert lyon.state is SenderState.NOT_AUTHORISED and lyon.record == "ip4:192.0.2.16/28"
    spoof = rows["unnamed sources (spoofing)"]
    assert spoof.ips == ("198.51.100.9",) and spoof.state is SenderState.SPOOFING
    assert rows["unnamed sources (unknown)"].state is SenderState.UNKNOWN
    assert rows["unnamed sources (passes aligned)"].state is SenderState.ALIGNED
    doc = summary.to_json()
    assert doc["senders"][0]["name"] == "unnamed sources (passes aligned)"
    assert all("d=" not in (r.fix or "").replace("d=sendgrid", "") for r in summary.senders)
