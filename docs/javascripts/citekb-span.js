// Citation audit (issue 15): a link to `sources/<slug>/?span=START-END#chunk-N` marks characters
// START..END of chunk N's text (the offsets `kb audit` prints) with <mark class="citekb-span">,
// opens hidden boilerplate around it, and scrolls it into view. Summary labels of collapsed
// boilerplate are not chunk text, so they are skipped when counting.
(function () {
  function markSpan() {
    var span = /^(\d+)-(\d+)$/.exec(new URLSearchParams(location.search).get("span") || "");
    var id;
    try {
      id = decodeURIComponent(location.hash.slice(1));
    } catch (error) {
      return; // a malformed %-escape in the address: nothing to mark
    }
    var section = span && id && document.getElementById(id);
    var body = section && section.querySelector(".citekb-text");
    if (!body || body.querySelector("mark.citekb-span")) return;
    var start = Number(span[1]), end = Number(span[2]), offset = 0, first = null, nodes = [];
    var walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        return node.parentElement.closest("summary") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
      },
    });
    while (walker.nextNode()) nodes.push(walker.currentNode);
    nodes.forEach(function (node) {
      var length = node.length, from = Math.max(start - offset, 0), to = Math.min(end - offset, length);
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
      first = first || mark;
    });
    if (first) first.scrollIntoView({ block: "center" });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", markSpan);
  else markSpan();
})();
