/* The citations a reader should check, one after another (issue 27). On a report page, `n` / `p`
 * and the pair of buttons the page carries (render.checks_html: a <nav class="citekb-check">, hidden
 * until this script shows it) move to the next / previous citation of the final report that is not
 * supported: partial, unsupported, or unresolved. The citation is scrolled to the middle of the
 * screen and focused (so its preview opens, except after a tap), and a status line says which one
 * it is, of how many; past the last one it starts again from the first (and says so). The
 * summary's figures (render.reports.summary_html: by verdict, status, audit flag) land on the first
 * citation of their kind the same way (without this script they follow their link to its bracket).
 *
 * Where to go from: the focused citation, else the last one reached while it is still on screen,
 * else the reading position (the first one below the header for `n`, the last one above it for `p`).
 * Keys are left alone while typing (search box, any field) and with Ctrl, Alt or Meta. */
(() => {
  if (window.citekbEvidence) return  // loaded once per document, even if a page swap re-runs scripts
  window.citekbEvidence = true

  const TO_CHECK = '[data-verdict="partial"], [data-verdict="unsupported"], [data-status]:not([data-status="resolved"])'
  const KIND = {
    supported: '[data-verdict="supported"]',
    partial: '[data-verdict="partial"]',
    unsupported: '[data-verdict="unsupported"]',
    unresolved: '[data-status]:not([data-status="resolved"])',
  }
  let current = null

  /* The citations a summary figure counts: by verdict (or all the unresolved), by status, by the
   * audit's flag. */
  function kindOf(count) {
    const { verdict, status, audit } = count.dataset
    if (verdict) return KIND[verdict]
    if (status) return `[data-status="${CSS.escape(status)}"]`
    if (audit) return `[data-audit="${CSS.escape(audit)}"]`
    return null
  }

  const nav = () => document.querySelector("nav.citekb-check")
  const cites = selector => {
    const report = document.querySelector('.citekb-report[data-section="final"]')
    if (!report) return []
    return [...report.querySelectorAll(".citekb-cite")].filter(cite => cite.matches(selector))
  }

  function headerBottom() {
    const header = document.querySelector(".md-header")
    return header ? Math.max(header.getBoundingClientRect().bottom, 0) : 0
  }

  const onScreen = cite => {
    const r = cite.getBoundingClientRect()
    return r.bottom > headerBottom() && r.top < window.innerHeight
  }

  /* The index of the citation to go to, and whether the way there passed an end of the list. */
  function next(list, step) {
    let at = list.indexOf(document.activeElement)
    if (at < 0 && current && current.isConnected && onScreen(current)) at = list.indexOf(current)
    if (at < 0) {
      const top = headerBottom()
      const tops = list.map(cite => cite.getBoundingClientRect().top)
      if (step > 0) {
        const below = tops.findIndex(y => y >= top)
        return below < 0 ? [0, true] : [below, false]
      }
      const above = tops.findLastIndex(y => y < top)
      return above < 0 ? [list.length - 1, true] : [above, false]
    }
    const to = at + step
    if (to >= list.length) return [0, true]
    if (to < 0) return [list.length - 1, true]
    return [to, false]
  }

  function land(cite) {
    if (current) current.classList.remove("citekb-current")
    current = cite
    cite.classList.add("citekb-current")
    centre(cite)
    cite.focus({ preventScroll: true })
  }

  function centre(cite) {
    cite.scrollIntoView({ block: "center", behavior: "instant" })
    reveal(cite)
  }

  // A citation in a table wider than the page scrolls sideways with it: its cell is brought into
  // view whole where the cell fits, else from the citation on, so that the citation and its flag
  // (the element after it) are read together, not cut at the table's edge.
  function reveal(cite) {
    let wrap = cite.parentElement
    while (wrap && !(/auto|scroll/.test(getComputedStyle(wrap).overflowX) && wrap.scrollWidth > wrap.clientWidth)) {
      wrap = wrap.parentElement
    }
    if (!wrap) return
    const box = wrap.getBoundingClientRect(), cell = (cite.closest("td, th") || cite).getBoundingClientRect()
    let left = cell.left, right = cell.right
    if (right - left > wrap.clientWidth) {
      left = cite.getBoundingClientRect().left
      right = left + wrap.clientWidth
    }
    if (right > box.left + wrap.clientWidth) wrap.scrollLeft += right - (box.left + wrap.clientWidth)
    else if (left < box.left) wrap.scrollLeft -= box.left - left
  }

  function describe(cite, bar) {
    const verdict = cite.querySelector(".citekb-verdict em")
    const label = cite.querySelector(".citekb-cite-label")
    const what = label ? label.textContent.replace(/^⚠\s*/, "") : ""
    return `${verdict ? verdict.textContent : bar.dataset.unresolved} ${what}`.trim()
  }

  function announce(bar, list, at, wrapped, step) {
    const fill = text => text.replace("{n}", at + 1).replace("{total}", list.length)
    bar.querySelector(".citekb-check-position").textContent = fill(bar.dataset.position)
    const status = bar.querySelector('[role="status"]')
    const text = fill(bar.dataset.announce).replace("{what}", describe(list[at], bar)) +
      (wrapped ? (step > 0 ? bar.dataset.wrapped : bar.dataset.wrappedBack) : "")
    status.textContent = ""  // the same line again (a list of one) is announced again
    setTimeout(() => { status.textContent = text }, 50)
  }

  function go(step) {
    const bar = nav(), list = cites(TO_CHECK)
    if (!bar || !list.length) return
    const [at, wrapped] = next(list, step)
    land(list[at])
    announce(bar, list, at, wrapped, step)
  }

  function show() {
    for (const bar of document.querySelectorAll("nav.citekb-check")) bar.hidden = false
  }

  document.addEventListener("keydown", event => {
    if (event.key !== "n" && event.key !== "p") return
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing || event.defaultPrevented) return
    const target = event.target
    if (target instanceof Element &&
        target.closest('input, textarea, select, [contenteditable]:not([contenteditable="false"]), .md-search')) return
    if (!nav()) return
    event.preventDefault()
    event.stopPropagation()  // Material's own `n` / `p` (next / previous page) listens on window
    go(event.key === "n" ? 1 : -1)
  })

  document.addEventListener("click", event => {
    if (!(event.target instanceof Element)) return
    const button = event.target.closest("nav.citekb-check button[data-step]")
    if (button) return go(Number(button.dataset.step))
    const count = event.target.closest(".citekb-checks a.citekb-count")
    const selector = count && kindOf(count)
    const first = selector && cites(selector)[0]
    if (!first) return
    event.preventDefault()
    land(first)
    const bar = nav(), list = cites(TO_CHECK), at = list.indexOf(first)
    if (bar && at >= 0) announce(bar, list, at, false, 1)
  })

  // A citation the address names (the health page's claims to check link to them) is centred as
  // n / p centre one, the sentence it stands for in view above it, not left just under the header
  // where the browser's own jump puts it: on `pageshow`, which comes after that jump, and on
  // `hashchange`. A page restored from the back/forward cache keeps where the reader left it.
  function arrive(event) {
    if (event && event.persisted) return
    let id
    try {
      id = decodeURIComponent(location.hash.slice(1))
    } catch (error) {
      return  // a malformed %-escape in the address: nothing to find
    }
    const cite = id && document.getElementById(id)
    if (cite && cite.matches(".citekb-cite")) centre(cite)
  }

  window.addEventListener("pageshow", arrive)
  window.addEventListener("hashchange", () => arrive())

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", show)
  else show()
  if (window.document$) window.document$.subscribe(show)  // Material's instant navigation: a new page
})()
