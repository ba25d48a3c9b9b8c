/* The sources index's filter box (render/sources.py filter_html): as one types, the rows of the
 * index's tables that hold every word typed (case, width, accents and Traditional characters folded:
 * the box carries the search's table) stay, the others are
 * hidden, and a status line says how many are shown. The box is hidden in the page and shown here:
 * without scripts the index is whole. Each row's text is read once; a keystroke goes through the
 * rows once (927 on the imported pipeline). */
(() => {
  if (window.citekbFilter) return  // loaded once per document, even if a page swap re-runs scripts
  window.citekbFilter = true

  function setUp() {
    const box = document.querySelector("p.citekb-filter")
    if (!box || box.dataset.ready) return
    box.dataset.ready = "1"
    const plain = Array.from(box.dataset.simplified || "")
    const simplifiedOf = new Map(Array.from(box.dataset.traditional || "", (c, i) => [c, plain[i]]))
    const fold = text => Array.from(text.normalize("NFKD").replace(/\p{M}/gu, "").toLocaleLowerCase(),
                                    c => simplifiedOf.get(c) ?? c).join("")
    const input = box.querySelector("input")
    const count = box.querySelector(".citekb-filter-count")
    const rows = [...document.querySelectorAll("table.citekb-filtered tbody tr")]
      .map(row => [row, fold(row.textContent)])
    const say = shown => {
      count.textContent = input.value.trim()
        ? input.dataset.shown.replace("{shown}", shown).replace("{total}", rows.length) : ""
    }
    input.addEventListener("input", () => {
      const words = fold(input.value).split(/\s+/).filter(Boolean)
      let shown = 0
      for (const [row, text] of rows) {
        const keep = words.every(word => text.includes(word))
        row.hidden = !keep
        shown += keep
      }
      say(shown)
    })
    box.hidden = false
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp)
  else setUp()
  if (window.document$) window.document$.subscribe(setUp)  // Material's instant navigation: a new page
})()
