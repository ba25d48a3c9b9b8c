async ([bundle, queries, pages, shown]) => {
  // Pagefind's own search API over the same queries as the other engines (benchmarks/search_pagefind.py
  // says how its results map to ours): the time until it is ready, each query's time (search, then
  // `data()` of its first `pages` results, as Pagefind's UI loads them), and the first 10 locations
  // of each query: the pages in Pagefind's order, each page's sub-results with the most matched
  // words, at most `shown` a page (the ones Pagefind's UI picks to show under a page: three), most
  // first; `/sources/x/#chunk-3` as `sources/x/#chunk-3`. And the pages themselves, in Pagefind's
  // order, to be judged by page as Material's worker is.
  const start = performance.now()
  const pagefind = await import(`${bundle}pagefind.js`)
  await pagefind.init()
  const ready_ms = performance.now() - start
  const location = url => decodeURIComponent(url).replace(/^\//, "")
  const results = [], pages_found = [], latencies = []
  for (const query of queries) {
    const t = performance.now()
    const found = await pagefind.search(query)
    const data = await Promise.all(found.results.slice(0, pages).map(result => result.data()))
    latencies.push(performance.now() - t)
    const best = page => [...page.sub_results].sort((a, b) => b.locations.length - a.locations.length).slice(0, shown)
    results.push(data.flatMap(best).map(sub => location(sub.url)).slice(0, 10))
    pages_found.push(data.map(page => location(page.url)))
  }
  return {ready_ms, results, latencies, pages: pages_found}
}
