"""Who sends as a domain: named senders, the evidence that names them, their state and fix.

``providers.yaml`` (shipped data) describes the mail services; :mod:`.providers`
reads it, :mod:`.naming` names a source IP from evidence (the policy file's
``senders:``, the domain's SPF tree, the authentication domains of the reports,
reverse DNS and origin AS with ``--resolve``), and :mod:`.table` folds the
summary's sources into one row per sender with its state and one-line fix.
"""
