"""Pure record parsers: text in, frozen dataclasses and syntax problems out. No I/O."""
