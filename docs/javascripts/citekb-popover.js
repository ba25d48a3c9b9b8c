/* Citation previews as one popover: kept inside the viewport (below the citation, scrolling in the
 * room there, or above only when too little is left below: above, it covers the claim; shifted off
 * the side edges; never under the sticky header), with an
 * open link in its header. Mouse: hover. Keyboard: focus shows it, Escape closes it. Touch: the
 * first tap shows it, a second tap (or a tap on the open link) follows the citation.
 *
 * The preview itself is rendered into each citation (render.preview_html), so without this script
 * the CSS hover box still shows it. Listeners are delegated to `document`, so pages swapped in by
 * Material's instant navigation work as full page loads do. */
(() => {
  if (window.citekbPopover) return  // loaded once per document, even if a page swap re-runs scripts
  window.citekbPopover = true
  document.documentElement.classList.add("citekb-js")  // the CSS hover box gives way to the popover

  const GAP = 6, MARGIN = 8, HIDE_DELAY = 200, MIN_BELOW = 160  // px
  const popover = document.createElement("div")
  popover.className = "citekb-popover"
  popover.id = "citekb-popover"
  popover.setAttribute("role", "tooltip")
  popover.hidden = true
  let current = null, hideTimer = 0, pointer = "", openAtPress = null

  const citeOf = node => node instanceof Element ? node.closest(".citekb-cite") : null
  const inPopover = node => node instanceof Node && popover.contains(node)

  function show(cite, point) {
    clearTimeout(hideTimer)
    if (current === cite && !popover.hidden) return
    hide()
    const preview = cite.querySelector(".citekb-preview")
    if (!preview) return
    popover.replaceChildren(...preview.cloneNode(true).childNodes)
    const head = popover.querySelector(".citekb-preview-head")
    if (head && cite.hasAttribute("href")) {
      const open = document.createElement("a")
      open.className = "citekb-popover-open"
      open.setAttribute("href", cite.getAttribute("href"))
      if (cite.rel) open.rel = cite.rel
      open.textContent = head.dataset.open
      head.append(" · ", open)
    }
    if (!popover.isConnected) document.body.append(popover)
    current = cite
    cite.setAttribute("aria-describedby", popover.id)
    popover.hidden = false
    place(point)
  }

  function hide() {
    clearTimeout(hideTimer)
    if (current) current.removeAttribute("aria-describedby")
    current = null
    popover.hidden = true
  }

  const hideSoon = () => { clearTimeout(hideTimer); hideTimer = setTimeout(hide, HIDE_DELAY) }

  /* The citation's line box nearest the pointer (an unresolved citation can wrap); without a pointer
     (focus, n / p), the whole citation: the preview then opens under its last line or over its
     first, covering none of it. */
  function anchorRect(point) {
    const rects = [...current.getClientRects()]
    if (!rects.length || !point) return current.getBoundingClientRect()
    return rects.reduce((best, r) =>
      Math.abs((r.top + r.bottom) / 2 - point.y) < Math.abs((best.top + best.bottom) / 2 - point.y) ? r : best)
  }

  function place(point) {
    const r = anchorRect(point)
    const header = document.querySelector(".md-header")
    const top = Math.max(header ? header.getBoundingClientRect().bottom : 0, 0) + MARGIN
    const width = document.documentElement.clientWidth, height = window.innerHeight
    if (r.bottom < top || r.top > height) return hide()  // scrolled out of sight
    popover.style.setProperty("--citekb-room", "none")
    popover.style.setProperty("--citekb-width", `${width - 2 * MARGIN}px`)
    popover.style.left = popover.style.top = "0px"
    const below = height - MARGIN - r.bottom - GAP, above = r.top - GAP - top
    // Below the citation whenever there is room to read in (it scrolls): above, it would cover the claim
    const downward = popover.offsetHeight <= below || below >= Math.min(above, MIN_BELOW)
    popover.style.setProperty("--citekb-room", `${Math.max(downward ? below : above, 0)}px`)
    const y = downward ? r.bottom + GAP : r.top - GAP - popover.offsetHeight
    const x = Math.min(Math.max(r.left, MARGIN), width - MARGIN - popover.offsetWidth)
    popover.style.left = `${Math.max(x, MARGIN)}px`
    popover.style.top = `${y}px`
    popover.dataset.side = downward ? "below" : "above"
  }

  document.addEventListener("pointerover", event => {
    if (event.pointerType === "touch") return
    const cite = citeOf(event.target)
    if (cite) show(cite, { y: event.clientY })
    else if (inPopover(event.target)) clearTimeout(hideTimer)
  })
  document.addEventListener("pointerout", event => {
    if (event.pointerType === "touch" || !current) return
    const to = event.relatedTarget
    if (citeOf(to) !== current && !inPopover(to)) hideSoon()
  })

  document.addEventListener("pointerdown", event => {
    pointer = event.pointerType
    openAtPress = popover.hidden ? null : current
    if (!citeOf(event.target) && !inPopover(event.target)) hide()
  })
  document.addEventListener("keydown", event => {
    pointer = ""
    if (event.key === "Escape" && current) {
      const cite = current
      hide()
      if (document.activeElement !== cite && inPopover(document.activeElement)) cite.focus()
    }
  })
  document.addEventListener("click", event => {
    const cite = citeOf(event.target)
    if (!cite || pointer !== "touch") return
    if (openAtPress !== cite) {  // first tap: preview only
      event.preventDefault()
      show(cite, { y: event.clientY })
    } else if (!cite.hasAttribute("href")) {
      hide()  // second tap on a citation that links nowhere
    }
  })

  document.addEventListener("focusin", event => {
    const cite = citeOf(event.target)
    if (cite && pointer !== "touch") show(cite)
  })
  document.addEventListener("focusout", event => {
    if (citeOf(event.target) === current && !inPopover(event.relatedTarget) && citeOf(event.relatedTarget) !== current)
      hideSoon()
  })
  popover.addEventListener("pointerleave", event => { if (event.pointerType !== "touch") hideSoon() })

  window.addEventListener("scroll", event => { if (current && !inPopover(event.target)) place() },
                          { passive: true, capture: true })
  window.addEventListener("resize", hide)
  if (window.document$) window.document$.subscribe(hide)  // Material's instant navigation: a new page
})()
