#include "cli/http_client.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <strings.h>

#include <charconv>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

namespace kiln::cli {

namespace {

// libcurl is loaded when the first outgoing request is sent, not linked: linked, it brought 33
// shared libraries (TLS, Kerberos, LDAP, ...) into every `kiln run`, a third of a hello-world's
// start-up spent binding their symbols.
struct Curl {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
  int (*strequal)(const char*, const char*);
  // OpenSSL's OPENSSL_thread_stop when libcurl brought OpenSSL 3 in (else null).
  void (*tls_thread_stop)();
};

// The library's functions, or null when libcurl.so.4 cannot be loaded.
const Curl* curl_library() {
  static const Curl* loaded = []() -> const Curl* {
    void* library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) return nullptr;
    static Curl c;
    bool complete = true;
    auto load = [&](auto& function, const char* name) {
      function =
          reinterpret_cast<std::remove_reference_t<decltype(function)>>(dlsym(library, name));
      complete = complete && function;
    };
    load(c.global_init, "curl_global_init");
    load(c.easy_init, "curl_easy_init");
    load(c.easy_cleanup, "curl_easy_cleanup");
    load(c.easy_setopt, "curl_easy_setopt");
    load(c.easy_perform, "curl_easy_perform");
    load(c.easy_getinfo, "curl_easy_getinfo");
    load(c.easy_strerror, "curl_easy_strerror");
    load(c.slist_append, "curl_slist_append");
    load(c.slist_free_all, "curl_slist_free_all");
    load(c.strequal, "curl_strequal");
    if (!complete || c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return nullptr;
    if (void* crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_NOLOAD)) {
      c.tls_thread_stop = reinterpret_cast<void (*)()>(dlsym(crypto, "OPENSSL_thread_stop"));
    }
    return &c;
  }();
  return loaded;
}

// One request's transfer: the response's headers until its head goes to the guest, which is at
// its first body bytes or its end.
struct Transfer {
  const Curl* lib = nullptr;
  const wasi::HttpRequest* request = nullptr;
  bool body_cut_off = false;  // the guest's body ended without its finish
  CURL* curl = nullptr;
  wasi::HttpResponseReceiver* receiver = nullptr;
  wasi::HttpHeaders headers;
  bool head_sent = false;
  const wasi::WaitInterrupt* interrupt = nullptr;
  bool interrupted = false;

  void send_head() {
    if (head_sent) return;
    head_sent = true;
    long status = 0;
    lib->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    receiver->head(static_cast<uint16_t>(status), std::move(headers));
  }
};

// The body's bytes go to the guest as they come (the receiver waits while the guest is behind).
size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->send_head();
  if (!t->receiver->body(std::string_view(data, n))) {
    t->interrupted = true;  // the guest gave up on the response
    return 0;               // ends the transfer (CURLE_WRITE_ERROR)
  }
  return n;
}

// The request's body as the guest writes it (the read waits for it); an error (the guest
// dropped the body unfinished, or gave up on the request) aborts the transfer.
size_t on_request_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  bool would_block = false;
  auto n = t->request->body_stream->read(
      std::span<uint8_t>(reinterpret_cast<uint8_t*>(data), size * count), true, would_block,
      *t->interrupt);
  if (!n) {
    t->body_cut_off = true;
    return CURL_READFUNC_ABORT;
  }
  return *n;
}

// The Content-Length the guest gave its request, if it gave a valid one.
std::optional<uint64_t> declared_length(const wasi::HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (name.size() != 14 || strncasecmp(name.c_str(), "content-length", 14) != 0) continue;
    uint64_t length = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec == std::errc() && end == value.data() + value.size()) return length;
  }
  return std::nullopt;
}

// Header lines, one per call: a status line starts a new response (an interim 1xx one came
// before); "Name: value" lines are its fields.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    t->headers.clear();
  } else if (const size_t colon = line.find(':'); colon != std::string::npos && colon > 0) {
    size_t value = colon + 1;
    while (value < line.size() && (line[value] == ' ' || line[value] == '\t')) ++value;
    t->headers.emplace_back(line.substr(0, colon), line.substr(value));
  }
  return size * count;
}

// Asked about once a second, and more often while data moves: the store's deadline ends the
// transfer.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (*t->interrupt && (*t->interrupt)()) {
    t->interrupted = true;
    return 1;
  }
  return 0;
}

wasi::HttpFailure failure_of(const Curl& curl, CURLcode code, const Transfer& t) {
  using F = wasi::HttpFailure;
  F f;
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      f.error_code = F::kDestinationNotFound;
      break;
    case CURLE_COULDNT_CONNECT:
      f.error_code = F::kConnectionRefused;
      break;
    case CURLE_OPERATION_TIMEDOUT:
      f.error_code = F::kConnectionTimeout;
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
      f.error_code = F::kTlsCertificateError;
      break;
    case CURLE_SSL_CONNECT_ERROR:
      f.error_code = F::kTlsProtocolError;
      break;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      f.error_code = F::kHttpResponseIncomplete;
      break;
    case CURLE_WEIRD_SERVER_REPLY:
      f.error_code = F::kHttpProtocolError;
      break;
    default:
      f.error_code = F::kInternalError;
      f.message = curl.easy_strerror(code);
  }
  if (t.body_cut_off) f = F{F::kInternalError, "the request's body was not finished", false};
  if (t.interrupted) f.interrupted = true;
  return f;
}

Result<void, wasi::HttpFailure> send(const wasi::HttpRequest& request,
                                     wasi::HttpResponseReceiver& receiver,
                                     const wasi::WaitInterrupt& interrupt) {
  const Curl* lib = curl_library();
  if (!lib) {
    return wasi::HttpFailure{wasi::HttpFailure::kInternalError,
                             "kiln cannot load libcurl.so.4 to send the request"};
  }
  // Requests are sent on threads of their own (wasi/http.cpp) that nobody joins: OpenSSL's state
  // for this thread goes when the transfer does (after the handle, declared below), not in the
  // thread's exit, which a process that ends as soon as it has the response races (LeakSanitizer
  // saw that state leaked).
  struct TlsThreadStop {
    const Curl* lib;
    ~TlsThreadStop() {
      if (lib->tls_thread_stop) lib->tls_thread_stop();
    }
  } tls_thread_stop{lib};
  std::unique_ptr<CURL, void (*)(CURL*)> curl(lib->easy_init(), lib->easy_cleanup);
  if (!curl) return wasi::HttpFailure{wasi::HttpFailure::kInternalError, "curl_easy_init failed"};
  CURL* c = curl.get();
  Transfer t;
  t.lib = lib;
  t.request = &request;
  t.curl = c;
  t.receiver = &receiver;
  t.interrupt = &interrupt;
  const std::string url = request.scheme + "://" + request.authority + request.path_with_query;
  lib->easy_setopt(c, CURLOPT_URL, url.c_str());
  lib->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  lib->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is the guest's to follow
  lib->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (request.method == "HEAD") {
    lib->easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.body_stream) {  // the guest still writes it: sent as it comes
    lib->easy_setopt(c, CURLOPT_POST, 1L);
    lib->easy_setopt(c, CURLOPT_READFUNCTION, on_request_body);
    lib->easy_setopt(c, CURLOPT_READDATA, &t);
    // The guest's Content-Length, or chunked without one.
    lib->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(declared_length(request).value_or(-1)));
  } else if (!request.body.empty() || request.method != "GET") {
    lib->easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    lib->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  lib->easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, lib->slist_free_all);
  // No "Expect: 100-continue" wait, and no Content-Type curl would add for a body.
  for (const char* own : {"Expect:", "Content-Type:"}) {
    headers.reset(lib->slist_append(headers.release(), own));
  }
  for (const auto& [name, value] : request.headers) {
    if (lib->strequal(name.c_str(), "content-length")) continue;  // curl counts the body
    const std::string line = name + ": " + value;
    headers.reset(lib->slist_append(headers.release(), line.c_str()));
  }
  lib->easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (request.connect_timeout_ns) {
    lib->easy_setopt(
        c, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(std::max<uint64_t>(*request.connect_timeout_ns / 1000000, 1)));
  }
  lib->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  lib->easy_setopt(c, CURLOPT_WRITEDATA, &t);
  lib->easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  lib->easy_setopt(c, CURLOPT_HEADERDATA, &t);
  lib->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  lib->easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  lib->easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  const CURLcode code = lib->easy_perform(c);
  if (code != CURLE_OK) return failure_of(*lib, code, t);
  t.send_head();  // a response without a body
  return {};
}

}  // namespace

wasi::HttpSender curl_http_sender() {
  return send;
}

}  // namespace kiln::cli
