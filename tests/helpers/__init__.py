"""Shared test helpers, imported as ``helpers.<module>``: synthetic records (``records``), suites and
subprocess drivers for executor tests (``runs``), run specs (``specs``) and the CLI runner (``cli``)."""
