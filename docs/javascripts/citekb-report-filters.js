/* The reports index's filters (issue 28): task, model, context size and status. The page carries a
 * hidden <form class="citekb-filters"> (render/reports.filters) with one <select data-facet> per
 * facet; each report row carries its values as data-task, data-model, data-context, data-status.
 * This script shows the form and hides the rows that do not match every chosen value, and a task
 * whose rows are all hidden; a status line says how many are shown. Without it the page is the whole
 * list. The choice is kept in the address (?task=001&status=truncated), so a filtered list can be
 * linked to and survives going back. */
(() => {
  if (window.citekbReportFilters) return  // loaded once per document
  window.citekbReportFilters = true

  function start() {
    const form = document.querySelector("form.citekb-filters")
    if (!form) return
    const selects = [...form.querySelectorAll("select[data-facet]")]
    const rows = [...document.querySelectorAll("tr[data-status]")]
    const none = document.querySelector(".citekb-filters-none")
    const output = form.querySelector("output")
    const params = new URLSearchParams(location.search)
    for (const select of selects) {
      const wanted = params.get(select.dataset.facet)
      if (wanted !== null && [...select.options].some(option => option.value === wanted)) select.value = wanted
    }

    function apply() {
      const chosen = selects.filter(select => select.value).map(select => [select.dataset.facet, select.value])
      let shown = 0
      for (const row of rows) {
        row.hidden = !chosen.every(([facet, value]) => row.dataset[facet] === value)
        if (!row.hidden) shown += 1
      }
      for (const section of document.querySelectorAll("section.citekb-task")) {
        section.hidden = !section.querySelector("tr[data-status]:not([hidden])")
      }
      if (none) none.hidden = shown > 0
      output.textContent = form.dataset.shown.replace("{shown}", shown).replace("{total}", rows.length)
      const query = new URLSearchParams(chosen)
      history.replaceState(null, "", (query.toString() ? `?${query}` : location.pathname) + location.hash)
    }

    form.addEventListener("change", apply)
    form.addEventListener("submit", event => event.preventDefault())
    form.hidden = false
    apply()
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start)
  else start()
})()
