#include "cli/http_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <string>

namespace kiln::cli {

namespace {

constexpr uint64_t kMaxResponseBytes = 1u << 28;  // as HttpBody::kMaxBytes

struct Transfer {
  wasi::HttpResponse response;
  const wasi::WaitInterrupt* interrupt = nullptr;
  bool too_large = false;
  bool interrupted = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->response.body.size() + n > kMaxResponseBytes) {
    t->too_large = true;
    return 0;  // ends the transfer (CURLE_WRITE_ERROR)
  }
  t->response.body.append(data, n);
  return n;
}

// Header lines, one per call: a status line starts a new response (an interim 1xx one came
// before); "Name: value" lines are its fields.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();
  } else if (const size_t colon = line.find(':'); colon != std::string::npos && colon > 0) {
    size_t value = colon + 1;
    while (value < line.size() && (line[value] == ' ' || line[value] == '\t')) ++value;
    t->response.headers.emplace_back(line.substr(0, colon), line.substr(value));
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

wasi::HttpFailure failure_of(CURLcode code, const Transfer& t) {
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
      f.message = curl_easy_strerror(code);
  }
  if (t.too_large) f = F{F::kHttpResponseBodySize, "", false};
  if (t.interrupted) f.interrupted = true;
  return f;
}

Result<wasi::HttpResponse, wasi::HttpFailure> send(const wasi::HttpRequest& request,
                                                   const wasi::WaitInterrupt& interrupt) {
  static std::once_flag initialized;
  std::call_once(initialized, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return wasi::HttpFailure{wasi::HttpFailure::kInternalError, "curl_easy_init failed"};
  CURL* c = curl.get();
  Transfer t;
  t.interrupt = &interrupt;
  const std::string url = request.scheme + "://" + request.authority + request.path_with_query;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is the guest's to follow
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (!request.body.empty() || request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  // No "Expect: 100-continue" wait, and no Content-Type curl would add for a body.
  for (const char* own : {"Expect:", "Content-Type:"}) {
    headers.reset(curl_slist_append(headers.release(), own));
  }
  for (const auto& [name, value] : request.headers) {
    if (curl_strequal(name.c_str(), "content-length")) continue;  // curl counts the body
    const std::string line = name + ": " + value;
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (request.connect_timeout_ns) {
    curl_easy_setopt(
        c, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(std::max<uint64_t>(*request.connect_timeout_ns / 1000000, 1)));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  const CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) return failure_of(code, t);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  t.response.status = static_cast<uint16_t>(status);
  return std::move(t.response);
}

}  // namespace

wasi::HttpSender curl_http_sender() {
  return send;
}

}  // namespace kiln::cli
