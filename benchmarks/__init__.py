"""Benchmarks of the knowledge base: scale (`kb bench`), search quality and speed, the citation audit.

Kept out of `build_tools` so the library and the `kb` command do not load them until one is run;
`browser` is the one helper for serving a built site and driving chromium, used by the benches,
the tests and scripts/screenshots.py.
"""
