// A wasi:http handler in JavaScript, made a component by `jco componentize` (componentize-js's
// StarlingMonkey engine turns the fetch event listener into wasi:http/incoming-handler). It
// answers as hello_handler.c does, in its own words: the request line, then the body; /teapot
// is a 418; /proxy?url=URL fetches URL (wasi:http/outgoing-handler; a POST sends its body on)
// and answers with what came back, or a 502 when the fetch fails.
addEventListener('fetch', (event) => event.respondWith(answer(event.request)));

async function answer(request) {
  const url = new URL(request.url);
  const headers = { 'content-type': 'text/plain' };
  if (url.pathname === '/proxy') {
    try {
      // A POST is forwarded with its body, streamed from the request to the upstream.
      const init =
          request.method === 'POST' ? { method: 'POST', body: request.body, duplex: 'half' } : {};
      const upstream = await fetch(url.searchParams.get('url'), init);
      return new Response(`proxied ${upstream.status}: ${await upstream.text()}`, { headers });
    } catch (error) {
      return new Response('fetch failed\n', { status: 502, headers });
    }
  }
  const body = await request.text();
  return new Response(`hello from javascript: ${request.method} ${url.pathname}${url.search}\n${body}`, {
    status: url.pathname === '/teapot' ? 418 : 200,
    headers,
  });
}
