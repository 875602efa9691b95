// `kiln serve` (serve.h): HTTP/1.1 from Boost.Beast over Boost.Asio, an io_context per worker
// thread (one per core), each run by its thread alone. Each connection is a Session on one of
// them, handed out in turn: it reads a request (Beast parses chunked bodies and enforces the
// body limit), runs a fresh instance of the component in a fresh store with the request's
// budgets, writes the response, and reads the next one while the client keeps the connection
// alive. A response whose body the guest flushes before it
// finishes goes out as it is written (StreamingResponse: chunked, or as the guest's
// Content-Length says), from the thread that runs the guest.
//
// What is shared across requests and threads is immutable once the server starts: the engine,
// the validated component with its compiled modules (DESIGN-NOTES section 6), the linker with
// the WASI host functions, and the WasiContext's grants. What a request changes is its own: the
// store, the instance, the WASI state (Preview2::attach).
#include "cli/serve.h"

#include <fmt/core.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "component/component_decoder.h"
#include "component/component_linker.h"
#include "runtime/epoch_timer.h"
#include "wasi/http.h"
#include "wasi/preview2.h"

namespace kiln::cli {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// An idle keep-alive connection is closed after this long.
constexpr std::chrono::seconds kIdleTimeout{30};
// A deadline (--timeout) is counted in this many epoch ticks: a request is stopped between 1 and
// 1.1 times its timeout after it starts.
constexpr uint64_t kTicksPerTimeout = 10;

class Server;

// RFC 9110 sections 15.2, 15.3.5 and 15.4.5: 1xx, 204 and 304 responses carry no body (nor, but
// for a 304's, which would describe the resource, a Content-Length).
bool status_has_body(unsigned status) {
  return status >= 200 && status != 204 && status != 304;
}

// Beast knows the reason phrases of the statuses it registers only, and writes
// "<unknown-status>" for the others (418, 103): those get RFC 8297's phrase for 103 and their
// class's name otherwise (RFC 9112 section 4: clients ignore the phrase).
template <class Body>
void set_status(http::response<Body>& response, unsigned status) {
  response.result(status);
  if (http::obsolete_reason(response.result()) != "<unknown-status>") return;
  static constexpr const char* kClasses[] = {"Unknown",     "Informational", "Success",
                                             "Redirection", "Client Error",  "Server Error"};
  response.reason(status == 103 ? "Early Hints" : kClasses[status / 100 < 6 ? status / 100 : 0]);
}

// Writes to a connection's socket from the thread that runs the guest (a Beast SyncWriteStream):
// non-blocking sends, and waits for room that end at the store's deadline (`interrupt`).
class GuestThreadWriter {
 public:
  GuestThreadWriter(int fd, const wasi::WaitInterrupt& interrupt)
      : fd_(fd), interrupt_(interrupt) {}
  bool interrupted() const { return interrupted_; }

  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers, beast::error_code& ec) {
    ec = {};
    iovec parts[16];
    size_t count = 0;
    for (auto it = asio::buffer_sequence_begin(buffers);
         it != asio::buffer_sequence_end(buffers) && count < std::size(parts); ++it) {
      const asio::const_buffer b = *it;
      if (b.size() == 0) continue;
      parts[count++] = {const_cast<void*>(b.data()), b.size()};
    }
    if (count == 0) return 0;
    for (;;) {
      msghdr message{};
      message.msg_iov = parts;
      message.msg_iovlen = count;
      const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ec = beast::error_code(errno, beast::system_category());
        return 0;
      }
      struct pollfd p {
        fd_, POLLOUT, 0
      };
      if (wasi::interruptible_poll(&p, 1, -1, interrupt_) == wasi::kWaitInterrupted) {
        interrupted_ = true;
        ec = asio::error::timed_out;
        return 0;
      }
    }
  }
  // Beast's concept asks for the throwing form too; kiln calls only the one above.
  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers) {
    beast::error_code ec;
    const size_t n = write_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  int fd_;
  const wasi::WaitInterrupt& interrupt_;
  bool interrupted_ = false;
};

// A response sent while the guest writes its body (wasi::HttpResponseSink): the head at the
// guest's first flush, then its bytes: in chunks, or as they are when the guest gave a
// Content-Length (which they must then match), or, for HTTP/1.0, until the connection closes.
// A HEAD request or a status without a body (1xx, 204, 304) gets the head alone.
class StreamingResponse final : public wasi::HttpResponseSink {
 public:
  StreamingResponse(int fd, unsigned version, bool head_request, bool keep_alive)
      : fd_(fd), version_(version), head_request_(head_request), keep_alive_(keep_alive) {}

  Result<void, wasi::StreamError> start(const wasi::HttpResponse& head,
                                        const wasi::WaitInterrupt& interrupt) override {
    http::response<http::empty_body> response;
    response.version(version_);
    set_status(response, head.status);
    for (const auto& [name, value] : head.headers) {
      if (beast::iequals(name, "content-length")) {
        uint64_t length = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (ec != std::errc() || end != value.data() + value.size()) {
          return fail("the handler's content-length " + value + " is not a number");
        }
        declared_ = length;
      }
      response.insert(name, value);
    }
    status_ = head.status;
    body_allowed_ = !head_request_ && status_has_body(status_);
    if (body_allowed_ && !declared_) {
      if (version_ >= 11) {
        chunked_ = true;
        response.chunked(true);
      } else {
        keep_alive_ = false;  // HTTP/1.0: the body ends with the connection
      }
    }
    response.keep_alive(keep_alive_);
    started_ = true;
    GuestThreadWriter writer(fd_, interrupt);
    http::response_serializer<http::empty_body> serializer(response);
    beast::error_code ec;
    http::write_header(writer, serializer, ec);
    return check(writer, ec);
  }

  Result<void, wasi::StreamError> send(std::string_view bytes,
                                       const wasi::WaitInterrupt& interrupt) override {
    if (failed_) return wasi::StreamError{};
    if (!body_allowed_) return {};
    sent_ += bytes.size();
    if (declared_ && sent_ > *declared_) {
      return fail("the handler wrote more than its content-length " + std::to_string(*declared_));
    }
    GuestThreadWriter writer(fd_, interrupt);
    beast::error_code ec;
    if (chunked_) {
      asio::write(writer, http::make_chunk(asio::buffer(bytes.data(), bytes.size())), ec);
    } else {
      asio::write(writer, asio::buffer(bytes.data(), bytes.size()), ec);
    }
    return check(writer, ec);
  }

  Result<void, wasi::StreamError> finish(const wasi::WaitInterrupt& interrupt) override {
    if (failed_) return wasi::StreamError{};
    if (body_allowed_ && declared_ && sent_ != *declared_) {
      return fail("the handler's content-length " + std::to_string(*declared_) +
                  " does not match its body of " + std::to_string(sent_) + " bytes");
    }
    if (chunked_) {
      GuestThreadWriter writer(fd_, interrupt);
      beast::error_code ec;
      asio::write(writer, http::make_chunk_last(), ec);
      if (auto checked = check(writer, ec); !checked) return checked;
    }
    complete_ = true;
    return {};
  }

  // RFC 9110 section 15.2: interim responses go before the final one, to HTTP/1.1 clients only.
  Result<void, wasi::HttpFailure> informational(uint16_t status, const wasi::HttpHeaders& headers,
                                                const wasi::WaitInterrupt& interrupt) override {
    auto refused = [](std::string why) {
      return wasi::HttpFailure{wasi::HttpFailure::kInternalError, std::move(why)};
    };
    if (started_) return refused("the final response has started");
    if (failed_) return refused("the connection failed: " + problem_);
    if (version_ < 11) return refused("an HTTP/1.0 client takes no informational responses");
    http::response<http::empty_body> response;
    response.version(11);
    set_status(response, status);
    for (const auto& [name, value] : headers) response.insert(name, value);
    GuestThreadWriter writer(fd_, interrupt);
    http::response_serializer<http::empty_body> serializer(response);
    beast::error_code ec;
    http::write_header(writer, serializer, ec);
    if (auto checked = check(writer, ec); !checked) {
      wasi::HttpFailure failure = refused(problem_);
      failure.interrupted = checked.error().interrupted;
      return failure;
    }
    return {};
  }

  bool started() const { return started_; }
  // The whole response went out, and the connection may carry another.
  bool reusable() const { return complete_ && keep_alive_; }
  unsigned status() const { return status_; }
  uint64_t body_bytes() const { return sent_; }
  const std::string& problem() const { return problem_; }

 private:
  Result<void, wasi::StreamError> fail(std::string why) {
    failed_ = true;
    if (problem_.empty()) problem_ = std::move(why);
    return wasi::StreamError{};
  }
  Result<void, wasi::StreamError> check(const GuestThreadWriter& writer, beast::error_code ec) {
    if (!ec) return {};
    failed_ = true;
    if (problem_.empty()) problem_ = "the client took no more: " + ec.message();
    wasi::StreamError error;
    error.interrupted = writer.interrupted();
    return error;
  }

  int fd_;
  unsigned version_;
  bool head_request_, keep_alive_;
  bool started_ = false, complete_ = false, failed_ = false, chunked_ = false;
  bool body_allowed_ = true;
  std::optional<uint64_t> declared_;
  uint64_t sent_ = 0;
  unsigned status_ = 0;
  std::string problem_;
};

// Reads from a connection's socket on the thread that runs the guest (a Beast SyncReadStream):
// non-blocking receives; when `blocking`, waits for bytes that end at the store's deadline
// (`interrupt`) or after kIdleTimeout without any, else `would_block` at once.
class GuestThreadReader {
 public:
  GuestThreadReader(int fd, bool blocking, const wasi::WaitInterrupt& interrupt)
      : fd_(fd), blocking_(blocking), interrupt_(interrupt) {}
  bool interrupted() const { return interrupted_; }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, beast::error_code& ec) {
    ec = {};
    asio::mutable_buffer into;
    for (auto it = asio::buffer_sequence_begin(buffers);
         it != asio::buffer_sequence_end(buffers) && into.size() == 0; ++it) {
      into = *it;
    }
    if (into.size() == 0) return 0;
    for (;;) {
      const ssize_t n = ::recv(fd_, into.data(), into.size(), MSG_DONTWAIT);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) {
        ec = asio::error::eof;
        return 0;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ec = beast::error_code(errno, beast::system_category());
        return 0;
      }
      if (!blocking_) {
        ec = asio::error::would_block;
        return 0;
      }
      struct pollfd p {
        fd_, POLLIN, 0
      };
      const int r = wasi::interruptible_poll(&p, 1, std::chrono::nanoseconds(kIdleTimeout).count(),
                                             interrupt_);
      if (r == wasi::kWaitInterrupted) interrupted_ = true;
      if (r == 0 || r == wasi::kWaitInterrupted) {
        ec = asio::error::timed_out;
        return 0;
      }
    }
  }
  // Beast's concept asks for the throwing form too; kiln calls only the one above.
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    beast::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  int fd_;
  bool blocking_;
  const wasi::WaitInterrupt& interrupt_;
  bool interrupted_ = false;
};

// A request's body, read from the connection as the guest reads its incoming-body stream
// (wasi::HttpBodySource), on the thread that runs the guest: the Session's parser (a
// buffer_body) takes what the Session has buffered past the head, then what the socket brings.
// Nothing is read before the guest asks, so a client sending a large body is held back by TCP
// until the guest takes it. A request that expects `100-continue` (RFC 9110 section 10.1.1)
// gets the interim response when the guest first reads or waits for its body, unless the
// response has started by then.
class RequestBody final : public wasi::HttpBodySource,
                          public wasi::PollSource,
                          public std::enable_shared_from_this<RequestBody> {
 public:
  using Parser = http::request_parser<http::buffer_body>;
  RequestBody(int fd, beast::flat_buffer& buffer, Parser& parser, const StreamingResponse& response)
      : fd_(fd), buffer_(buffer), parser_(parser), response_(response) {
    const auto& head = parser.get();
    expect_continue_ =
        head.version() >= 11 && beast::iequals(head[http::field::expect], "100-continue");
  }

  Result<size_t, wasi::StreamError> read(std::span<uint8_t> buffer, bool blocking,
                                         bool& would_block,
                                         const wasi::WaitInterrupt& interrupt) override {
    would_block = false;
    if (next_ == pending_size_) {
      if (auto filled = fill(blocking, interrupt, would_block); !filled) return filled.error();
    }
    const size_t n = std::min(buffer.size(), pending_size_ - next_);
    std::copy_n(pending_.get() + next_, n, buffer.data());
    next_ += n;
    return n;
  }
  std::shared_ptr<wasi::PollSource> readable() override { return shared_from_this(); }

  bool ready() override {
    if (next_ < pending_size_ || parser_.is_done() || error_ || detached_) return true;
    bool would_block = false;
    (void)fill(false, {}, would_block);
    return !would_block;
  }
  struct pollfd wait_on() const override {
    return {fd_, POLLIN, 0};
  }

  // After the guest: the body is no longer the guest's. Reads what has arrived of the rest
  // without waiting (a body the guest did not read, discarded); true when the whole request
  // was read, so that the connection can carry the next one.
  bool finish_for_next_request() {
    bool would_block = false;
    while (!parser_.is_done() && !error_ && !would_block) {
      next_ = pending_size_;
      (void)fill(false, {}, would_block);
    }
    detached_ = true;
    return parser_.is_done() && !error_;
  }
  // Why the body could not be read, for the access log ("" when it could).
  const std::string& problem() const { return problem_; }

 private:
  // Refills `pending_` with the body's next bytes (none at its end; none, with `would_block`,
  // when a non-blocking read finds nothing).
  Result<void, wasi::StreamError> fill(bool blocking, const wasi::WaitInterrupt& interrupt,
                                       bool& would_block) {
    pending_size_ = 0;
    next_ = 0;
    if (error_) return *error_;
    if (detached_ || parser_.is_done()) return {};
    if (expect_continue_ && !response_.started()) {
      expect_continue_ = false;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      GuestThreadWriter writer(fd_, interrupt);
      beast::error_code ec;
      asio::write(writer, asio::buffer(kContinue.data(), kContinue.size()), ec);
      if (ec) return fail(writer.interrupted(), "100-continue could not be sent: " + ec.message());
    }
    // Not zeroed: the parser writes what the size it leaves says.
    if (!pending_) pending_ = std::make_unique_for_overwrite<char[]>(kReadSize);
    http::buffer_body::value_type& body = parser_.get().body();
    body.data = pending_.get();
    body.size = kReadSize;
    body.more = true;
    beast::error_code ec;
    GuestThreadReader reader(fd_, blocking, interrupt);
    // Until bytes of the body come: the parser stops after each part (a chunk's header, say).
    while (body.size == kReadSize && !parser_.is_done()) {
      http::read_some(reader, buffer_, parser_, ec);
      if (ec) break;
    }
    pending_size_ = kReadSize - body.size;
    body.data = nullptr;
    body.size = 0;
    if (ec == http::error::need_buffer || !ec) return {};
    if (ec == asio::error::would_block) {
      would_block = pending_size_ == 0;
      return {};
    }
    const std::string why = ec == http::error::body_limit
                                ? std::string("the request body is larger than --max-request-body")
                                : "the request body could not be read: " + ec.message();
    auto failed = fail(reader.interrupted(), why);
    if (pending_size_ != 0) return {};  // those bytes first; the failure at the next read
    return failed;
  }
  Result<void, wasi::StreamError> fail(bool interrupted, std::string why) {
    wasi::StreamError error;
    error.interrupted = interrupted;
    error_ = error;
    if (problem_.empty()) problem_ = std::move(why);
    return error;
  }

  static constexpr size_t kReadSize = 65536;
  int fd_;
  beast::flat_buffer& buffer_;
  Parser& parser_;
  const StreamingResponse& response_;
  bool expect_continue_ = false;
  bool detached_ = false;
  // Read from the connection, not yet by the guest (from `next_`): pending_size_ bytes.
  std::unique_ptr<char[]> pending_;
  size_t pending_size_ = 0;
  size_t next_ = 0;
  std::optional<wasi::StreamError> error_;
  std::string problem_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, tcp::socket socket);
  ~Session();
  void start() { read(); }
  auto executor() { return stream_.get_executor(); }
  // Closes the connection unless a request is being handled (that one is answered first).
  void close_when_idle();

 private:
  void read();
  void on_read(beast::error_code ec);
  void respond(http::response<http::string_body> response, bool keep_alive);
  void on_write(beast::error_code ec, bool keep_alive);
  void close();

  Server& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<RequestBody::Parser> parser_;
  http::response<http::string_body> response_;
  std::string peer_;
  bool busy_ = false;
};

class Server {
 public:
  explicit Server(ServeSettings settings)
      : settings_(std::move(settings)), engine_(settings_.engine), acceptor_(io_) {}

  int run();

  // Answers `request` with a fresh instance; a 500 when the guest fails (the reason logged). A
  // response the guest streams goes out through `streaming` instead (its started()).
  http::response<http::string_body> handle(const http::request<http::buffer_body>& request,
                                           std::shared_ptr<RequestBody> body, std::string& failure,
                                           StreamingResponse& streaming);
  bool stopping() const { return stopping_.load(); }
  uint64_t max_request_body() const { return settings_.max_request_body; }
  bool access_log() const { return settings_.access_log; }

  void add(Session* session, std::weak_ptr<Session> weak) {
    std::lock_guard lock(sessions_mutex_);
    sessions_.emplace(session, std::move(weak));
  }
  void remove(Session* session) {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(session);
  }

 private:
  void accept();
  void shut_down();

  ServeSettings settings_;
  Engine engine_;
  component::LoadedComponent component_;
  component::ComponentLinker linker_;
  // The component's imports, resolved in linker_ and checked once for every request's instance.
  component::CheckedImports imports_;
  std::shared_ptr<const wasi::Preview2> wasi_;
  std::unique_ptr<wasi::WasiContext> context_;
  std::string handler_export_;
  asio::io_context io_;  // the acceptor and the signals, run by the main thread
  // One io_context per worker thread, each run by its thread alone: a connection lives on one
  // of them (handed out in turn), so its handlers run on one thread without a strand, and a
  // ready connection does not wake another thread to run it (with one io_context run by every
  // thread, the wake-ups between threads cost more than the requests' own work). The guards
  // keep them running while no connection is open, until shut_down.
  std::vector<std::unique_ptr<asio::io_context>> worker_contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> worker_guards_;
  size_t next_worker_ = 0;
  tcp::acceptor acceptor_;
  std::optional<asio::signal_set> signals_;
  std::atomic<bool> stopping_{false};
  std::mutex sessions_mutex_;
  std::map<Session*, std::weak_ptr<Session>> sessions_;
};

Session::Session(Server& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {
  beast::error_code ec;
  const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
  if (!ec) peer_ = peer.address().to_string() + ":" + std::to_string(peer.port());
}

Session::~Session() {
  server_.remove(this);
}

void Session::close_when_idle() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->busy_) self->close();
  });
}

void Session::read() {
  if (server_.stopping()) return close();
  parser_.emplace();
  parser_->body_limit(server_.max_request_body());
  stream_.expires_after(kIdleTimeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
}

void Session::on_read(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
    return close();
  }
  if (ec) {  // a request Beast cannot parse, or a body over the limit: answered, then closed
    const bool too_large = ec == http::error::body_limit;
    http::response<http::string_body> refusal{
        too_large ? http::status::payload_too_large : http::status::bad_request, 11};
    refusal.set(http::field::content_type, "text/plain");
    refusal.body() = too_large ? "request body too large\n" : "bad request: " + ec.message() + "\n";
    refusal.prepare_payload();
    if (server_.access_log()) {
      fmt::print(stderr, "{} - {} {}\n", peer_, refusal.result_int(), ec.message());
    }
    return respond(std::move(refusal), false);
  }
  busy_ = true;
  const http::request<http::buffer_body>& request = parser_->get();
  bool keep_alive = request.keep_alive();
  const auto started = Clock::now();
  std::string failure;
  const int fd = stream_.socket().native_handle();
  StreamingResponse streaming(fd, request.version(), request.method() == http::verb::head,
                              keep_alive && !server_.stopping());
  auto body = std::make_shared<RequestBody>(fd, buffer_, *parser_, streaming);
  http::response<http::string_body> response = server_.handle(request, body, failure, streaming);
  // A body the guest left unread is discarded as far as it has come; the rest would be taken
  // for the next request, so the connection then closes after this response.
  if (!body->finish_for_next_request()) keep_alive = false;
  if (failure.empty() && !body->problem().empty()) failure = body->problem();
  for (char& c : failure) {  // one line per request, a trap's backtrace included
    if (c == '\n') c = ';';
  }
  if (server_.access_log()) {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    const bool streamed = streaming.started();
    fmt::print(stderr, "{} \"{} {} HTTP/{}.{}\" {} {} {:.3f}ms{}{}\n", peer_,
               std::string(request.method_string()), std::string(request.target()),
               request.version() / 10, request.version() % 10,
               streamed ? streaming.status() : response.result_int(),
               streamed ? streaming.body_bytes() : response.body().size(), ms,
               streamed ? " streamed" : "", failure.empty() ? "" : " error: " + failure);
  }
  if (streaming.started()) {  // sent already: cut short (a failure) unless it completed
    busy_ = false;
    if (!failure.empty() || !streaming.reusable() || !keep_alive) return close();
    return read();
  }
  respond(std::move(response), keep_alive);
}

void Session::respond(http::response<http::string_body> response, bool keep_alive) {
  response_ = std::move(response);
  response_.keep_alive(keep_alive && !server_.stopping());
  http::async_write(stream_, response_,
                    [self = shared_from_this(), keep_alive = response_.keep_alive()](
                        beast::error_code ec, size_t) { self->on_write(ec, keep_alive); });
}

void Session::on_write(beast::error_code ec, bool keep_alive) {
  busy_ = false;
  if (ec || !keep_alive) return close();
  read();
}

void Session::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

http::response<http::string_body> Server::handle(const http::request<http::buffer_body>& request,
                                                 std::shared_ptr<RequestBody> body,
                                                 std::string& failure,
                                                 StreamingResponse& streaming) {
  wasi::HttpRequest incoming;
  incoming.method = std::string(request.method_string());
  incoming.path_with_query = std::string(request.target());
  for (const auto& field : request) {
    if (field.name() == http::field::host) incoming.authority = std::string(field.value());
    incoming.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  incoming.body_stream = std::move(body);

  Result<wasi::HttpResponse> answer = [&]() -> Result<wasi::HttpResponse> {
    Store store(engine_, settings_.limits);
    if (settings_.fuel) (void)store.set_fuel(*settings_.fuel);
    if (settings_.timeout_ns) store.set_epoch_deadline(kTicksPerTimeout + 1);
    wasi_->attach(store, *context_);
    TrapPtr trap;
    auto instance = component::instantiate_component(store, imports_, &trap);
    if (!instance) return instance.take_error();
    return wasi::handle_http_request(store, **instance, handler_export_, std::move(incoming),
                                     nullptr, &streaming);
  }();
  if (streaming.started() && answer && !streaming.problem().empty()) {
    failure = streaming.problem();
  }

  if (!answer) {
    failure = answer.error().message;
    if (streaming.started() && !streaming.problem().empty()) failure += ": " + streaming.problem();
    http::response<http::string_body> error{http::status::internal_server_error, request.version()};
    error.set(http::field::content_type, "text/plain");
    error.body() = "internal server error\n";
    error.prepare_payload();
    return error;
  }
  http::response<http::string_body> response;
  response.version(request.version());
  set_status(response, answer->status);
  for (auto& [name, value] : answer->headers) {
    if (beast::iequals(name, "content-length")) continue;  // checked against the body already
    response.insert(name, value);
  }
  if (!status_has_body(answer->status)) return response;
  response.body() = std::move(answer->body);
  response.prepare_payload();
  // A HEAD response has the headers a GET would have, and no body (RFC 9110 section 9.3.2).
  if (request.method() == http::verb::head) response.body().clear();
  return response;
}

void Server::accept() {
  asio::io_context& worker = *worker_contexts_[next_worker_++ % worker_contexts_.size()];
  acceptor_.async_accept(worker, [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!stopping()) accept();  // a failed accept (EMFILE, say) does not stop the server
      return;
    }
    auto session = std::make_shared<Session>(*this, std::move(socket));
    add(session.get(), session);
    // The session runs on its socket's worker from the start.
    asio::post(session->executor(), [session] { session->start(); });
    accept();
  });
}

void Server::shut_down() {
  if (stopping_.exchange(true)) return;
  fmt::print(stderr, "kiln: stopping: answering the requests in flight\n");
  beast::error_code ignored;
  acceptor_.close(ignored);
  signals_->cancel(ignored);
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [raw, weak] : sessions_) {
      if (auto session = weak.lock()) open.push_back(std::move(session));
    }
  }
  for (auto& session : open) session->close_when_idle();
  // Each worker finishes its connections' requests and then has no more work.
  for (auto& guard : worker_guards_) guard.reset();
}

int Server::run() {
  const std::string& path = settings_.component_path;
  auto bytes = read_module_file(path);
  if (!bytes) return error_exit(bytes.error());
  if (!component::is_component(*bytes)) {
    return usage_error(path + " is a core module: kiln serve serves components");
  }
  auto loaded = load_component(engine_, path, std::move(*bytes));
  if (!loaded) return error_exit(loaded.error());
  component_ = std::move(*loaded);
  handler_export_ = wasi::incoming_handler_export(*component_.validated);
  if (handler_export_.empty()) {
    return usage_error(path + " exports no wasi:http/incoming-handler: it is not an HTTP handler");
  }
  auto wasi = wasi::Preview2::add_to_linker(linker_);
  if (!wasi) return error_exit(wasi.error());
  wasi_ = *wasi;
  if (settings_.trap_unknown_imports) {
    if (auto defined = linker_.define_unknown_imports_as_traps(*component_.validated); !defined) {
      return error_exit(defined.error());
    }
  }
  if (auto missing = linker_.missing_imports(*component_.validated); !missing.empty()) {
    std::string list;
    for (const std::string& name : missing) list += "\n  " + name;
    return error_exit(Error{ErrorKind::kUnlinkable,
                            fmt::format("component {} imports what kiln does not provide "
                                        "(--trap-unknown-imports links each missing function to "
                                        "one that traps when called):{}",
                                        path, list)});
  }
  auto imports = linker_.resolve_imports(*component_.validated);
  if (!imports) return error_exit(imports.error());
  imports_ = std::move(*imports);
  settings_.wasi.args = {path};
  settings_.wasi.stdin_fd = -1;  // a request's guest reads its body, not the server's stdin
  auto context = wasi::WasiContext::create(std::move(settings_.wasi));
  if (!context) return error_exit(context.error());
  context_ = std::move(*context);

  const size_t colon = settings_.address.rfind(':');
  beast::error_code ec;
  const auto address = asio::ip::make_address(settings_.address.substr(0, colon), ec);
  unsigned long port = 0;
  try {
    port = std::stoul(settings_.address.substr(colon + 1));
  } catch (...) {
    port = 65536;
  }
  if (colon == std::string::npos || ec || port > 65535) {
    return usage_error("--addr needs HOST:PORT with a numeric address, not " + settings_.address);
  }
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return error_exit(
        Error{ErrorKind::kIo, "cannot listen on " + settings_.address + ": " + ec.message()});
  }

  std::optional<EpochTimer> timer;
  if (settings_.timeout_ns) {
    timer.emplace(engine_, std::chrono::nanoseconds(
                               std::max<uint64_t>(*settings_.timeout_ns / kTicksPerTimeout, 1)));
  }
  signals_.emplace(io_, SIGINT, SIGTERM);
  signals_->async_wait([this](beast::error_code error, int) {
    if (!error) shut_down();
  });
  const unsigned threads =
      settings_.threads ? settings_.threads : std::max(1u, std::thread::hardware_concurrency());
  const tcp::endpoint bound = acceptor_.local_endpoint();
  fmt::print(stderr, "kiln: serving {} on http://{}:{} ({} threads)\n", path,
             bound.address().to_string(), bound.port(), threads);
  std::fflush(stderr);
  for (unsigned i = 0; i < threads; ++i) {
    worker_contexts_.push_back(std::make_unique<asio::io_context>(1));
    worker_guards_.push_back(asio::make_work_guard(*worker_contexts_.back()));
  }
  accept();
  std::vector<std::thread> workers;
  for (auto& context : worker_contexts_) {
    workers.emplace_back([&context] { context->run(); });
  }
  io_.run();
  for (std::thread& t : workers) t.join();
  fmt::print(stderr, "kiln: stopped\n");
  return kExitOk;
}

}  // namespace

int run_serve(ServeSettings settings) {
  // A client that goes away mid-response must not end the server.
  std::signal(SIGPIPE, SIG_IGN);
  Server server(std::move(settings));
  return server.run();
}

}  // namespace kiln::cli
