/* Citekb search worker: speaks Material's worker protocol (SETUP → READY, QUERY → RESULT) but
 * loads the prebuilt, sharded lunr index from search/citekb/ instead of rebuilding one from
 * search_index.json. Query processing mirrors build_tools/index.py (`query_terms`, `Searcher`):
 * change both together; tests/test_search.py proves they agree. */
importScripts("lunr-2.3.9.min.js")

const SETUP = 0, READY = 1, QUERY = 2, RESULT = 3
const LIMIT = 100
const CJK = "\u3400-\u4dbf\u4e00-\u9fff"
const RUNS = new RegExp(`[${CJK}]+|[a-z0-9\u00c0-\u024f]+`, "g")
const IS_CJK = new RegExp(`^[${CJK}]`)
const base = new URL("../../search/citekb/", self.location.href)
const shards = new Map()
let manifest, docs

async function fetchJSON(name) {
  const response = await fetch(new URL(name, base))
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`)
  return response.json()
}

const shardOf = term => term.codePointAt(0) % manifest.shards

function loadShard(number) {
  if (!shards.has(number))
    shards.set(number, fetchJSON(`shard-${number}.json`).then(data => lunr.Index.load(data)))
  return shards.get(number)
}

const fold = text => text.normalize("NFKC").toLowerCase()
const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key)

/* Same rule as query_terms(): English words as they are (the last one may still be typed, so it
 * also matches as a prefix); in Chinese runs every indexed substring of 2..max_term characters,
 * and single characters only where no longer term covers them. */
async function queryTerms(query) {
  const runs = fold(query).match(RUNS) || []
  const needed = new Set()
  for (const run of runs)
    for (const char of IS_CJK.test(run) ? run : run[0]) needed.add(shardOf(char))
  const loaded = new Map()
  await Promise.all([...needed].map(async n => loaded.set(n, await loadShard(n))))
  const has = term => hasOwn(loaded.get(shardOf(term)).invertedIndex, term)
  const clauses = []
  runs.forEach((run, number) => {
    if (!IS_CJK.test(run)) {
      clauses.push([run, number === runs.length - 1 && run.length >= 3])
      return
    }
    const covered = new Array(run.length).fill(false)
    const found = []
    for (let start = 0; start < run.length; start++)
      for (let end = start + 2; end <= Math.min(run.length, start + manifest.max_term); end++)
        if (has(run.slice(start, end))) {
          found.push(run.slice(start, end))
          covered.fill(true, start, end)
        }
    for (let i = 0; i < run.length; i++)
      if (!covered[i] && has(run[i])) found.push(run[i])
    for (const term of found) clauses.push([term, false])
  })
  const seen = new Set()
  return clauses.filter(([term, wildcard]) => {
    const key = `${term}\u0000${wildcard}`
    return seen.has(key) ? false : (seen.add(key), true)
  })
}

async function search(query) {
  const clauses = await queryTerms(query)
  const byShard = new Map()
  for (const clause of clauses) {
    const n = shardOf(clause[0])
    byShard.set(n, [...byShard.get(n) || [], clause])
  }
  const scores = new Map()
  for (const n of [...byShard.keys()].sort((a, b) => a - b)) {
    const index = await loadShard(n)
    const results = index.query(q => {
      for (const [term, wildcard] of byShard.get(n))
        q.term(term, {
          usePipeline: false,
          wildcard: wildcard ? lunr.Query.wildcard.TRAILING : lunr.Query.wildcard.NONE
        })
    })
    for (const { ref, score } of results)
      scores.set(+ref, (scores.get(+ref) || 0) + score)
  }
  const round = x => Math.round(x * 1e6) / 1e6
  const ranked = [...scores].sort((a, b) => round(b[1]) - round(a[1]) || a[0] - b[0])
  return { ranked, terms: clauses.map(([term]) => term) }
}

const escapeHTML = text => text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)

function highlight(text, terms) {
  const words = [...new Set(terms)].filter(t => t.length).sort((a, b) => b.length - a.length)
  if (!words.length) return escapeHTML(text)
  const pattern = new RegExp(words.map(w => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "gi")
  let out = "", cursor = 0
  for (const match of text.matchAll(pattern)) {
    out += escapeHTML(text.slice(cursor, match.index)) + `<mark data-md-highlight>${escapeHTML(match[0])}</mark>`
    cursor = match.index + match[0].length
  }
  return out + escapeHTML(text.slice(cursor))
}

async function handle(message) {
  switch (message.type) {
    case SETUP:
      [manifest, docs] = await Promise.all([fetchJSON("manifest.json"), fetchJSON("docs.json")])
      return { type: READY }
    case QUERY:
      try {
        const { ranked, terms } = await search(message.data)
        const found = Object.fromEntries(terms.map(t => [t, true]))
        const items = ranked.slice(0, LIMIT).map(([ref, score]) => {
          const [location, title, text] = docs[ref]
          return [{ location, title: highlight(title, terms), text: highlight(text, terms), score, terms: found }]
        })
        return { type: RESULT, data: { items } }
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
  queue = queue.then(() => handle(event.data)).then(reply => postMessage(reply))
})
