"""Allow ``python -m dmarc_audit``."""

from dmarc_audit.cli.app import main

if __name__ == "__main__":
    main()
