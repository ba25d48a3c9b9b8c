// Citation audit (issues 15, 27): a link to `sources/<slug>/?span=START-END#chunk-N` marks characters
// START..END of chunk N's text (the offsets `kb audit` prints) with <mark class="citekb-span">
// (a task file's page, `#page-N`, the same: the text of the section its heading opens),
// opens hidden boilerplate around it, and shows it: centred in the room below the theme's sticky
// header, or, when it is taller than that room, its start just under the header. Summary labels of
// collapsed boilerplate are not chunk text, so they are skipped when counting.
//
// When: the browser jumps to #chunk-N itself after DOMContentLoaded and keeps the chunk's top in
// view while the page loads, so the span is shown on `pageshow` (after `load`, and when the page
// comes back from the back/forward cache), and again when the address changes within the page
// (hashchange, popstate). The page marks what its address names. A span belongs to the chunk it came
// with: a link to another chunk (`#chunk-5`) keeps the address's query, so when the fragment alone
// changes, `span=` is dropped from the address (a reload must not mark chunk 5's characters
// START..END) and the reader lands on chunk 5's heading; going back brings the span and its mark back.
// The jump is instant: no smooth scrolling, whatever a stylesheet asks (reduced motion respected).
(function () {
  var shown = null; // what is marked: {key, marks}
  var seen = { search: location.search, hash: location.hash }; // the address last read

  function named() {
    var span = /^(\d+)-(\d+)$/.exec(new URLSearchParams(location.search).get("span") || "");
    if (!span) return null;
    var id;
    try {
      id = decodeURIComponent(location.hash.slice(1));
    } catch (error) {
      return null; // a malformed %-escape in the address: nothing to mark
    }
    return id ? { id: id, start: Number(span[1]), end: Number(span[2]), key: span[0] + "#" + id } : null;
  }

  function mark(wanted) {
    var named = document.getElementById(wanted.id); // a chunk's section, or a file page's heading in its section
    var section = named && named.closest("section");
    var body = section && section.querySelector(".citekb-text");
    var marks = [], offset = 0, nodes = [];
    if (!body) return { key: wanted.key, marks: marks };
    var walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        return node.parentElement.closest("summary") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
      },
    });
    while (walker.nextNode()) nodes.push(walker.currentNode);
    nodes.forEach(function (node) {
      var length = node.length, from = Math.max(wanted.start - offset, 0), to = Math.min(wanted.end - offset, length);
      offset += length;
      if (from >= to) return;
      var piece = node.splitText(from);
      piece.splitText(to - from);
      var mark = document.createElement("mark");
      mark.className = "citekb-span";
      piece.parentNode.replaceChild(mark, piece);
      mark.appendChild(piece);
      var hidden = mark.closest("details");
      if (hidden) hidden.open = true;
      marks.push(mark);
    });
    return { key: wanted.key, marks: marks };
  }

  function unmark(marked) {
    marked.marks.forEach(function (mark) {
      var parent = mark.parentNode;
      while (mark.firstChild) parent.insertBefore(mark.firstChild, mark);
      parent.removeChild(mark);
      parent.normalize(); // the text nodes marking split, joined again
    });
  }

  function sync() {
    var params = new URLSearchParams(location.search);
    if (params.has("span") && location.search === seen.search && location.hash !== seen.hash) {
      params.delete("span");
      var query = params.toString();
      history.replaceState(history.state, "", location.pathname + (query ? "?" + query : "") + location.hash);
    }
    seen = { search: location.search, hash: location.hash };
    var wanted = named(), had = shown && shown.marks.length;
    if (shown && (!wanted || wanted.key !== shown.key)) {
      unmark(shown);
      shown = null;
    }
    if (wanted && !shown) shown = mark(wanted);
    var has = shown && shown.marks.length;
    // Back or forward to this entry: the browser would restore where the page was after `pageshow`.
    // A span is shown instead; an entry without one (it inherits the mode) is restored as usual.
    if (had || has) history.scrollRestoration = has ? "manual" : "auto";
  }

  function show() {
    if (!shown || !shown.marks.length) return;
    var top = Infinity, bottom = -Infinity;
    shown.marks.forEach(function (mark) {
      var box = mark.getBoundingClientRect();
      top = Math.min(top, box.top);
      bottom = Math.max(bottom, box.bottom);
    });
    var header = document.querySelector(".md-header");
    var above = header ? Math.max(header.getBoundingClientRect().bottom, 0) : 0;
    var room = document.documentElement.clientHeight - above;
    var gap = parseFloat(getComputedStyle(shown.marks[0]).fontSize); // above a span taller than the room
    var height = bottom - top;
    var to = height + 2 * gap <= room ? above + (room - height) / 2 : above + gap;
    try {
      window.scrollBy({ top: top - to, behavior: "instant" });
    } catch (error) {
      window.scrollBy(0, top - to); // a browser that predates "instant"
    }
  }

  function moved() {
    sync();
    show();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", sync);
  else sync();
  window.addEventListener("pageshow", show);
  window.addEventListener("hashchange", moved);
  window.addEventListener("popstate", moved);
})();
