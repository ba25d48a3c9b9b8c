"""MkDocs hooks: registers the Citekb plugin (hooks/citekb_plugin.py), which runs the build_tools
pipeline from MkDocs events. mkdocs.yml names this file; MkDocs registers a hook module's `on_*` names
as a plugin's events, so each is one event of a single plugin object.

on_startup    notes `serve` and `--dirty`; while serving, chunks, segmentation and what each page read stay in
              memory between rebuilds, and cycles are collected after each build rather than during it
on_config     checks the settings (extra.citekb: sources, search, audit, cache; each overridden by its
              $CITEKB_SOURCES, $CITEKB_SEARCH, $CITEKB_AUDIT, $CITEKB_CACHE) and finds the knowledge-base
              folder; pins the build date
on_pre_build  waits for a background index still being written; moves the old site aside, deleted beside the build
on_files      builds the knowledge base, audits its citations (extra.citekb.audit) and adds every generated page and file
on_nav        keeps the navigation, for the pages written by a second process
on_env        compiles the theme's templates once, into .cache/citekb/templates/; forks the process
              that writes every second generated page while MkDocs writes the rest
on_pre_page   a generated page skips MkDocs' reading and Markdown step: its HTML is ours; a page whose
              output the last plain build stored, unchanged, is not rendered (citekb_outputs.py)
on_page_*     fills generated pages with their HTML; the theme's page around it comes from a frame
              (hooks/citekb_frames.py), learnt once per kind of page and checked against full renders
on_post_page  the page's Content-Security-Policy and referrer policy (build_tools/csp.py); not while
              serving; a plain build stores the page's output (extra.citekb.reuse, $CITEKB_REUSE)
on_post_template the same for the theme's 404.html
on_post_build writes each report's exports and the prebuilt search index (search/citekb/); while serving,
              in the background, then collects the build's cycles
on_serve      watches the knowledge-base folder, so edited sources show up without a restart
on_shutdown   gives back the automatic cycle collection serving paused (it collects after each build)

`mkdocs serve --dirty` re-renders only the pages whose inputs changed: each rebuild compares what
every generated page reads (a source's text and backlinks, a report's citations, audits and cited
texts, the whole knowledge base for the index, health and comparison pages) with what it read when
it was last written, and gives MkDocs only the changed pages (and the nav's pages, as they are).
`mkdocs build --dirty`, one process per build, backs each generated page by a stub file under
.cache/citekb/pages/ holding a fingerprint of those inputs, rewritten only when it changes, so
MkDocs' modification-time test skips every other page. Each stub is written when MkDocs asks
whether its page changed, in page order: after the source pages, the report and health pages,
whose fingerprints wait for the audits.

Task files are copied from the knowledge-base folder only while they are still in it: one removed
or replaced by a link to elsewhere since it was read is reported, not copied.
"""

from citekb_plugin import CitekbPlugin

plugin = CitekbPlugin()

on_startup = plugin.on_startup
on_config = plugin.on_config
on_pre_build = plugin.on_pre_build
on_files = plugin.on_files
on_nav = plugin.on_nav
on_env = plugin.on_env
on_pre_page = plugin.on_pre_page
on_page_markdown = plugin.on_page_markdown
on_page_content = plugin.on_page_content
on_page_context = plugin.on_page_context
on_post_page = plugin.on_post_page
on_post_template = plugin.on_post_template
on_post_build = plugin.on_post_build
on_serve = plugin.on_serve
on_shutdown = plugin.on_shutdown
