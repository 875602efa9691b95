// `kiln serve` (issue 16) from the outside: the server started as a process on loopback, talked
// to over HTTP/1.1 with Boost.Beast's client, and compared with `jco serve` on the same
// components. The handler is tests/components/http/hello_handler.c (its paths: /trap, /loop,
// /slow, /count, /no-response, /no-body, /teapot).
#include <fcntl.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_support.h"

namespace kiln {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

const std::string kHandler = std::string(KILN_TEST_COMPONENTS_DIR) + "/hello_handler.wasm";

// A server process: `argv`, with stderr kept in a file; it is up once `ready` matches its
// stderr (the port is the regex's first group).
class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> argv, const std::string& ready) {
    log_path_ = dir_.path() / "stderr";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);  // its own process group: jco serve runs the server in a child process
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // and gone with the test, should the test crash
      const int err = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(err, 2);
      std::vector<char*> args;
      for (std::string& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);  // as the child does, whichever runs first
    const std::regex pattern(ready);
    for (int i = 0; i < 600 && port_ == 0; ++i) {  // up to 60 s (jco transpiles first)
      std::smatch match;
      const std::string text = log();
      if (std::regex_search(text, match, pattern)) {
        port_ = static_cast<uint16_t>(std::stoi(match[1]));
        break;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);  // the whole group
      ::waitpid(pid_, nullptr, 0);
    }
  }
  uint16_t port() const { return port_; }
  std::string log() const { return test::slurp(log_path_); }
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits for the process: its exit code, or -1.
  int stop(int signal = SIGTERM) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::kill(-pid_, SIGKILL);  // anything it left behind
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  test::TempDir dir_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// `kiln serve --addr 127.0.0.1:0 OPTIONS COMPONENT`.
std::unique_ptr<ServerProcess> kiln_serve(std::vector<std::string> options,
                                          const std::string& component = kHandler) {
  std::vector<std::string> argv = {KILN_CLI_PATH, "serve", "--addr", "127.0.0.1:0"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(component);
  return std::make_unique<ServerProcess>(argv, "serving .* on http://127\\.0\\.0\\.1:([0-9]+)");
}

struct Reply {
  unsigned status = 0;
  std::string body;
  http::response<http::string_body> message;
};

// One client connection (kept alive across requests).
class Client {
 public:
  explicit Client(uint16_t port) : stream_(io_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream_.expires_after(std::chrono::seconds(30));
  }
  Reply send(http::request<http::string_body> request) {
    request.set(http::field::host, "localhost");
    if (!request.chunked()) request.prepare_payload();
    http::write(stream_, request);
    Reply reply;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    if (request.method() == http::verb::head) parser.skip(true);
    http::read(stream_, buffer_, parser);
    reply.message = parser.release();
    reply.status = reply.message.result_int();
    reply.body = reply.message.body();
    return reply;
  }
  Reply get(const std::string& target, http::verb verb = http::verb::get) {
    return send(http::request<http::string_body>(verb, target, 11));
  }
  Reply post(const std::string& target, std::string body, bool chunked = false) {
    http::request<http::string_body> request(http::verb::post, target, 11);
    request.body() = std::move(body);
    if (chunked) request.chunked(true);
    return send(std::move(request));
  }

 private:
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

TEST(KilnServe, AnswersEachRequestWithAFreshInstance) {
  auto server = kiln_serve({});
  ASSERT_NE(server->port(), 0) << server->log();
  Client client(server->port());
  Reply hi = client.get("/hi?x=1");
  EXPECT_EQ(hi.status, 200u);
  EXPECT_EQ(hi.body, "hello from C: GET /hi?x=1\n");
  EXPECT_EQ(hi.message[http::field::content_type], "text/plain");
  // The handler counts requests in a global: a fresh instance always says 1.
  EXPECT_EQ(client.get("/count").body, "hello from C: GET /count\ncount: 1\n");
  EXPECT_EQ(client.get("/count").body, "hello from C: GET /count\ncount: 1\n");
  // One access log line per request: address, request line, status, body size, duration.
  EXPECT_TRUE(std::regex_search(server->log(),
                                std::regex("127\\.0\\.0\\.1:[0-9]+ \"GET /hi\\?x=1 HTTP/1\\.1\" "
                                           "200 26 [0-9.]+ms\n")))
      << server->log();
  EXPECT_EQ(server->stop(), 0);
}

TEST(KilnServe, KeepsConnectionsAliveAndReadsChunkedBodies) {
  auto server = kiln_serve({});
  ASSERT_NE(server->port(), 0) << server->log();
  Client client(server->port());
  EXPECT_EQ(client.get("/one").body, "hello from C: GET /one\n");
  Reply echoed = client.post("/echo", "chunked body\n", true);
  EXPECT_EQ(echoed.status, 200u);
  EXPECT_EQ(echoed.body, "hello from C: POST /echo\nchunked body\n");
  const std::string large(200000, 'x');  // several reads of the guest's input-stream
  EXPECT_EQ(client.post("/large", large).body, "hello from C: POST /large\n" + large);
  EXPECT_EQ(client.get("/two").body, "hello from C: GET /two\n");
}

TEST(KilnServe, AGuestFailureIsA500AndTheServerGoesOn) {
  auto server = kiln_serve({"--timeout", "200ms"});
  ASSERT_NE(server->port(), 0) << server->log();
  Client client(server->port());
  EXPECT_EQ(client.get("/trap").status, 500u);
  EXPECT_EQ(client.get("/loop").status, 500u);
  EXPECT_EQ(client.get("/no-response").status, 500u);
  EXPECT_EQ(client.get("/after").body, "hello from C: GET /after\n");
  const std::string log = server->log();
  EXPECT_NE(log.find("\"GET /trap HTTP/1.1\" 500 22 "), std::string::npos) << log;
  EXPECT_NE(log.find("error: the handler trapped: unreachable"), std::string::npos) << log;
  EXPECT_NE(log.find("deadline exceeded"), std::string::npos) << log;
  EXPECT_NE(log.find("without setting a response"), std::string::npos) << log;
}

// A connection written and read byte by byte, for what a Beast client does not do: send a
// request in parts, and see what the server sent before the request ended.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : stream_(io_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void send(const std::string& bytes) {
    stream_.expires_after(std::chrono::seconds(10));
    asio::write(stream_, asio::buffer(bytes));
  }
  // What the server has sent so far, once it holds `needle` (or the connection ended, or 10 s
  // passed: then without it).
  const std::string& read_until(const std::string& needle) {
    stream_.expires_after(std::chrono::seconds(10));
    while (received_.find(needle) == std::string::npos) {
      char part[4096];
      beast::error_code ec;
      const size_t n = stream_.read_some(asio::buffer(part), ec);
      received_.append(part, n);
      if (ec) {
        ended_ = true;
        break;
      }
    }
    return received_;
  }
  // Whether the server closed the connection (waits up to 10 s for it).
  bool closed_by_server() {
    read_until(std::string(1, '\0') + "never sent");
    return ended_;
  }

 private:
  asio::io_context io_;
  beast::tcp_stream stream_;
  std::string received_;
  bool ended_ = false;
};

TEST(KilnServe, StatusesWithoutBodiesAndHeadRequests) {
  auto server = kiln_serve({});
  ASSERT_NE(server->port(), 0) << server->log();
  Client client(server->port());
  EXPECT_EQ(client.get("/teapot").status, 418u);
  // A status Beast has no phrase for gets its class's (not Beast's "<unknown-status>").
  RawConnection teapot(server->port());
  teapot.send("GET /teapot HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(teapot.read_until("\r\n").rfind("HTTP/1.1 418 Client Error\r\n", 0), 0u);
  // A 204 whose body the guest never asked for is still sent, without a Content-Length.
  Reply empty = client.get("/no-body");
  EXPECT_EQ(empty.status, 204u);
  EXPECT_EQ(empty.message.count(http::field::content_length), 0u);
  Reply head = client.get("/hi", http::verb::head);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.message[http::field::content_length], "23");  // "hello from C: HEAD /hi\n"
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(client.get("/hi").status, 200u);  // the connection is still in step
}

// A handler that writes its answer, then waits, is answered as it writes (chunked: the part
// before the wait goes out when the guest starts waiting); a quick one still gets a
// Content-Length. One that never finishes is cut short at its deadline: the client gets the
// status and the part written, then the connection ends without the last chunk.
TEST(KilnServe, StreamsTheResponsesOfHandlersThatWait) {
  auto server = kiln_serve({"--timeout", "1s"});
  ASSERT_NE(server->port(), 0) << server->log();
  Client client(server->port());
  Reply streamed = client.get("/stream");
  EXPECT_EQ(streamed.status, 200u) << server->log();
  EXPECT_EQ(streamed.body, "hello from C: GET /stream\nmore after a wait\n");
  EXPECT_TRUE(streamed.message.chunked());
  Reply quick = client.get("/hi");  // the same connection, still in step
  EXPECT_EQ(quick.body, "hello from C: GET /hi\n");
  EXPECT_FALSE(quick.message.chunked());
  EXPECT_EQ(quick.message[http::field::content_length], "22");

  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server->port()));
  stream.expires_after(std::chrono::seconds(30));
  http::request<http::empty_body> request(http::verb::get, "/stream-forever", 11);
  request.set(http::field::host, "localhost");
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  beast::error_code ec;
  http::read(stream, buffer, parser, ec);
  EXPECT_EQ(ec, http::error::partial_message) << ec.message();
  EXPECT_EQ(parser.get().result_int(), 200u);
  EXPECT_EQ(parser.get().body(), "hello from C: GET /stream-forever\n");
  EXPECT_TRUE(std::regex_search(
      server->log(),
      std::regex("\"GET /stream-forever HTTP/1\\.1\" 200 34 [0-9.]+ms streamed error: .*deadline")))
      << server->log();
}

// A request's body reaches the handler as it arrives: /relay answers before it reads the body
// and sends each part it reads, so the client sees its first part answered before it sends the
// second (a server that read the whole body first would never answer).
TEST(KilnServe, StreamsRequestBodiesToTheHandlerAsTheyArrive) {
  auto server = kiln_serve({"--timeout", "20s"});
  ASSERT_NE(server->port(), 0) << server->log();
  RawConnection connection(server->port());
  connection.send(
      "POST /relay HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
      "6\r\nfirst\n\r\n");
  std::string so_far = connection.read_until("first\n");
  EXPECT_NE(so_far.find("hello from C: POST /relay\n"), std::string::npos) << so_far;
  ASSERT_NE(so_far.find("first\n"), std::string::npos) << so_far << server->log();
  EXPECT_EQ(so_far.find("second"), std::string::npos);
  connection.send("7\r\nsecond\n\r\n0\r\n\r\n");
  so_far = connection.read_until("0\r\n\r\n");
  EXPECT_NE(so_far.find("second\n"), std::string::npos) << so_far;
  // The connection is in step for the next request.
  connection.send("GET /hi HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_NE(connection.read_until("GET /hi\n").find("hello from C: GET /hi\n"), std::string::npos);

  // `Expect: 100-continue` is answered when the handler reads the body.
  RawConnection expecting(server->port());
  expecting.send(
      "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
      "Expect: 100-continue\r\n\r\n");
  ASSERT_NE(expecting.read_until("\r\n\r\n").find("HTTP/1.1 100 Continue\r\n\r\n"),
            std::string::npos);
  expecting.send("hello");
  EXPECT_NE(expecting.read_until("POST /echo\nhello").find("200 OK"), std::string::npos)
      << server->log();
}

// wasi:http's @unstable response-outparam.send-informational: a 103 goes out before the final
// response, to HTTP/1.1 clients; a status outside 1xx is HTTP-protocol-error (35), 101 and an
// HTTP/1.0 client's are internal-error (38). The handler's body says what each call returned.
TEST(KilnServe, SendsInformationalResponsesBeforeTheFinalOne) {
  auto server =
      kiln_serve({}, std::string(KILN_TEST_COMPONENTS_DIR) + "/informational_handler.wasm");
  ASSERT_NE(server->port(), 0) << server->log();
  RawConnection http11(server->port());
  http11.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const std::string reply = http11.read_until("101 error 38\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n"
                        "HTTP/1.1 200 OK\r\n",
                        0),
            0u)
      << reply;
  EXPECT_NE(reply.find("\r\n\r\n103 ok, 200 error 35, 101 error 38\n"), std::string::npos) << reply;
  RawConnection http10(server->port());
  http10.send("GET / HTTP/1.0\r\n\r\n");
  const std::string old = http10.read_until("101 error 38\n");
  EXPECT_EQ(old.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << old;
  EXPECT_NE(old.find("103 error 38, 200 error 35, 101 error 38\n"), std::string::npos) << old;
}

// A body the handler leaves unread is discarded when it has all arrived (the connection goes
// on); when it has not, the connection closes after the response.
TEST(KilnServe, DiscardsTheBodiesHandlersLeaveUnread) {
  auto server = kiln_serve({});
  ASSERT_NE(server->port(), 0) << server->log();
  RawConnection whole(server->port());
  whole.send("POST /no-response HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nbody");
  EXPECT_NE(whole.read_until("\r\n\r\n").find("500"), std::string::npos);
  whole.send("GET /hi HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_NE(whole.read_until("GET /hi\n").find("hello from C: GET /hi\n"), std::string::npos);

  RawConnection partial(server->port());
  partial.send(
      "POST /no-response HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\nbody");
  EXPECT_NE(partial.read_until("\r\n\r\n").find("500"), std::string::npos);
  EXPECT_TRUE(partial.closed_by_server());
}

// A declared length over the limit is refused before the handler runs; a chunked body that
// grows past it is a stream error for the handler (which /echo takes as the body's end), logged,
// and the connection closes.
TEST(KilnServe, RefusesRequestBodiesOverTheLimit) {
  auto server = kiln_serve({"--max-request-body", "1KiB"});
  ASSERT_NE(server->port(), 0) << server->log();
  EXPECT_EQ(Client(server->port()).post("/echo", std::string(1024, 'a')).status, 200u);
  EXPECT_EQ(Client(server->port()).post("/echo", std::string(4096, 'a')).status, 413u);
  RawConnection chunked(server->port());
  chunked.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
               fmt::format("1000\r\n{}\r\n0\r\n\r\n", std::string(4096, 'a')));
  EXPECT_NE(chunked.read_until("\r\n\r\n").find("200 OK"), std::string::npos);
  EXPECT_TRUE(chunked.closed_by_server());
  EXPECT_NE(server->log().find("the request body is larger than --max-request-body"),
            std::string::npos)
      << server->log();
}

TEST(KilnServe, FinishesTheRequestsInFlightOnSigterm) {
  auto server = kiln_serve({});
  ASSERT_NE(server->port(), 0) << server->log();
  Client idle(server->port());  // an idle keep-alive connection does not hold the server up
  EXPECT_EQ(idle.get("/first").status, 200u);
  Reply slow;
  std::thread request([&] { slow = Client(server->port()).get("/slow"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto started = std::chrono::steady_clock::now();
  const int exit_code = server->stop(SIGTERM);
  request.join();
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(slow.status, 200u) << "the request in flight was answered";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_NE(server->log().find("kiln: stopped"), std::string::npos) << server->log();
}

TEST(KilnServe, ServesManyConnectionsAtOnce) {
  auto server = kiln_serve({"--threads", "4"});
  ASSERT_NE(server->port(), 0) << server->log();
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      Client client(server->port());
      for (int i = 0; i < 25; ++i) {
        const std::string target = "/c" + std::to_string(c) + "/" + std::to_string(i);
        if (client.get(target).body == "hello from C: GET " + target + "\n") ++answered;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(answered.load(), 200);
}

TEST(KilnServe, RefusesComponentsThatAreNotHttpHandlers) {
  test::RunResult r = test::run_shell(
      std::string(KILN_CLI_PATH) + " serve " +
      test::quote(std::string(KILN_TEST_PROGRAMS_DIR) + "/wasi_hello.component.wasm"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exports no wasi:http/incoming-handler"), std::string::npos) << r.err;
  r = test::run_shell(std::string(KILN_CLI_PATH) + " serve --addr nowhere " +
                      test::quote(kHandler));
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

// A bounded load from wrk (scripts/setup installs it): every request answered 200.
TEST(KilnServe, LoadFromWrkHasNoFailures) {
  auto server = kiln_serve({"--no-access-log"});
  ASSERT_NE(server->port(), 0) << server->log();
  test::RunResult r = test::run_shell(
      "wrk -t2 -c16 -d2s --latency http://127.0.0.1:" + std::to_string(server->port()) + "/load");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch requests;
  ASSERT_TRUE(std::regex_search(r.out, requests, std::regex("([0-9]+) requests in"))) << r.out;
  EXPECT_GT(std::stol(requests[1]), 100) << r.out;
  EXPECT_EQ(r.out.find("Non-2xx"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Socket errors"), std::string::npos) << r.out;
  EXPECT_EQ(server->stop(), 0);
}

// The same component under `jco serve --isolate-requests instance` and `kiln serve`: the same
// statuses, content types and bodies. The components: hello_handler.c, and js_handler.js (made
// by componentize-js, whose engine imports wasi:http at 0.2.10 and wasi:io at 0.2.12). (jco
// serve dies on a response whose body the guest never asked for, so /no-body is kiln's alone;
// see KilnServe.StatusesWithoutBodiesAndHeadRequests.)
class KilnServeAgainstJco : public testing::TestWithParam<std::string> {};

TEST_P(KilnServeAgainstJco, AnswersAsJcoServeDoes) {
  const std::string component = std::string(KILN_TEST_COMPONENTS_DIR) + "/" + GetParam() + ".wasm";
  // A free port for jco (it cannot pick one itself and say which).
  uint16_t jco_port = 0;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    jco_port = probe.local_endpoint().port();
  }
  // An upstream for the JavaScript handler's /proxy (its fetch goes through
  // wasi:http/outgoing-handler; jco lets every request out, kiln the granted one).
  auto upstream = kiln_serve({});
  ASSERT_NE(upstream->port(), 0) << upstream->log();
  const std::string upstream_authority = "127.0.0.1:" + std::to_string(upstream->port());
  ServerProcess jco({KILN_NODE_PATH, KILN_JCO_PATH, "serve", "--host", "127.0.0.1", "--port",
                     std::to_string(jco_port), "--isolate-requests", "instance", component},
                    "Server listening @ [^:]+:([0-9]+)");
  ASSERT_NE(jco.port(), 0) << jco.log();
  auto kiln = kiln_serve({"--allow-http", upstream_authority}, component);
  ASSERT_NE(kiln->port(), 0) << kiln->log();
  struct Case {
    http::verb verb;
    std::string target, body;
  };
  const std::vector<Case> cases = {
      {http::verb::get, "/hi?x=1", ""},
      {http::verb::get, "/%C3%A9t%C3%A9?q=a+b&r", ""},
      {http::verb::post, "/echo", "some body\n"},
      {http::verb::put, "/put", std::string(10000, 'p')},
      {http::verb::delete_, "/thing/1", ""},
      {http::verb::get, "/teapot", ""},
      {http::verb::get, "/count", ""},
      {http::verb::get, "/proxy?url=http://" + upstream_authority + "/upstream", ""}};
  Client to_jco(jco.port()), to_kiln(kiln->port());
  for (const Case& c : cases) {
    http::request<http::string_body> request(c.verb, c.target, 11);
    request.body() = c.body;
    Reply expected = to_jco.send(request), actual = to_kiln.send(request);
    EXPECT_EQ(actual.status, expected.status) << c.target;
    EXPECT_EQ(actual.body, expected.body) << c.target;
    EXPECT_EQ(actual.message[http::field::content_type],
              expected.message[http::field::content_type])
        << c.target;
  }
}

// wasi:http/outgoing-handler: a request to a granted authority goes out (through libcurl) and its
// response comes back to the guest; any other authority is refused (HTTP-request-denied, which
// the JavaScript handler's fetch turns into its 502).
TEST(KilnServe, SendsOnlyGrantedOutgoingRequests) {
  auto upstream = kiln_serve({});
  ASSERT_NE(upstream->port(), 0) << upstream->log();
  const std::string authority = "127.0.0.1:" + std::to_string(upstream->port());
  const std::string js = std::string(KILN_TEST_COMPONENTS_DIR) + "/js_handler.wasm";
  auto granted = kiln_serve({"--allow-http", authority}, js);
  auto other_port = kiln_serve({"--allow-http", "127.0.0.1:1"}, js);
  auto none = kiln_serve({}, js);
  for (const auto* server : {granted.get(), other_port.get(), none.get()}) {
    ASSERT_NE(server->port(), 0) << server->log();
  }
  const std::string target = "/proxy?url=http://" + authority + "/from-js";
  Reply proxied = Client(granted->port()).get(target);
  EXPECT_EQ(proxied.status, 200u) << granted->log();
  EXPECT_EQ(proxied.body, "proxied 200: hello from C: GET /from-js\n");
  // A POST's body streams through: from the client into the handler, out to the upstream.
  Reply posted = Client(granted->port()).post(target, "a posted body\n", true);
  EXPECT_EQ(posted.status, 200u) << granted->log();
  EXPECT_EQ(posted.body, "proxied 200: hello from C: POST /from-js\na posted body\n");
  EXPECT_EQ(Client(other_port->port()).get(target).status, 502u);
  EXPECT_EQ(Client(none->port()).get(target).status, 502u);
  // The upstream saw exactly the granted requests.
  const std::string log = upstream->log();
  size_t seen = 0;
  for (size_t at = log.find(" /from-js"); at != std::string::npos;
       at = log.find(" /from-js", at + 1)) {
    ++seen;
  }
  EXPECT_EQ(seen, 2u) << log;
}

// The same from a command (tests/components/http/http_fetch.c, `kiln run`): the granted request
// gets the upstream's answer, as under jco run; ungranted, the host refuses it
// (HTTP-request-denied, error-code 15) and the upstream sees nothing.
TEST(KilnServe, CommandsSendGrantedRequestsAsUnderJcoRun) {
  auto upstream = kiln_serve({});
  ASSERT_NE(upstream->port(), 0) << upstream->log();
  const std::string authority = "127.0.0.1:" + std::to_string(upstream->port());
  const std::string fetch = std::string(KILN_TEST_COMPONENTS_DIR) + "/http_fetch.wasm";
  const std::string args = fetch + " " + authority + " /from-a-command";
  test::RunResult kiln =
      test::run_shell(std::string(KILN_CLI_PATH) + " run --allow-http " + authority + " " + args);
  test::RunResult jco = test::run_shell(std::string("env -i ") + KILN_NODE_PATH + " " +
                                        KILN_JCO_PATH + " run " + args);
  EXPECT_EQ(kiln.exit_code, 0) << kiln.err;
  EXPECT_EQ(kiln.out, "status 200\nhello from C: GET /from-a-command\n");
  EXPECT_EQ(jco.exit_code, 0) << jco.err;
  EXPECT_EQ(kiln.out, jco.out);
  for (const std::string& flags : {std::string(), std::string("--allow-http 127.0.0.1:1")}) {
    test::RunResult refused = test::run_shell(std::string(KILN_CLI_PATH) + " run " + flags + " " +
                                              fetch + " " + authority + " /refused");
    EXPECT_EQ(refused.exit_code, 1) << flags;
    EXPECT_EQ(refused.out, "handle failed: error-code 15\n") << flags;
  }
  EXPECT_EQ(upstream->log().find("/refused"), std::string::npos) << upstream->log();
}

INSTANTIATE_TEST_SUITE_P(Handlers, KilnServeAgainstJco,
                         testing::Values("hello_handler", "js_handler"));

// The JavaScript handler on its own: componentize-js's engine links (its wasi:http 0.2.10 with
// wasi:io 0.2.12) and answers several requests, each from a fresh instance.
TEST(KilnServe, ServesAComponentizeJsHandler) {
  auto server = kiln_serve({}, std::string(KILN_TEST_COMPONENTS_DIR) + "/js_handler.wasm");
  ASSERT_NE(server->port(), 0) << server->log();
  Client client(server->port());
  for (int i = 0; i < 3; ++i) {
    Reply reply = client.post("/js", "body " + std::to_string(i));
    EXPECT_EQ(reply.status, 200u) << server->log();
    EXPECT_EQ(reply.body, "hello from javascript: POST /js\nbody " + std::to_string(i));
  }
}

}  // namespace
}  // namespace kiln
