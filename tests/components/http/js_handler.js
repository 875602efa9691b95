// A wasi:http handler in JavaScript, made a component by `jco componentize` (componentize-js's
// StarlingMonkey engine turns the fetch event listener into wasi:http/incoming-handler). It
// answers as hello_handler.c does, in its own words: the request line, then the body; /teapot
// is a 418.
addEventListener('fetch', (event) => event.respondWith(answer(event.request)));

async function answer(request) {
  const url = new URL(request.url);
  const body = await request.text();
  return new Response(`hello from javascript: ${request.method} ${url.pathname}${url.search}\n${body}`, {
    status: url.pathname === '/teapot' ? 418 : 200,
    headers: { 'content-type': 'text/plain' },
  });
}
