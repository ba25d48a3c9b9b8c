/* Citekb search worker: speaks Material's worker protocol (SETUP → READY, QUERY → RESULT) but
 * loads the prebuilt, sharded index from search/citekb/ (format in build_tools/shards.py) instead
 * of rebuilding a lunr index from search_index.json. Query rule and ranking mirror
 * build_tools/search.py (`query_terms`, `Searcher`): change both together; tests/test_search.py
 * proves they agree. Their tuning is the index's own: the manifest's `settings` (SearchSettings in
 * build_tools/index.py); only how results are shown is set here. */

const SETUP = 0, READY = 1, QUERY = 2, RESULT = 3
const LIMIT = 100
const READ_AHEAD = 4 // pages fetched ahead while reading on (sooner, the same results)
const BEFORE = 30, AFTER = 90 // snippet characters around the first matched term
const KEPT_PAGES = 64
const FORMAT = 9
const CJK = "\u3400-\u4dbf\u4e00-\u9fff"
const RUNS = new RegExp(`[${CJK}]+|[a-z0-9\u00c0-\u024f]+`, "g")
const IS_CJK = new RegExp(`^[${CJK}]`)
const base = new URL("../../search/citekb/", self.location.href)
const site = new URL("../../", self.location.href)
const shards = new Map(), pageTexts = new Map()
let manifest, settings, pages, docs, joinWords, simplifiedOf
/* Per-document accumulators, allocated once and reused by every query: a query that touches most
 * documents allocates little, so garbage collection stays out of the way of search. */
let score, covered, joined, best, rounded, wordsHeld, joinsHeld, queryStamp, bestStamp, postingDocs, postingTfs, stamp = 0

async function fetchFrom(name, as) {
  const response = await fetch(new URL(name, base))
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`)
  return as === "json" ? response.json() : new Uint8Array(await response.arrayBuffer())
}

const isJoin = term => term[0] === "|" // a join bucket, as is_bucket() tells it

/* Same keys as shard_key(): Chinese terms by their first character, others by their first two,
 * join buckets by number. */
function shardOf(term) {
  const key = isJoin(term) ? +term.slice(1) : IS_CJK.test(term) || term.length === 1
    ? term.codePointAt(0) : term.charCodeAt(0) * 65536 + term.charCodeAt(1)
  return key % manifest.shards
}

/* As join_hash() and bucket_term(): FNV-1a over UTF-16 code units, modulo the bucket count. */
function joinBucket(key) {
  let value = 2166136261
  for (let i = 0; i < key.length; i++) value = Math.imul(value ^ key.charCodeAt(i), 16777619) >>> 0
  return `|${value % manifest.join_buckets}`
}

/* docs.json as read_tables() reads it: [path, title] per page; per document its page, length and
 * anchor entry in typed arrays (few objects: a 40,000-chunk table stays cheap to garbage-collect). */
function readTables(tables) {
  const pageRows = [], entries = []
  const count = tables.pages.reduce((sum, [, , anchors]) => sum + anchors.length, 0)
  const pageOf = new Int32Array(count), lengthOf = new Float64Array(count)
  tables.pages.forEach(([path, title, anchors, lengths], number) => {
    pageRows.push([path, title])
    anchors.forEach((entry, i) => {
      pageOf[entries.length] = number
      lengthOf[entries.length] = lengths[i]
      entries.push(entry)
    })
  })
  return { pages: pageRows, docs: { pageOf, lengthOf, entries, labels: tables.labels, chunk: tables.chunk, count } }
}

/* A document's anchor and label, from its entry as read_tables() reads it (a chunk's label is the
 * index's own, messages.CHUNK: 块 N). */
function anchorAndLabel(d) {
  const entry = docs.entries[d]
  return typeof entry === "number" ? [`chunk-${entry}`, docs.chunk.replace("{number}", entry)]
    : typeof entry === "string" ? [entry, docs.labels[entry]] : entry
}

function readVarint(data, at) {
  let value = 0, scale = 1, byte
  do {
    byte = data[at++]
    value += (byte & 127) * scale
    scale *= 128
  } while (byte >= 128)
  return [value, at]
}

function readVarints(data, at, count) {
  const values = []
  for (let i = 0; i < count; i++) {
    let value
    ;[value, at] = readVarint(data, at)
    values.push(value)
  }
  return [values, at]
}

/* A shard: sorted terms (each written as the characters it shares with the previous one and the
 * rest), and where each term's postings are (see Shard in shards.py): term i's are the bytes from
 * starts[i] to starts[i + 1]. */
function parseShard(data) {
  let count, size, at = 0
  ;[count, at] = readVarint(data, at)
  ;[size, at] = readVarint(data, at)
  let shared, spans
  ;[shared, at] = readVarints(data, at, count)
  const suffixes = count ? new TextDecoder().decode(data.subarray(at, at + size)).split("\n") : []
  let previous = ""
  const terms = suffixes.map((suffix, i) => (previous = previous.slice(0, shared[i]) + suffix)) // front-coded
  at += size
  ;[spans, at] = readVarints(data, at, count)
  const starts = new Uint32Array(count + 1)
  starts[0] = at
  spans.forEach((span, i) => { starts[i + 1] = starts[i] + span })
  return { terms, starts, data }
}

/* Where a term is or would be among a shard's sorted terms. */
function lowerBound(shard, term) {
  let lo = 0, hi = shard.terms.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (shard.terms[mid] < term) lo = mid + 1; else hi = mid
  }
  return lo
}

/* A term's number in its shard, or -1 where the shard lacks it. */
function find(shard, term) {
  const at = lowerBound(shard, term)
  return shard.terms[at] === term ? at : -1
}

/* The numbers of a shard's terms that start with a prefix. */
function withPrefix(shard, prefix) {
  const found = []
  for (let at = lowerBound(shard, prefix); at < shard.terms.length && shard.terms[at].startsWith(prefix); at++)
    found.push(at)
  return found
}

/* Term number `at`'s postings into postingDocs and postingTfs (returns their count), as
 * rice_coded() in shards.py writes them: a header (zero-flag mode, Rice parameter k), then per
 * posting its gap (in zero-flag mode a 1-bit first if it is not 0, then gap - 1) as ones, a 0 and
 * k low bits, and tf - 1 ones and a 0 (none for a join bucket: tf 1); 1-bits fill the last byte. */
function postings(shard, at) {
  const counted = !isJoin(shard.terms[at])
  const data = shard.data, last = shard.starts[at + 1] * 8
  let bit = shard.starts[at] * 8
  const next = () => (data[bit >> 3] >> (bit++ & 7)) & 1
  const ones = () => { // the length of a run of 1-bits ended by a 0; -1 when the span ends first
    for (let n = 0; bit < last; n++) if (!next()) return n
    return -1
  }
  const flagged = next()
  let k = 0
  for (let b = 0; b < 5; b++) k |= next() << b
  let document = -1, count = 0
  while (bit < last) {
    let gap = 0
    if (!flagged || next()) {
      const quotient = ones()
      if (quotient < 0) break // the 1-bits that fill the last byte
      let rest = 0
      for (let b = 0; b < k; b++) rest += next() * 2 ** b
      gap = quotient * 2 ** k + rest + flagged
    }
    document += gap + 1
    postingDocs[count] = document
    postingTfs[count++] = counted ? ones() + 1 : 1
  }
  return count
}

function loadShard(number) {
  if (!shards.has(number)) shards.set(number, fetchFrom(`shard-${number}.bin`).then(parseShard))
  return shards.get(number)
}

/* Traditional characters as Simplified, one for one (the manifest's table, as analysis.fold reads
 * them): offsets in the result are offsets in the text. */
const simplify = text => {
  let out = ""
  for (const c of text) out += simplifiedOf.get(c) ?? c
  return out
}
const fold = text => simplify(text.normalize("NFKC").toLowerCase())
/* As phrase_key(): words and Chinese runs one space apart, to find the query as typed in a text. */
const phraseKey = text => (fold(text).match(RUNS) || []).join(" ")

/* As join_rule(): whether two words in a row have their join indexed. */
function canJoin(a, b) {
  const countA = joinWords.get(a), countB = joinWords.get(b)
  return countA !== undefined && countB !== undefined &&
    countA * countB >= settings.join_share * manifest.documents * manifest.documents
}

/* Where in a query joins are looked up: English words in a row (at the first one's position) and
 * two characters in a row where words of the run that join could meet, as query_terms() does. */
function joinsOf(runs) {
  const found = [] // [key, position]
  let position = 0
  runs.forEach((run, number) => {
    if (!IS_CJK.test(run)) {
      if (number && !IS_CJK.test(runs[number - 1]) && canJoin(runs[number - 1], run))
        found.push([`${runs[number - 1]} ${run}`, position - 1])
      position += 1
      return
    }
    for (let i = 0; i + 1 < run.length; i++) {
      let meet = false
      for (let start = Math.max(0, i + 1 - settings.max_term); start <= i && !meet; start++)
        for (let end = i + 2; end <= Math.min(run.length, i + 1 + settings.max_term) && !meet; end++)
          meet = canJoin(run.slice(start, i + 1), run.slice(i + 1, end))
      if (meet) found.push([run.slice(i, i + 2), position + i])
    }
    position += run.length
  })
  return found
}

/* Same rule as query_terms(): English words as they are (the last one may still be typed, so it
 * also matches as a prefix); in Chinese runs every indexed substring of 2..max_term characters,
 * single characters only where no longer term covers them; and the joins of joinsOf() as their
 * buckets. Each clause carries the query positions (characters, English words) it covers. */
async function queryTerms(query, withStopWords) {
  const runs = fold(query).match(RUNS) || []
  const joins = joinsOf(runs)
  const needed = new Set(joins.map(([key]) => shardOf(joinBucket(key))))
  for (const run of runs)
    if (IS_CJK.test(run)) for (const char of run) needed.add(shardOf(char))
    else needed.add(shardOf(run))
  const loaded = new Map()
  await Promise.all([...needed].map(async n => loaded.set(n, await loadShard(n))))
  const has = term => (withStopWords || !isStop(term)) && find(loaded.get(shardOf(term)), term) >= 0
  const bits = (start, end) => {
    let mask = 0
    for (let p = start; p < end; p++) mask |= 1 << Math.min(p, settings.coverage_bits)
    return mask
  }
  const clauses = []
  let position = 0
  runs.forEach((run, number) => {
    if (!IS_CJK.test(run)) {
      clauses.push([run, number === runs.length - 1 && run.length >= 3, bits(position, position + 1)])
      position += 1
      return
    }
    const inTerm = new Array(run.length).fill(false)
    for (let start = 0; start < run.length; start++)
      for (let end = start + 2; end <= Math.min(run.length, start + settings.max_term); end++)
        if (has(run.slice(start, end))) {
          clauses.push([run.slice(start, end), false, bits(position + start, position + end)])
          inTerm.fill(true, start, end)
        }
    for (let i = 0; i < run.length; i++)
      if (!inTerm[i] && has(run[i])) clauses.push([run[i], false, bits(position + i, position + i + 1)])
    position += run.length
  })
  for (const [key, start] of joins) { // its bucket, where the index has it
    const term = joinBucket(key)
    if (has(term)) clauses.push([term, false, bits(start, start + 2)])
  }
  const merged = new Map()
  for (const [term, prefix, positions] of clauses) {
    const key = `${term}\u0000${prefix}`
    merged.set(key, [term, prefix, (merged.has(key) ? merged.get(key)[2] : 0) | positions])
  }
  return [...merged.values()]
}

/* lunr's BM25 term weight, as Searcher.weight(). */
function weight(tf, df, length) {
  const { k1, b } = settings
  const idf = Math.log(1 + Math.abs((manifest.documents - df + 0.5) / (df + 0.5)))
  return idf * ((k1 + 1) * tf) / (k1 * (1 - b + b * length / manifest.average_length) + tf)
}

function popcount(mask) {
  let n = 0
  for (; mask; mask &= mask - 1) n++
  return n
}

const isStop = term => Object.prototype.hasOwnProperty.call(manifest.stop_words, term)

async function search(query) {
  // Stop words are read as absent; only a query of nothing else is read with them.
  const ordinary = (await queryTerms(query, false)).filter(([term]) => !isStop(term)) // English words: unlooked-up
  const clauses = ordinary.length ? ordinary : await queryTerms(query, true)
  const thisQuery = ++stamp, touched = []
  for (const [term, prefix, positions] of clauses) {
    const shard = await loadShard(shardOf(term))
    const thisClause = ++stamp, inClause = [], held = isJoin(term) ? joined : covered
    for (const at of prefix ? withPrefix(shard, term) : [find(shard, term)]) {
      // (a stop word's postings are cut short: it is no completion of an ordinary word)
      if (at < 0 || (isStop(shard.terms[at]) && shard.terms[at] !== term)) continue
      const count = postings(shard, at)
      const df = isStop(shard.terms[at]) ? manifest.stop_words[shard.terms[at]] : count
      for (let i = 0; i < count; i++) { // a prefix counts as its best completion in each document
        const d = postingDocs[i], w = weight(postingTfs[i], df, docs.lengthOf[d])
        if (bestStamp[d] !== thisClause) { bestStamp[d] = thisClause; best[d] = w; inClause.push(d) }
        else if (w > best[d]) best[d] = w
      }
    }
    for (const d of inClause) {
      if (queryStamp[d] !== thisQuery) { // first held by this query: its sums start at 0
        queryStamp[d] = thisQuery
        score[d] = covered[d] = joined[d] = 0
        touched.push(d)
      }
      score[d] += best[d]
      held[d] |= positions
    }
  }
  for (const d of touched) {
    wordsHeld[d] = popcount(covered[d])
    joinsHeld[d] = popcount(joined[d])
    rounded[d] = Math.round(score[d] * 1e6) / 1e6
  }
  const ranked = touched.sort((a, b) => wordsHeld[b] - wordsHeld[a] || joinsHeld[b] - joinsHeld[a] ||
                                        rounded[b] - rounded[a] || a - b)
  return { ranked, terms: clauses.map(([term]) => term).filter(term => !isJoin(term)) }
}

/* A result's text as its page shows it: the chunk's section (hidden boilerplate left out) or the
 * report section, citation labels and previews left out, tags stripped. Pages are kept, so a
 * clicked result is already loaded. */
function pageText(path) {
  if (!pageTexts.has(path)) {
    if (pageTexts.size >= KEPT_PAGES) pageTexts.delete(pageTexts.keys().next().value)
    pageTexts.set(path, fetch(new URL(path, site)).then(r => r.ok ? r.text() : "").catch(() => ""))
  }
  return pageTexts.get(path)
}

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " }
const plain = html => html
  .replace(/<details[^>]*class="citekb-boilerplate"[\s\S]*?<\/details>/g, " ")
  .replace(/<span class="citekb-(?:preview|cite-label|verdict)"[\s\S]*?<\/span>/g, " ")
  .replace(/<a class="headerlink"[^>]*>¶<\/a>/g, "")
  .replace(/<[^>]+>/g, "")
  .replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e) => e[0] !== "#" ? ENTITIES[e] ?? m
    : String.fromCodePoint(e[1].toLowerCase() === "x" ? parseInt(e.slice(2), 16) : +e.slice(1)))
  .replace(/\s+/g, " ").trim()

function sectionText(html, anchor) {
  const at = html.indexOf(`id="${anchor}"`)
  if (at < 0) return ""
  if (anchor.startsWith("chunk-")) {
    const text = html.slice(at).match(/<div class="citekb-text">([\s\S]*?)<\/div>/)
    return text ? plain(text[1]) : ""
  }
  const rest = html.slice(html.indexOf(">", at) + 1)
  const end = rest.search(/<h[1-6][\s>]|<\/article>/) // the next heading (report headings are sections) or the page's end
  return plain(end < 0 ? rest : rest.slice(0, end))
}

function snippet(text, terms) {
  const lower = simplify(text.toLowerCase())
  const at = Math.min(...terms.map(t => lower.indexOf(t)).filter(i => i >= 0), text.length)
  const start = at < text.length ? Math.max(0, at - BEFORE) : 0
  const end = Math.min(text.length, start + BEFORE + AFTER)
  return (start ? "…" : "") + text.slice(start, end) + (end < text.length ? "…" : "")
}

const escapeHTML = text => text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)

function highlight(text, terms) {
  const words = [...new Set(terms)].filter(t => t.length).sort((a, b) => b.length - a.length)
  if (!words.length) return escapeHTML(text)
  const pattern = new RegExp(words.map(w => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "gi")
  let out = "", cursor = 0
  for (const match of simplify(text).matchAll(pattern)) { // a Traditional text's words found as the query's
    const end = match.index + match[0].length
    out += escapeHTML(text.slice(cursor, match.index)) + `<mark data-md-highlight>${escapeHTML(text.slice(match.index, end))}</mark>`
    cursor = end
  }
  return out + escapeHTML(text.slice(cursor))
}

/* The query's words as a result's texts write them where they differ (開源 for 开源): added to its
 * terms, which Material marks on the page the result opens (search.highlight) as they are written. */
function writtenForms(texts, terms) {
  const forms = {}
  const words = [...new Set(terms)].filter(t => t.length)
  for (const text of texts) {
    const folded = simplify(text.toLowerCase())
    for (const word of words)
      for (let at = folded.indexOf(word); at >= 0; at = folded.indexOf(word, at + word.length)) {
        const written = text.slice(at, at + word.length).toLowerCase()
        if (written !== word) forms[written] = true
      }
  }
  return forms
}

/* One result per chunk, in rank order (the unit a report cites), shaped as Material's page +
 * section so that it shows the section's text: the page's title above the chunk and its snippet.
 * The first `checked` results are read from their pages (one fetch serves a page's chunks): each
 * is shown with a snippet cut from there, and those holding the query as typed move first; while
 * none does, the next is read, one at a time up to `rechecked`, as in Searcher.search(). */
async function results(query) {
  const { ranked, terms } = await search(query)
  const matched = Object.fromEntries(terms.map(t => [t, true]))
  const texts = new Map()
  const key = phraseKey(query)
  const typedAmong = async documents => {
    const html = new Map(await Promise.all([...new Set(documents.map(d => docs.pageOf[d]))].map(
      async page => [page, await pageText(pages[page][0])])))
    for (const d of documents) texts.set(d, sectionText(html.get(docs.pageOf[d]), anchorAndLabel(d)[0]))
    return documents.filter(d => key && phraseKey(texts.get(d)).includes(key))
  }
  let typed = await typedAmong(ranked.slice(0, settings.checked))
  const last = Math.min(settings.rechecked, ranked.length)
  for (let next = settings.checked; next < last && !typed.length; next++) { // then the next while none holds it
    for (const d of ranked.slice(next + 1, Math.min(next + READ_AHEAD, last))) pageText(pages[docs.pageOf[d]][0])
    typed = await typedAmong([ranked[next]])
  }
  const top = [...typed, ...ranked.slice(0, LIMIT + typed.length).filter(d => !typed.includes(d))].slice(0, LIMIT)
  return top.map(d => {
    const [anchor, label] = anchorAndLabel(d)
    const [path, title] = pages[docs.pageOf[d]]
    const text = texts.has(d) ? snippet(texts.get(d), terms) : ""
    // Material marks the first of these that matches where several start alike: the longest first
    const marked = Object.fromEntries(Object.keys({ ...matched, ...writtenForms([title, label, texts.get(d) ?? ""], terms) })
      .sort((a, b) => b.length - a.length).map(term => [term, true]))
    return [{ location: path, title: highlight(title, terms), text: "", score: score[d], terms: marked },
            { location: `${path}#${anchor}`, title: highlight(label, terms), text: highlight(text, terms), score: score[d],
              terms: marked }]
  })
}

async function handle(message) {
  switch (message.type) {
    case SETUP: {
      let tables
      ;[manifest, tables] = await Promise.all([fetchFrom("manifest.json", "json"), fetchFrom("docs.json", "json")])
      if (manifest.format !== FORMAT) throw new Error(`search index format ${manifest.format}, expected ${FORMAT}`)
      settings = manifest.settings
      ;({ pages, docs } = readTables(tables))
      joinWords = new Map(Object.entries(manifest.join_words))
      simplifiedOf = new Map(Array.from(manifest.simplified[0], (c, i) => [c, manifest.simplified[1][i]]))
      const n = docs.count
      ;[score, best, rounded] = [new Float64Array(n), new Float64Array(n), new Float64Array(n)]
      ;[covered, joined, queryStamp, bestStamp, postingDocs] = Array.from({ length: 5 }, () => new Int32Array(n))
      ;[wordsHeld, joinsHeld, postingTfs] = [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)]
      return { type: READY }
    }
    case QUERY:
      try {
        return { type: RESULT, data: { items: await results(message.data) } }
      } catch (error) {
        console.warn("citekb search:", error)
        return { type: RESULT, data: { items: [] } }
      }
    default:
      throw new TypeError("Invalid message type")
  }
}

/* One message at a time, so results never arrive out of order while the user types. */
let queue = Promise.resolve()
addEventListener("message", event => {
  queue = queue.then(() => handle(event.data)).then(reply => postMessage(reply),
                                                    error => console.warn("citekb search:", error))
})
