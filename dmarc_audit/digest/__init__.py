"""The digest: posture changes and report figures, mailed on a schedule.

- :mod:`.snapshot` keeps what each audit run found (findings, record texts) in the
  report store, and the "last digest" marker of each recipient list.
- :mod:`.posture` and :mod:`.changes` turn snapshots into "posture now" and "what
  changed since the last digest".
- :mod:`.figures` reads the period's aggregate-report figures (through
  :mod:`dmarc_audit.reports.summary`) and the daily series for the chart.
- :mod:`.build` puts one digest together; :mod:`.compose` writes the message
  (text, HTML and the :mod:`.chart` PNGs); :mod:`.send` delivers it over SMTP.

docs/digest.md describes the command and the store tables.
"""
