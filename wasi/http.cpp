// wasi:http/types and wasi:http/outgoing-handler for the WASI 0.2 host, and the host side of
// wasi:http/incoming-handler (http.h), with the types and doc comments of
// ../shared/wit/wasi-0.2.12/http/types.wit.
#include "wasi/http.h"

#include <cctype>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "wasi/preview2_host.h"

namespace kiln::wasi {

namespace {

using namespace preview2;

// The cases of `method` up to other(string), in the WIT's order.
constexpr const char* kMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                    "CONNECT", "OPTIONS", "TRACE", "PATCH"};
constexpr uint32_t kOtherMethod = 9;
// header-error's cases.
constexpr uint32_t kInvalidSyntax = 0, kForbidden = 1, kImmutable = 2;

// Hop-by-hop fields (RFC 9110 section 7.6.1) belong to one connection, which the host owns: a
// guest may not set them (header-error.forbidden), and the host drops them from requests it
// hands to a guest.
bool same_name(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool forbidden_field(const std::string& name) {
  static const char* const kForbidden[] = {"connection",        "keep-alive", "proxy-connection",
                                           "transfer-encoding", "upgrade",    "te",
                                           "http2-settings"};
  return std::any_of(std::begin(kForbidden), std::end(kForbidden),
                     [&](const char* f) { return same_name(name, f); });
}

V variant(uint32_t index, std::optional<V> payload = std::nullopt) {
  V v;
  v.kind = K::kVariant;
  v.index = index;
  if (payload) v.items.push_back(std::move(*payload));
  return v;
}
V header_error(uint32_t which) {
  return err(variant(which));
}
V method_value(const std::string& method) {
  for (uint32_t i = 0; i < std::size(kMethods); ++i) {
    if (method == kMethods[i]) return variant(i);
  }
  return variant(kOtherMethod, V::string(method));
}
std::string method_text(const V& method) {
  if (method.index < std::size(kMethods)) return kMethods[method.index];
  return method.items.empty() ? std::string() : method.items[0].text;
}
V scheme_value(const std::string& scheme) {
  if (scheme == "http") return variant(0);
  if (scheme == "https") return variant(1);
  return variant(2, V::string(scheme));
}
V optional_string(const std::optional<std::string>& text) {
  return text ? some(V::string(*text)) : none();
}
V bool_value(bool b) {
  return V::integer(K::kBool, b ? 1 : 0);
}
// An RFC 9110 token character (tchar).
bool token_char(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool valid_method(const V& method) {
  if (method.index != kOtherMethod) return method.index < kOtherMethod;
  return valid_field_name(method_text(method));  // a method is a token, as a field name is
}
// A path-with-query or an authority: visible ASCII, no spaces (RFC 3986 characters).
bool valid_uri_part(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

// What a field takes of the host's memory, as charged against the store's budget: its name
// and value, and the strings and vector slot holding them.
uint64_t field_bytes(const std::string& name, const std::string& value) {
  return name.size() + value.size() + sizeof(HttpHeaders::value_type);
}

TrapPtr fields_over_budget() {
  return host_trap("wasi:http/types: fields past the store's memory budget");
}

// A new `fields` handle holding `entries`.
TrapPtr new_fields(State* s, HttpHeaders entries, bool immutable, V& out) {
  uint64_t bytes = 0;
  for (const auto& [name, value] : entries) bytes += field_bytes(name, value);
  MemoryCharge charge;
  if (!charge.set(s->store, bytes)) return fields_over_budget();
  return s->own(s->fields,
                s->http.fields.add(s->store, {std::move(entries), immutable, std::move(charge)}),
                out);
}

// Takes the fields of an own<fields> the guest gave the host (they are the host's now), and
// with `charge`, their charge against the budget too (headers held until sent).
HttpHeaders take_fields(State* s, const V& handle, MemoryCharge* charge = nullptr) {
  HttpHeaders entries;
  if (HttpState::Fields* f = s->http.fields.get(handle.rep)) {
    entries = std::move(f->entries);
    if (charge) *charge = std::move(f->charge);
  }
  s->http.fields.remove(handle.rep);
  return entries;
}

// A field name and values as the guest gave them: the header-error case that refuses them, or
// nothing.
std::optional<uint32_t> check_field(const std::string& name,
                                    const std::vector<std::string>& values) {
  if (!valid_field_name(name)) return kInvalidSyntax;
  for (const std::string& v : values)
    if (!valid_field_value(v)) return kInvalidSyntax;
  if (forbidden_field(name)) return kForbidden;
  return std::nullopt;
}

// wasi:http's error-code for a failed outgoing request.
V error_code_of(const HttpFailure& failure) {
  switch (failure.error_code) {
    case HttpFailure::kInternalError:
      return variant(failure.error_code,
                     failure.message.empty() ? none() : some(V::string(failure.message)));
    case HttpFailure::kHttpResponseBodySize:
      return variant(failure.error_code, none());
    default:
      return variant(failure.error_code);
  }
}

constexpr uint32_t kMaxExchangesInFlight = 16;  // per store: each is a host thread

// Sends a future-incoming-response's request on a thread of its own. Past the limit of requests
// in flight, the future's value is connection-limit-reached at once.
void start_exchange(State* s, HttpState::Future& f, HttpRequest request) {
  auto in_flight = s->http.exchanges_in_flight;
  constexpr uint32_t kConnectionLimitReached = 11;  // error-code's case
  if (in_flight->load() >= kMaxExchangesInFlight) {
    f.value = err(variant(kConnectionLimitReached));
    return;
  }
  auto exchange = std::make_shared<HttpExchange>();
  if (!exchange->valid()) {
    f.value = err(error_code_of(HttpFailure{HttpFailure::kInternalError, "no eventfd"}));
    return;
  }
  ++*in_flight;
  try {
    std::thread([exchange, in_flight, sender = s->context.config().http_sender,
                 request = std::move(request)]() mutable {
      // The sender (and what it holds) goes before the exchange finishes, so whoever waits for
      // the body's end sees the sender released.
      HttpSender send = std::move(sender);
      auto outcome = send(request, *exchange, [exchange] { return exchange->abandoned(); });
      send = nullptr;
      // A body the guest still writes has no reader now: its writes fail.
      if (request.body_stream) request.body_stream->reader_gone();
      --*in_flight;
      exchange->finish(std::move(outcome));
    }).detach();
  } catch (const std::system_error&) {  // no thread to be had: a failure, not a crash
    --*in_flight;
    f.value = err(variant(kConnectionLimitReached));
    return;
  }
  f.sending.exchange = std::move(exchange);
}

// future-*.subscribe: for a future-incoming-response, ready when its response (or failure) is
// there; anything else is ready at once.
TrapPtr subscribe_future(State* s, uint32_t rep, V& out) {
  HttpState::Future* f = s->http.futures.get(rep);
  State::Pollable p;
  if (f && f->sending.exchange && !f->value) {
    p = State::Pollable::of(std::make_shared<CompletionReady>(f->sending.exchange));
  }
  return s->own(s->pollable, s->pollables.add(s->store, std::move(p)), out);
}

// future-*.get: none until its value is there, then some(ok(value)) the first time and
// some(err) after (types.wit: "at most once"). A future-incoming-response's value is its
// request's response (or error-code).
TrapPtr take_future(State* s, uint32_t rep, V& out) {
  HttpState::Future* f = s->http.futures.get(rep);
  if (f && f->sending.exchange && !f->value) {
    std::shared_ptr<HttpExchange> exchange = f->sending.exchange;
    std::optional<HttpResponse> head;
    std::optional<HttpFailure> failure;
    {
      std::lock_guard<std::mutex> lock(exchange->mutex);
      if (!exchange->done) {
        out = none();
        return nullptr;
      }
      head = std::move(exchange->response_head);
      failure = std::move(exchange->failure);
    }
    V value;
    if (failure || !head) {
      value = err(error_code_of(failure.value_or(HttpFailure{HttpFailure::kInternalError, ""})));
    } else {
      HttpState::IncomingResponse incoming;
      incoming.status = head->status;
      incoming.headers = std::move(head->headers);
      incoming.body = std::make_shared<HttpBody>();
      incoming.body->source = exchange;  // its body comes as the sender receives it
      V handle;
      if (TrapPtr t =
              s->own(s->incoming_response,
                     s->http.incoming_responses.add(s->store, std::move(incoming)), handle)) {
        return t;
      }
      value = ok(std::move(handle));
    }
    f = s->http.futures.get(rep);  // the slabs may have moved
    if (f) {
      f->value = std::move(value);
      f->sending.exchange.reset();  // done: nothing to abandon
    }
  }
  if (!f || !f->value) {
    out = some(err(V{}));
    return nullptr;
  }
  V value = std::move(*f->value);
  f->value.reset();
  out = some(ok(std::move(value)));
  return nullptr;
}

// Does `allowed` ("host" or "host:port", a scheme's default port when none) grant `authority`?
// Hosts compare without regard to case; an IPv6 address is written in brackets.
bool authority_granted(const std::vector<std::string>& allowed, const std::string& scheme,
                       const std::string& authority) {
  const std::string default_port = scheme == "https" ? "443" : "80";
  auto split = [&](const std::string& text) {
    const size_t bracket = text.rfind(']');
    const size_t colon = text.rfind(':');
    if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
      return std::pair(text.substr(0, colon), text.substr(colon + 1));
    }
    return std::pair(text, default_port);
  };
  if (authority.find('@') != std::string::npos) return false;  // no userinfo
  const auto [host, port] = split(authority);
  for (const std::string& grant : allowed) {
    const auto [allowed_host, allowed_port] = split(grant);
    if (same_name(host, allowed_host) && port == allowed_port) return true;
  }
  return false;
}

// A body's stream child is still alive (types.wit: finishing or dropping the body then traps).
bool stream_alive(State* s, const HttpBody& body, bool input) {
  if (!body.stream) return false;
  if (input) {
    const State::Input* in = s->inputs.get(*body.stream);
    return in && in->body.get() == &body;
  }
  const State::Output* out = s->outputs.get(*body.stream);
  return out && out->body.get() == &body;
}

// incoming-body.stream (`input`) and outgoing-body.write: the body's stream, a child resource
// handed out at most once (types.wit).
TrapPtr open_body_stream(State* s, uint32_t body_rep, bool input, V& out) {
  HttpState::Body* b = (input ? s->http.incoming_bodies : s->http.outgoing_bodies).get(body_rep);
  if (!b) {
    return host_trap(input ? "wasi:http/types: unknown incoming-body"
                           : "wasi:http/types: unknown outgoing-body");
  }
  if (b->body->stream) {
    out = err(V{});
    return nullptr;
  }
  std::shared_ptr<HttpBody> body = b->body;  // `b` may move when a slab grows
  std::optional<uint32_t> rep;
  if (input) {
    State::Input in;
    in.body = body;
    rep = s->inputs.add(s->store, std::move(in));
  } else {
    State::Output written;
    written.body = body;
    rep = s->outputs.add(s->store, std::move(written));
  }
  V handle;
  if (TrapPtr t = s->own(input ? s->input_stream : s->output_stream, rep, handle)) return t;
  body->stream = *rep;
  out = ok(std::move(handle));
  return nullptr;
}

}  // namespace

bool valid_field_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return token_char(static_cast<unsigned char>(c));
  });
}

bool valid_field_value(const std::string& value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

namespace preview2 {

// A flush sends the response once the handler has computed this long (CPU time of the thread
// that runs it, lazy compilation included: a busy machine's scheduling does not make a quick
// handler stream), or has this much to send. Until then, a flush waits for the guest to wait.
constexpr uint64_t kStreamAfterNs = 250'000'000;
constexpr size_t kStreamAfterBytes = 65536;

Result<void, StreamError> send_response_body(State* s, HttpBody& body);

Result<void, StreamError> flush_http_body(State* s, HttpBody& body) {
  HttpState& http = s->http;
  if (!http.sink || !http.response || http.response->body.get() != &body) return {};
  // A thread's CPU time grows no faster than the monotonic clock: the latter, from the vDSO,
  // answers without the former's system call until the handler has run that long.
  const auto computed_briefly = [&] {
    return clock_now_ns(CLOCK_MONOTONIC) - http.started_wall_ns < kStreamAfterNs ||
           clock_now_ns(CLOCK_THREAD_CPUTIME_ID) - http.started_cpu_ns < kStreamAfterNs;
  };
  if (!http.streaming && body.bytes.size() < kStreamAfterBytes && computed_briefly()) {
    http.flush_requested = true;  // sent when the guest waits, or whole at its end
    return {};
  }
  return send_response_body(s, body);
}

void send_flushed_response(State* s) {
  HttpState& http = s->http;
  if (!http.flush_requested || !http.sink || !http.response || !http.response->body) return;
  // A failure here is the guest's at its next write (the sink remembers it).
  (void)send_response_body(s, *http.response->body);
}

Result<void, StreamError> send_response_body(State* s, HttpBody& body) {
  HttpState& http = s->http;
  http.flush_requested = false;
  auto failed = [&](const StreamError& e, const char* what) -> Result<void, StreamError> {
    if (http.stream_error.empty()) http.stream_error = what;
    return e;
  };
  if (!http.streaming) {
    HttpResponse head;
    head.status = http.response->status;
    head.headers = http.response->headers;
    http.streaming = true;
    if (auto started = http.sink->start(head, s->interrupt()); !started) {
      return failed(started.error(), "the response's head could not be sent");
    }
  }
  if (body.bytes.empty()) return {};
  auto sent = http.sink->send(body.bytes, s->interrupt());
  body.bytes.clear();
  if (!sent) return failed(sent.error(), "the client took no more of the response");
  return {};
}

Result<void> define_http(Definer& d, ResourceTypes& t) {
  if (!d.wants_package("wasi:http/")) return {};
  const std::string types = "wasi:http/types";
  using Args = const std::vector<V>&;
  using Out = std::optional<V>&;

  // ---- resources, and the types wasi:http/types uses from wasi:io ----
  KILN_SET(t.fields,
           d.resource(types, "fields", [](State* s, uint32_t rep) { s->http.fields.remove(rep); }));
  KILN_SET(t.incoming_request, d.resource(types, "incoming-request", [](State* s, uint32_t rep) {
    s->http.incoming_requests.remove(rep);
  }));
  KILN_SET(t.outgoing_request, d.resource(types, "outgoing-request", [](State* s, uint32_t rep) {
    s->http.outgoing_requests.remove(rep);
  }));
  KILN_SET(t.request_options, d.resource(types, "request-options", [](State* s, uint32_t rep) {
    s->http.request_options.remove(rep);
  }));
  KILN_SET(t.response_outparam, d.resource(types, "response-outparam", [](State* s, uint32_t rep) {
    s->http.outparams.remove(rep);
  }));
  KILN_SET(t.incoming_response, d.resource(types, "incoming-response", [](State* s, uint32_t rep) {
    s->http.incoming_responses.remove(rep);
  }));
  KILN_SET(t.incoming_body, d.resource(types, "incoming-body", [](State* s, uint32_t rep) {
    s->http.incoming_bodies.remove(rep);
  }));
  KILN_SET(t.outgoing_body, d.resource(types, "outgoing-body", [](State* s, uint32_t rep) {
    s->http.outgoing_bodies.remove(rep);
  }));
  KILN_SET(t.outgoing_response, d.resource(types, "outgoing-response", [](State* s, uint32_t rep) {
    s->http.outgoing_responses.remove(rep);
  }));
  auto drop_future = [](State* s, uint32_t rep) { s->http.futures.remove(rep); };
  KILN_SET(t.future_trailers, d.resource(types, "future-trailers", drop_future));
  KILN_SET(t.future_incoming_response, d.resource(types, "future-incoming-response", drop_future));
  KILN_TRY(d.alias(types, "input-stream", t.input_stream));
  KILN_TRY(d.alias(types, "output-stream", t.output_stream));
  KILN_TRY(d.alias(types, "io-error", t.error));
  KILN_TRY(d.alias(types, "pollable", t.pollable));
  KILN_TRY(d.alias(types, "headers", t.fields));
  KILN_TRY(d.alias(types, "trailers", t.fields));
  const std::string outgoing = "wasi:http/outgoing-handler";
  KILN_TRY(d.alias(outgoing, "outgoing-request", t.outgoing_request));
  KILN_TRY(d.alias(outgoing, "request-options", t.request_options));
  KILN_TRY(d.alias(outgoing, "future-incoming-response", t.future_incoming_response));

  // The host's io errors are wasi:filesystem's error-codes, never an HTTP one.
  // The error-code behind an HTTP body stream's failure (an outgoing request's response that
  // broke off); none for another stream's error.
  KILN_TRY(d.function(types, "http-error-code", "e", [](State* s, Args a, Out r) -> TrapPtr {
    const StreamError* e = s->errors.get(a[0].rep);
    r = e && e->http_error_code ? some(error_code_of(HttpFailure{*e->http_error_code, ""}))
                                : none();
    return nullptr;
  }));

  // ---- fields ----
  KILN_TRY(d.function(types, "[constructor]fields", "", [](State* s, Args, Out r) -> TrapPtr {
    return new_fields(s, {}, false, *(r = V{}));
  }));
  KILN_TRY(d.function(types, "[static]fields.from-list", "l", [](State* s, Args a, Out r) {
    HttpHeaders entries;
    for (const V& entry : a[0].items) {
      if (entry.kind != K::kTuple || entry.items.size() != 2) {
        return host_trap("wasi:http/types: from-list takes (name, value) pairs");
      }
      std::string value = bytes_of(entry.items[1]);
      if (auto refused = check_field(entry.items[0].text, {value})) {
        r = header_error(*refused);
        return TrapPtr();
      }
      entries.emplace_back(entry.items[0].text, std::move(value));
    }
    V handle;
    if (TrapPtr t = new_fields(s, std::move(entries), false, handle)) return t;
    r = ok(std::move(handle));
    return TrapPtr();
  }));
  // A fields method: `f` gets the fields (null for a dropped handle: the call traps first).
  auto fields_method = [&](const std::string& name, const char* signature,
                           std::function<TrapPtr(State*, HttpState::Fields&, Args, Out)> f) {
    return d.function(types, "[method]fields." + name, signature,
                      [f](State* s, Args a, Out r) -> TrapPtr {
                        HttpState::Fields* fields = s->http.fields.get(a[0].rep);
                        if (!fields) return host_trap("wasi:http/types: unknown fields");
                        return f(s, *fields, a, r);
                      });
  };
  KILN_TRY(fields_method("get", "bs", [](State*, HttpState::Fields& f, Args a, Out r) {
    std::vector<V> values;
    for (const auto& [name, value] : f.entries)
      if (same_name(name, a[1].text)) values.push_back(V::bytes(value));
    r = list(std::move(values));
    return TrapPtr();
  }));
  KILN_TRY(fields_method("has", "bs", [](State*, HttpState::Fields& f, Args a, Out r) {
    r = bool_value(std::any_of(f.entries.begin(), f.entries.end(),
                               [&](const auto& e) { return same_name(e.first, a[1].text); }));
    return TrapPtr();
  }));
  // set, append and delete: `values` replace (set), join (append) or remove (delete) the name's.
  enum class Change { kSet, kAppend, kDelete };
  auto change = [](Change how) {
    return [how](State* s, HttpState::Fields& f, Args a, Out r) {
      const std::string& name = a[1].text;
      std::vector<std::string> values;
      if (how == Change::kSet) {
        for (const V& v : a[2].items) values.push_back(bytes_of(v));
      } else if (how == Change::kAppend) {
        values.push_back(bytes_of(a[2]));
      }
      if (f.immutable) {
        r = header_error(kImmutable);
        return TrapPtr();
      }
      if (auto refused = check_field(name, values)) {
        r = header_error(*refused);
        return TrapPtr();
      }
      // Charged before the change (no header-error says "too large": a trap, as wasmtime's
      // max-http-fields-size).
      uint64_t bytes = f.charge.bytes();
      if (how != Change::kAppend) {
        for (const auto& [n, v] : f.entries)
          if (same_name(n, name)) bytes -= field_bytes(n, v);
      }
      for (const std::string& v : values) bytes += field_bytes(name, v);
      if (!f.charge.set(s->store, bytes)) return fields_over_budget();
      if (how != Change::kAppend) {
        std::erase_if(f.entries, [&](const auto& e) { return same_name(e.first, name); });
      }
      for (std::string& v : values) f.entries.emplace_back(name, std::move(v));
      r = ok();
      return TrapPtr();
    };
  };
  KILN_TRY(fields_method("set", "bsl", change(Change::kSet)));
  KILN_TRY(fields_method("append", "bsl", change(Change::kAppend)));
  KILN_TRY(fields_method("delete", "bs", change(Change::kDelete)));
  KILN_TRY(fields_method("entries", "b", [](State*, HttpState::Fields& f, Args, Out r) {
    std::vector<V> entries;
    for (const auto& [name, value] : f.entries) {
      V pair;
      pair.kind = K::kTuple;
      pair.items = {V::string(name), V::bytes(value)};
      entries.push_back(std::move(pair));
    }
    r = list(std::move(entries));
    return TrapPtr();
  }));
  KILN_TRY(fields_method("clone", "b", [](State* s, HttpState::Fields& f, Args, Out r) {
    HttpHeaders copy = f.entries;  // `f` may move when the slab grows
    return new_fields(s, std::move(copy), false, *(r = V{}));
  }));

  // ---- incoming-request: the request a server hands to the guest ----
  auto incoming = [&](const std::string& name,
                      std::function<TrapPtr(State*, HttpState::IncomingRequest&, Out)> f) {
    return d.function(types, "[method]incoming-request." + name, "b",
                      [f](State* s, Args a, Out r) -> TrapPtr {
                        HttpState::IncomingRequest* q = s->http.incoming_requests.get(a[0].rep);
                        if (!q) return host_trap("wasi:http/types: unknown incoming-request");
                        return f(s, *q, r);
                      });
  };
  KILN_TRY(incoming("method", [](State*, HttpState::IncomingRequest& q, Out r) {
    r = q.method;
    return TrapPtr();
  }));
  KILN_TRY(incoming("path-with-query", [](State*, HttpState::IncomingRequest& q, Out r) {
    r = optional_string(q.path_with_query);
    return TrapPtr();
  }));
  KILN_TRY(incoming("scheme", [](State*, HttpState::IncomingRequest& q, Out r) {
    r = q.scheme ? some(*q.scheme) : none();
    return TrapPtr();
  }));
  KILN_TRY(incoming("authority", [](State*, HttpState::IncomingRequest& q, Out r) {
    r = optional_string(q.authority);
    return TrapPtr();
  }));
  // headers: immutable (types.wit), so a copy serves as the child resource.
  KILN_TRY(incoming("headers", [](State* s, HttpState::IncomingRequest& q, Out r) {
    HttpHeaders copy = q.headers;
    return new_fields(s, std::move(copy), true, *(r = V{}));
  }));
  KILN_TRY(incoming("consume", [](State* s, HttpState::IncomingRequest& q, Out r) {
    if (q.consumed) {
      r = err(V{});
      return TrapPtr();
    }
    q.consumed = true;
    std::shared_ptr<HttpBody> body = q.body;  // `q` may move when a slab grows
    V handle;
    if (TrapPtr t = s->own(s->incoming_body, s->http.incoming_bodies.add(s->store, {body}), handle))
      return t;
    r = ok(std::move(handle));
    return TrapPtr();
  }));

  // ---- incoming-body and future-trailers ----
  KILN_TRY(d.function(types, "[method]incoming-body.stream", "b", [](State* s, Args a, Out r) {
    return open_body_stream(s, a[0].rep, true, *(r = V{}));
  }));
  KILN_TRY(d.function(types, "[static]incoming-body.finish", "o", [](State* s, Args a, Out r) {
    HttpState::Body* b = s->http.incoming_bodies.get(a[0].rep);
    if (!b) return host_trap("wasi:http/types: unknown incoming-body");
    if (stream_alive(s, *b->body, true)) {
      return host_trap("wasi:http/types: incoming-body.finish while its input-stream is alive");
    }
    s->http.incoming_bodies.remove(a[0].rep);
    HttpState::Future trailers;
    trailers.value = ok(none());  // result<option<trailers>, error-code>: no trailers
    return s->own(s->future_trailers, s->http.futures.add(s->store, std::move(trailers)),
                  *(r = V{}));
  }));
  for (const char* future : {"future-trailers", "future-incoming-response"}) {
    KILN_TRY(d.function(
        types, std::string("[method]") + future + ".subscribe", "b",
        [](State* s, Args a, Out r) { return subscribe_future(s, a[0].rep, *(r = V{})); }));
    KILN_TRY(
        d.function(types, std::string("[method]") + future + ".get", "b",
                   [](State* s, Args a, Out r) { return take_future(s, a[0].rep, *(r = V{})); }));
  }

  // ---- outgoing-response and outgoing-body: what the guest answers with ----
  KILN_TRY(d.function(types, "[constructor]outgoing-response", "F", [](State* s, Args a, Out r) {
    HttpState::OutgoingResponse response;
    response.headers = take_fields(s, a[0], &response.headers_charge);
    return s->own(s->outgoing_response,
                  s->http.outgoing_responses.add(s->store, std::move(response)), *(r = V{}));
  }));
  auto response_method =
      [&](const std::string& name, const char* signature,
          std::function<TrapPtr(State*, HttpState::OutgoingResponse&, Args, Out)> f) {
        return d.function(types, "[method]outgoing-response." + name, signature,
                          [f](State* s, Args a, Out r) -> TrapPtr {
                            auto* response = s->http.outgoing_responses.get(a[0].rep);
                            if (!response)
                              return host_trap("wasi:http/types: unknown outgoing-response");
                            return f(s, *response, a, r);
                          });
      };
  KILN_TRY(response_method("status-code", "b",
                           [](State*, HttpState::OutgoingResponse& response, Args, Out r) {
                             r = V::integer(K::kU16, response.status);
                             return TrapPtr();
                           }));
  KILN_TRY(response_method("set-status-code", "bu",
                           [](State*, HttpState::OutgoingResponse& response, Args a, Out r) {
                             // A status is three digits (RFC 9110 section 15).
                             if (a[1].bits < 100 || a[1].bits > 999) {
                               r = err(V{});
                               return TrapPtr();
                             }
                             response.status = static_cast<uint16_t>(a[1].bits);
                             r = ok();
                             return TrapPtr();
                           }));
  KILN_TRY(response_method("headers", "b",
                           [](State* s, HttpState::OutgoingResponse& response, Args, Out r) {
                             HttpHeaders copy = response.headers;
                             return new_fields(s, std::move(copy), true, *(r = V{}));
                           }));
  // body: at most once; a body never asked for is an empty one (a 204 is still sent).
  auto body_of = [](State* s, std::shared_ptr<HttpBody>& body, Out r) {
    if (body) {
      r = err(V{});
      return TrapPtr();
    }
    body = std::make_shared<HttpBody>();
    std::shared_ptr<HttpBody> keep = body;  // `body` may move when the slab grows
    V handle;
    if (TrapPtr t =
            s->own(s->outgoing_body, s->http.outgoing_bodies.add(s->store, {keep}), handle)) {
      return t;
    }
    r = ok(std::move(handle));
    return TrapPtr();
  };
  KILN_TRY(response_method("body", "b",
                           [body_of](State* s, HttpState::OutgoingResponse& response, Args, Out r) {
                             return body_of(s, response.body, r);
                           }));
  KILN_TRY(d.function(types, "[method]outgoing-body.write", "b", [](State* s, Args a, Out r) {
    return open_body_stream(s, a[0].rep, false, *(r = V{}));
  }));
  KILN_TRY(d.function(types, "[static]outgoing-body.finish", "op", [](State* s, Args a, Out r) {
    HttpState::Body* b = s->http.outgoing_bodies.get(a[0].rep);
    if (!b) return host_trap("wasi:http/types: unknown outgoing-body");
    if (stream_alive(s, *b->body, false)) {
      return host_trap("wasi:http/types: outgoing-body.finish while its output-stream is alive");
    }
    if (!a[1].items.empty()) {  // trailers: held by the host now; HTTP/1.1 bodies of known
                                // length carry none, so they are dropped
      const V& trailers = a[1].items[0];
      if (trailers.kind != K::kOwn || trailers.resource != s->fields) {
        return host_trap("wasi:http/types: outgoing-body.finish takes fields as trailers");
      }
      take_fields(s, trailers);
    }
    b->body->finished = true;
    if (b->body->pipe) b->body->pipe->finish();  // a request's body: its end goes out
    std::shared_ptr<HttpBody> body = b->body;
    s->http.outgoing_bodies.remove(a[0].rep);
    // A response going out through the request's sink: the rest of it, and its end.
    if (s->http.streaming && s->http.response && s->http.response->body == body) {
      auto sent = send_response_body(s, *body);
      if (sent) sent = s->http.sink->finish(s->interrupt());
      if (!sent) {
        if (sent.error().interrupted) return Trap::make(TrapCode::kDeadlineExceeded);
        if (s->http.stream_error.empty()) s->http.stream_error = "the client took no more";
        r = err(error_code_of(HttpFailure{HttpFailure::kInternalError, s->http.stream_error}));
        return TrapPtr();
      }
    }
    r = ok();
    return TrapPtr();
  }));

  // ---- response-outparam: the guest's answer ----
  KILN_TRY(d.function(types, "[static]response-outparam.set", "Or", [](State* s, Args a, Out) {
    if (!s->http.outparams.get(a[0].rep)) {
      return host_trap("wasi:http/types: unknown response-outparam");
    }
    s->http.outparams.remove(a[0].rep);
    const V& response = a[1];
    if (response.index == 0) {
      if (response.items.empty() || response.items[0].kind != K::kOwn ||
          response.items[0].resource != s->outgoing_response) {
        return host_trap("wasi:http/types: response-outparam.set takes an outgoing-response");
      }
      const uint32_t rep = response.items[0].rep;
      HttpState::OutgoingResponse* taken = s->http.outgoing_responses.get(rep);
      if (!taken) return host_trap("wasi:http/types: unknown outgoing-response");
      s->http.response = std::move(*taken);
      s->http.outgoing_responses.remove(rep);
    } else {
      const V* code = response.items.empty() ? nullptr : &response.items[0];
      s->http.error = "the guest answered with error-code case " +
                      std::to_string(code ? code->index : 0) +
                      (code && !code->items.empty() && code->items[0].index == 1 &&
                               !code->items[0].items.empty()
                           ? " (" + code->items[0].items[0].text + ")"
                           : std::string());
    }
    s->http.answered = true;
    return TrapPtr();
  }));

  // send-informational (@unstable(feature = informational-outbound-responses)): a 1xx response
  // through the server's sink before the final one; HTTP-protocol-error for another status.
  KILN_TRY(d.function(
      types, "[method]response-outparam.send-informational", "buF", [](State* s, Args a, Out r) {
        if (!s->http.outparams.get(a[0].rep)) {
          return host_trap("wasi:http/types: unknown response-outparam");
        }
        const HttpHeaders headers = take_fields(s, a[2]);
        const uint64_t status = a[1].bits;
        auto refuse = [&](uint32_t code, std::string why) {
          r = err(error_code_of(HttpFailure{code, std::move(why)}));
          return TrapPtr();
        };
        if (status < 100 || status > 199) {
          return refuse(HttpFailure::kHttpProtocolError, "");
        }
        // 101 would switch the connection's protocol, which no server here does.
        if (status == 101) {
          return refuse(HttpFailure::kInternalError, "101 Switching Protocols is not supported");
        }
        if (!s->http.sink) {
          return refuse(HttpFailure::kInternalError, "informational responses are not supported");
        }
        auto sent =
            s->http.sink->informational(static_cast<uint16_t>(status), headers, s->interrupt());
        if (!sent) {
          if (sent.error().interrupted) return Trap::make(TrapCode::kDeadlineExceeded);
          r = err(error_code_of(sent.error()));
          return TrapPtr();
        }
        r = ok();
        return TrapPtr();
      }));

  // ---- outgoing-request and request-options ----
  KILN_TRY(d.function(types, "[constructor]outgoing-request", "F", [](State* s, Args a, Out r) {
    HttpState::OutgoingRequest request;
    request.method = variant(0);  // get
    request.headers = take_fields(s, a[0], &request.headers_charge);
    return s->own(s->outgoing_request, s->http.outgoing_requests.add(s->store, std::move(request)),
                  *(r = V{}));
  }));
  auto request_method =
      [&](const std::string& name, const char* signature,
          std::function<TrapPtr(State*, HttpState::OutgoingRequest&, Args, Out)> f) {
        return d.function(types, "[method]outgoing-request." + name, signature,
                          [f](State* s, Args a, Out r) -> TrapPtr {
                            auto* request = s->http.outgoing_requests.get(a[0].rep);
                            if (!request)
                              return host_trap("wasi:http/types: unknown outgoing-request");
                            return f(s, *request, a, r);
                          });
      };
  KILN_TRY(request_method("body", "b",
                          [body_of](State* s, HttpState::OutgoingRequest& request, Args, Out r) {
                            return body_of(s, request.body, r);
                          }));
  KILN_TRY(request_method("method", "b", [](State*, HttpState::OutgoingRequest& q, Args, Out r) {
    r = q.method;
    return TrapPtr();
  }));
  KILN_TRY(
      request_method("set-method", "bv", [](State*, HttpState::OutgoingRequest& q, Args a, Out r) {
        if (!valid_method(a[1])) {
          r = err(V{});
          return TrapPtr();
        }
        q.method = a[1];
        r = ok();
        return TrapPtr();
      }));
  // The optional string parts: path-with-query and authority.
  using Part = std::optional<std::string> HttpState::OutgoingRequest::*;
  for (const auto& named : {std::pair<std::string, Part>{
                                "path-with-query", &HttpState::OutgoingRequest::path_with_query},
                            {"authority", &HttpState::OutgoingRequest::authority}}) {
    const std::string& name = named.first;
    const Part part = named.second;  // a variable (clang 14 captures no structured binding)
    KILN_TRY(request_method(name, "b", [part](State*, HttpState::OutgoingRequest& q, Args, Out r) {
      r = optional_string(q.*part);
      return TrapPtr();
    }));
    KILN_TRY(request_method("set-" + name, "bp",
                            [part](State*, HttpState::OutgoingRequest& q, Args a, Out r) {
                              std::optional<std::string> value;
                              if (!a[1].items.empty()) value = a[1].items[0].text;
                              if (value && !valid_uri_part(*value)) {
                                r = err(V{});
                                return TrapPtr();
                              }
                              q.*part = std::move(value);
                              r = ok();
                              return TrapPtr();
                            }));
  }
  KILN_TRY(request_method("scheme", "b", [](State*, HttpState::OutgoingRequest& q, Args, Out r) {
    r = q.scheme ? some(*q.scheme) : none();
    return TrapPtr();
  }));
  KILN_TRY(
      request_method("set-scheme", "bp", [](State*, HttpState::OutgoingRequest& q, Args a, Out r) {
        if (a[1].items.empty()) {
          q.scheme.reset();
        } else {
          const V& scheme = a[1].items[0];
          if (scheme.index == 2 &&
              (scheme.items.empty() || !valid_field_name(scheme.items[0].text))) {
            r = err(V{});
            return TrapPtr();
          }
          q.scheme = scheme;
        }
        r = ok();
        return TrapPtr();
      }));
  KILN_TRY(request_method("headers", "b", [](State* s, HttpState::OutgoingRequest& q, Args, Out r) {
    HttpHeaders copy = q.headers;
    return new_fields(s, std::move(copy), true, *(r = V{}));
  }));

  KILN_TRY(d.function(types, "[constructor]request-options", "", [](State* s, Args, Out r) {
    return s->own(s->request_options, s->http.request_options.add(s->store, {}), *(r = V{}));
  }));
  using Timeout = std::optional<uint64_t> HttpState::RequestOptions::*;
  for (const auto& named :
       {std::pair<std::string, Timeout>{"connect-timeout",
                                        &HttpState::RequestOptions::connect_timeout},
        {"first-byte-timeout", &HttpState::RequestOptions::first_byte_timeout},
        {"between-bytes-timeout", &HttpState::RequestOptions::between_bytes_timeout}}) {
    const std::string& name = named.first;
    const Timeout timeout = named.second;
    KILN_TRY(d.function(types, "[method]request-options." + name, "b",
                        [timeout](State* s, Args a, Out r) -> TrapPtr {
                          auto* options = s->http.request_options.get(a[0].rep);
                          if (!options)
                            return host_trap("wasi:http/types: unknown request-options");
                          r = options->*timeout ? some(u64(*(options->*timeout))) : none();
                          return nullptr;
                        }));
    KILN_TRY(d.function(types, "[method]request-options.set-" + name, "bp",
                        [timeout](State* s, Args a, Out r) -> TrapPtr {
                          auto* options = s->http.request_options.get(a[0].rep);
                          if (!options)
                            return host_trap("wasi:http/types: unknown request-options");
                          options->*timeout = a[1].items.empty()
                                                  ? std::nullopt
                                                  : std::optional<uint64_t>(a[1].items[0].bits);
                          r = ok();
                          return nullptr;
                        }));
  }

  // ---- incoming-response (what an outgoing request would bring back) ----
  auto incoming_response =
      [&](const std::string& name,
          std::function<TrapPtr(State*, HttpState::IncomingResponse&, Out)> f) {
        return d.function(types, "[method]incoming-response." + name, "b",
                          [f](State* s, Args a, Out r) -> TrapPtr {
                            auto* response = s->http.incoming_responses.get(a[0].rep);
                            if (!response)
                              return host_trap("wasi:http/types: unknown incoming-response");
                            return f(s, *response, r);
                          });
      };
  KILN_TRY(incoming_response("status", [](State*, HttpState::IncomingResponse& q, Out r) {
    r = V::integer(K::kU16, q.status);
    return TrapPtr();
  }));
  KILN_TRY(incoming_response("headers", [](State* s, HttpState::IncomingResponse& q, Out r) {
    HttpHeaders copy = q.headers;
    return new_fields(s, std::move(copy), true, *(r = V{}));
  }));
  KILN_TRY(incoming_response("consume", [](State* s, HttpState::IncomingResponse& q, Out r) {
    if (q.consumed) {
      r = err(V{});
      return TrapPtr();
    }
    q.consumed = true;
    std::shared_ptr<HttpBody> body = q.body;
    V handle;
    if (TrapPtr t = s->own(s->incoming_body, s->http.incoming_bodies.add(s->store, {body}), handle))
      return t;
    r = ok(std::move(handle));
    return TrapPtr();
  }));

  // ---- outgoing-handler: requests to granted authorities (WasiConfig::allowed_http), sent at
  // once by the configured HttpSender; every other is refused ----
  KILN_TRY(d.function(outgoing, "handle", "Rp", [](State* s, Args a, Out r) -> TrapPtr {
    HttpState::OutgoingRequest* q = s->http.outgoing_requests.get(a[0].rep);
    if (!q) return host_trap("wasi:http/outgoing-handler.handle: unknown outgoing-request");
    HttpRequest request;
    request.method = method_text(q->method);
    request.scheme = !q->scheme                 ? "http"
                     : q->scheme->index == 0    ? "http"
                     : q->scheme->index == 1    ? "https"
                     : q->scheme->items.empty() ? ""
                                                : q->scheme->items[0].text;
    request.authority = q->authority.value_or("");
    request.path_with_query = q->path_with_query.value_or("/");
    request.headers = std::move(q->headers);
    std::shared_ptr<HttpBody> body = q->body;
    s->http.outgoing_requests.remove(a[0].rep);  // the host owns it now
    if (!a[1].items.empty()) {
      const V& options = a[1].items[0];
      if (options.kind != K::kOwn || options.resource != s->request_options) {
        return host_trap("wasi:http/outgoing-handler.handle takes request-options");
      }
      if (const HttpState::RequestOptions* o = s->http.request_options.get(options.rep)) {
        request.connect_timeout_ns = o->connect_timeout;
        request.first_byte_timeout_ns = o->first_byte_timeout;
        request.between_bytes_timeout_ns = o->between_bytes_timeout;
      }
      s->http.request_options.remove(options.rep);
    }
    if (request.authority.empty() || !valid_uri_part(request.authority)) {
      r = err(variant(HttpFailure::kHttpRequestUriInvalid));
      return nullptr;
    }
    const WasiConfig& config = s->context.config();
    if (!config.http_sender || (request.scheme != "http" && request.scheme != "https") ||
        !authority_granted(config.allowed_http, request.scheme, request.authority)) {
      r = err(variant(HttpFailure::kHttpRequestDenied));
      return nullptr;
    }
    // A body the guest finished goes whole; one it still writes streams through a pipe (and an
    // unfinished body dropped later cuts the request off).
    if (body && body->finished) {
      request.body = std::move(body->bytes);
    } else if (body) {
      auto pipe = std::make_shared<HttpBodyPipe>(std::move(body->bytes));
      if (!pipe->valid()) {
        r = err(error_code_of(HttpFailure{HttpFailure::kInternalError, "no eventfd"}));
        return nullptr;
      }
      body->pipe = pipe;
      request.body_stream = std::move(pipe);
    }
    // The bytes went to the request (a pipe holds at most HttpBodyPipe::kMaxUnsent more).
    if (body) body->charge.set(s->store, 0);
    HttpState::Future future;
    start_exchange(s, future, std::move(request));
    V handle;
    if (TrapPtr t = s->own(s->future_incoming_response,
                           s->http.futures.add(s->store, std::move(future)), handle)) {
      return t;
    }
    r = ok(std::move(handle));
    return nullptr;
  }));
  return {};
}

}  // namespace preview2

std::string incoming_handler_export(const component::ValidatedComponent& component) {
  for (const auto& e : component.type->exports) {
    if (e.name.rfind("wasi:http/incoming-handler@0.2.", 0) == 0) return e.name;
  }
  return {};
}

Result<HttpResponse> handle_http_request(Store& store, component::ComponentInstance& instance,
                                         const std::string& handler_export, HttpRequest request,
                                         TrapPtr* trap, HttpResponseSink* sink) {
  State* s = State::of(store);
  if (!s) return Error{ErrorKind::kUsage, "the store has no WASI state (Preview2::attach)"};
  component::ComponentFunction* handle = instance.exported_function(handler_export + "#handle");
  if (!handle) {
    return Error{ErrorKind::kUnlinkable,
                 "the component exports no `" + handler_export + "#handle`"};
  }
  HttpState::IncomingRequest incoming;
  incoming.method = method_value(request.method);
  incoming.scheme = scheme_value(request.scheme);
  if (!request.authority.empty()) incoming.authority = std::move(request.authority);
  incoming.path_with_query = std::move(request.path_with_query);
  for (auto& [name, value] : request.headers) {
    if (!valid_field_name(name) || !valid_field_value(value)) {
      return Error{ErrorKind::kUsage, "the request has an invalid header field `" + name + "`"};
    }
    if (!forbidden_field(name)) incoming.headers.emplace_back(std::move(name), std::move(value));
  }
  incoming.body = std::make_shared<HttpBody>();
  incoming.body->bytes = std::move(request.body);
  incoming.body->source = std::move(request.body_stream);
  s->http.answered = false;
  s->http.response.reset();
  s->http.error.clear();
  s->http.sink = sink;
  s->http.streaming = false;
  s->http.flush_requested = false;
  s->http.started_cpu_ns = clock_now_ns(CLOCK_THREAD_CPUTIME_ID);
  s->http.started_wall_ns = clock_now_ns(CLOCK_MONOTONIC);
  s->http.stream_error.clear();
  struct ForgetSink {  // the sink is the caller's for this call only
    HttpState& http;
    ~ForgetSink() { http.sink = nullptr; }
  } forget{s->http};
  auto request_rep = s->http.incoming_requests.add(s->store, std::move(incoming));
  auto outparam_rep = s->http.outparams.add(s->store, true);
  if (!request_rep || !outparam_rep) return Error{ErrorKind::kLimit, "too many WASI resources"};

  std::optional<V> nothing;
  TrapPtr trapped = component::call_component_function(
      store, *handle,
      {V::own(s->incoming_request, *request_rep), V::own(s->response_outparam, *outparam_rep)},
      nothing);
  if (trapped) {
    Error error{ErrorKind::kUsage, "the handler trapped: " + trapped->to_string()};
    if (trap) *trap = std::move(trapped);
    return error;
  }
  if (!s->http.answered) {
    return Error{ErrorKind::kUsage,
                 "the handler returned without setting a response (response-outparam.set)"};
  }
  if (!s->http.response) return Error{ErrorKind::kUsage, s->http.error};
  HttpState::OutgoingResponse& answer = *s->http.response;
  if (s->http.streaming) {
    if (!s->http.stream_error.empty()) {
      return Error{ErrorKind::kUsage, "the response was cut short: " + s->http.stream_error};
    }
    if (!answer.body->finished) {
      return Error{ErrorKind::kUsage,
                   "the handler left the response body unfinished (outgoing-body.finish) after "
                   "sending part of it"};
    }
    HttpResponse response;
    response.status = answer.status;
    response.streamed = true;
    return response;
  }
  HttpResponse response;
  response.status = answer.status;
  response.headers = std::move(answer.headers);
  if (answer.body) {
    if (!answer.body->finished) {
      return Error{ErrorKind::kUsage,
                   "the handler left the response body unfinished (outgoing-body.finish)"};
    }
    response.body = std::move(answer.body->bytes);
  }
  for (const auto& [name, value] : response.headers) {
    if (same_name(name, "content-length") && value != std::to_string(response.body.size())) {
      return Error{ErrorKind::kUsage, "the handler's content-length " + value +
                                          " does not match its body of " +
                                          std::to_string(response.body.size()) + " bytes"};
    }
  }
  return response;
}

}  // namespace kiln::wasi
