"""Screenshots of a built site at desktop and phone widths, so anyone can look at what we built.

    .venv/bin/python scripts/screenshots.py SITE_DIR [--out .cache/screenshots] [PAGE ...]

PAGE is a site path (`reports/x/`); by default the home page, the sources and reports indexes, the
health and comparison pages, and the first source, file and report pages found. Each is taken at
1280×900 and 390×844 (full page), and a page wider than its viewport is named on the console. A
report page is also taken with a preview open (`-preview`, the screen only): that of the first
citation to check, reached with `n`, else of its first citation. `--dark` takes them as a reader
whose system is set to dark sees them (prefers-color-scheme: dark; the site turns slate), named `-dark`.
The pictures are not committed (.cache/ is ignored).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.browser import chromium, launch, serve  # noqa: E402

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def default_pages(site: Path) -> list[str]:
    pages = ["", "sources/", "reports/", "health/", "stats/"]
    sources = sorted(p.parent.name for p in (site / "sources").glob("*/index.html"))
    first_file = next((s for s in sources if s.startswith("file-")), None)
    first_source = next((s for s in sources if not s.startswith("file-")), None)
    pages += [f"sources/{s}/" for s in (first_source, first_file) if s]
    reports = sorted(p.parent.name for p in (site / "reports").glob("*/index.html"))
    pages += [f"reports/{reports[0]}/"] if reports else []
    return [p for p in pages if (site / p / "index.html").is_file()]


def preview(tab) -> bool:
    """Opens a citation's preview on a report page: `n` goes through the citations to check
    (citekb-evidence.js) up to the first audited one, whose preview names the facts; without any,
    the first citation is focused. False on other pages."""
    to_check = tab.locator(
        '.citekb-report[data-section="final"] .citekb-cite[data-verdict]:not([data-verdict="supported"])'
    )
    if tab.locator("nav.citekb-check:not([hidden])").count() and to_check.count():
        while not tab.evaluate("document.activeElement.matches('.citekb-cite[data-verdict]')"):
            tab.keyboard.press("n")
    elif tab.locator(".citekb-cite").count():
        tab.locator(".citekb-cite").first.focus()
    else:
        return False
    tab.locator(".citekb-popover").wait_for(state="visible")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("pages", nargs="*")
    parser.add_argument("--out", type=Path, default=Path(".cache/screenshots"))
    parser.add_argument("--dark", action="store_true", help="emulate a system set to dark (prefers-color-scheme)")
    args = parser.parse_args()
    if not chromium():
        print("screenshots: Debian chromium is not installed (make chromium)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    pages = args.pages or default_pages(args.site)
    with serve(args.site) as url, sync_playwright() as playwright:
        browser = launch(playwright)
        for name, (width, height) in WIDTHS.items():
            scheme = "dark" if args.dark else "light"
            tab = browser.new_page(viewport={"width": width, "height": height}, color_scheme=scheme)
            for path in pages:
                tab.goto(f"{url}/{path}")
                wide = tab.evaluate("document.documentElement.scrollWidth")
                picture = args.out / f"{(path.strip('/') or 'home').replace('/', '_')}-{name}{'-dark' * args.dark}.png"
                tab.screenshot(path=str(picture), full_page=True)
                note = f"  OVERFLOWS: {wide}px wide" if wide > width else ""
                print(f"{picture}{note}")
                if preview(tab):
                    picture = picture.with_name(picture.stem + "-preview.png")
                    tab.screenshot(path=str(picture))
                    print(picture)
            tab.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
