// page.js - a front end on its own origin calling the service on another one with the
// real tRPC client, as a platform's splitLink would: the service URL, the token and the
// course come in the fragment (#api=...&token=...&course=...). Every call carries the
// token (Authorization) and x-trpc-source, so the browser sends a CORS preflight first.
// The outcome of each link is left in window.__results, and window.__done is set.
(function () {
  'use strict';
  const p = new URLSearchParams(location.hash.slice(1));
  const url = p.get('api');
  const course = p.get('course');
  const headers = () => ({
    authorization: 'Bearer ' + p.get('token'),
    'x-trpc-source': 'cors-page',
  });
  const { createTRPCClient, httpBatchLink, httpBatchStreamLink, httpLink } = window.TRPC;
  const links = {
    batch: httpBatchLink({ url, headers }),
    stream: httpBatchStreamLink({ url, headers }),
    post: httpLink({ url, headers, methodOverride: 'POST' }),
  };
  async function one(name) {
    const client = createTRPCClient({ links: [links[name]] });
    try {
      const data = await client.generation.getStatus.query({ courseId: course });
      return { ok: true, data };
    } catch (e) {
      return { ok: false, name: e.name, message: String(e.message),
               code: e.data ? e.data.code : null };
    }
  }
  (async function () {
    const results = {};
    for (const name of Object.keys(links))
      results[name] = await one(name);
    window.__results = results;
    document.getElementById('out').textContent = JSON.stringify(results, null, 2);
    window.__done = true;
  })();
})();
