async ([worker_url, setup, queries, timeout, limit]) => {
  // A search worker speaking Material's protocol (ours or Material's own), asked each query in turn:
  // the time until it is ready, each query's time, and the locations and scores of its first `limit`
  // results (a page's sections as listed, the page itself where it has none). Run by
  // benchmarks/search.py in chromium and by tests/test_search.py under Playwright. `setup`: the URL
  // of the index Material's worker is given to build from (ours reads its own files).
  const start = performance.now()
  const worker = new Worker(worker_url)
  const reply = message => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), timeout)
    worker.onmessage = event => { clearTimeout(timer); resolve(event.data) }
    worker.postMessage(message)
  })
  let data = {config: {}, docs: [], options: {suggest: false}}
  if (setup) data = {...await (await fetch(setup)).json(), options: {suggest: false}}
  try { await reply({type: 0, data}) } catch (error) { return {ready_ms: null, results: [], scores: [], latencies: []} }
  const ready_ms = performance.now() - start
  const results = [], scores = [], latencies = []
  for (const query of queries) {
    const t = performance.now()
    const result = await reply({type: 2, data: query})
    latencies.push(performance.now() - t)
    const items = result.data.items.flatMap(group => group.length > 1 ? group.slice(1) : group).slice(0, limit)
    results.push(items.map(item => item.location))
    scores.push(items.map(item => item.score))
  }
  worker.terminate()
  return {ready_ms, results, scores, latencies}
}
