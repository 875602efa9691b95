// wasi:http's host functions (wasi/http.h) called directly, as the canonical ABI calls them
// with checked handles: what types.wit's doc comments say of fields, bodies, streams and the
// outgoing-handler, and what a hostile guest gets (WIT errors or traps, never a crash).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "component/component_linker.h"
#include "runtime/store.h"
#include "wasi/http.h"
#include "wasi/http_exchange.h"
#include "wasi/preview2.h"
#include "wasi/preview2_host.h"

namespace kiln {
namespace {

using component::ComponentValue;
using V = ComponentValue;
using K = ComponentValue::Kind;
using wasi::preview2::none;
using wasi::preview2::some;

class WasiHttpHost : public testing::Test {
 protected:
  void SetUp() override {
    auto added = wasi::Preview2::add_to_linker(linker_);
    ASSERT_TRUE(added);
    host_ = *added;
    auto context = wasi::WasiContext::create({});
    ASSERT_TRUE(context);
    context_ = std::move(*context);
    host_->attach(store_, *context_);
  }

  // Calls `interface#function` with `args`: the result, or the trap's message in `trap`.
  V call(const std::string& function, std::vector<V> args, std::string* trap = nullptr,
         const std::string& interface = "wasi:http/types@0.2.12") {
    const auto* callback = linker_.host_function(interface + "#" + function);
    EXPECT_NE(callback, nullptr) << function;
    if (!callback) return V{};
    std::optional<V> result;
    TrapPtr t = (*callback)(store_, component::resolved::FunctionType{}, args, result);
    if (trap) {
      *trap = t ? t->message : "";
    } else {
      EXPECT_EQ(t, nullptr) << function << ": " << t->message;
    }
    return result.value_or(V{});
  }
  V borrow(const std::string& resource, uint32_t rep) {
    V v = V::own(host_->resource_type(resource), rep);
    v.kind = K::kBorrow;
    return v;
  }
  V own(const std::string& resource, uint32_t rep) {
    return V::own(host_->resource_type(resource), rep);
  }
  static V list_of_bytes(std::vector<std::string> values) {
    V l;
    l.kind = K::kList;
    for (std::string& v : values) l.items.push_back(V::bytes(std::move(v)));
    return l;
  }

  Engine engine_;
  Store store_{engine_};
  component::ComponentLinker linker_;
  std::shared_ptr<const wasi::Preview2> host_;
  std::unique_ptr<wasi::WasiContext> context_;
};

TEST_F(WasiHttpHost, FieldsRefuseInvalidForbiddenAndImmutableChanges) {
  const uint32_t fields = call("[constructor]fields", {}).rep;
  auto append = [&](const std::string& name, const std::string& value) {
    return call("[method]fields.append",
                {borrow("fields", fields), V::string(name), V::bytes(value)});
  };
  EXPECT_EQ(append("Content-Type", "text/plain").index, 0u);
  EXPECT_EQ(append("x-two", "a").index, 0u);
  EXPECT_EQ(append("X-Two", "b").index, 0u);
  V bad_name = append("bad name", "x");
  ASSERT_EQ(bad_name.index, 1u);
  EXPECT_EQ(bad_name.items[0].index, 0u);  // header-error.invalid-syntax
  V bad_value = append("x-ok", "line\r\nbreak");
  ASSERT_EQ(bad_value.index, 1u);
  EXPECT_EQ(bad_value.items[0].index, 0u);
  V forbidden = append("Connection", "close");
  ASSERT_EQ(forbidden.index, 1u);
  EXPECT_EQ(forbidden.items[0].index, 1u);  // header-error.forbidden
  // Names match without regard to case; values keep their order.
  V got = call("[method]fields.get", {borrow("fields", fields), V::string("X-TWO")});
  ASSERT_EQ(got.items.size(), 2u);
  EXPECT_EQ(got.items[0].text, "a");
  EXPECT_EQ(got.items[1].text, "b");
  EXPECT_EQ(call("[method]fields.has", {borrow("fields", fields), V::string("content-type")}).bits,
            1u);
  EXPECT_EQ(call("[method]fields.set",
                 {borrow("fields", fields), V::string("x-two"), list_of_bytes({"c"})})
                .index,
            0u);
  V entries = call("[method]fields.entries", {borrow("fields", fields)});
  ASSERT_EQ(entries.items.size(), 2u);
  EXPECT_EQ(entries.items[0].items[0].text, "Content-Type");  // the casing given
  EXPECT_EQ(entries.items[1].items[1].text, "c");

  // A response's headers are immutable once it is made from them.
  const uint32_t response = call("[constructor]outgoing-response", {own("fields", fields)}).rep;
  const uint32_t headers =
      call("[method]outgoing-response.headers", {borrow("outgoing-response", response)}).rep;
  V immutable = call("[method]fields.delete", {borrow("fields", headers), V::string("x-two")});
  ASSERT_EQ(immutable.index, 1u);
  EXPECT_EQ(immutable.items[0].index, 2u);  // header-error.immutable
  // ... and a clone of them is mutable.
  const uint32_t copy = call("[method]fields.clone", {borrow("fields", headers)}).rep;
  EXPECT_EQ(call("[method]fields.delete", {borrow("fields", copy), V::string("x-two")}).index, 0u);
  // The response took the fields' entries (the guest's own handle moved to the host).
  V kept = call("[method]fields.entries", {borrow("fields", headers)});
  EXPECT_EQ(kept.items.size(), 2u);
}

TEST_F(WasiHttpHost, BodiesAndTheirStreamsFollowTheChildResourceRules) {
  const uint32_t response =
      call("[constructor]outgoing-response", {own("fields", call("[constructor]fields", {}).rep)})
          .rep;
  EXPECT_EQ(call("[method]outgoing-response.set-status-code",
                 {borrow("outgoing-response", response), V::integer(K::kU16, 99)})
                .index,
            1u);  // not a status
  V body = call("[method]outgoing-response.body", {borrow("outgoing-response", response)});
  ASSERT_EQ(body.index, 0u);
  EXPECT_EQ(call("[method]outgoing-response.body", {borrow("outgoing-response", response)}).index,
            1u)
      << "at most once";
  const uint32_t body_rep = body.items[0].rep;
  V stream = call("[method]outgoing-body.write", {borrow("outgoing-body", body_rep)});
  ASSERT_EQ(stream.index, 0u);
  EXPECT_EQ(call("[method]outgoing-body.write", {borrow("outgoing-body", body_rep)}).index, 1u);
  const uint32_t stream_rep = stream.items[0].rep;
  EXPECT_EQ(call("[method]output-stream.blocking-write-and-flush",
                 {borrow("output-stream", stream_rep), V::bytes("hello")}, nullptr,
                 "wasi:io/streams@0.2.12")
                .index,
            0u);
  // Finishing the body while its stream is alive traps (types.wit).
  std::string trap;
  call("[static]outgoing-body.finish", {own("outgoing-body", body_rep), none()}, &trap);
  EXPECT_NE(trap.find("output-stream is alive"), std::string::npos) << trap;
  // Once the stream is dropped, finish succeeds; the stream's handle is then gone.
  host_->resource_type("output-stream")->host_destructor(store_, stream_rep);
  EXPECT_EQ(call("[static]outgoing-body.finish", {own("outgoing-body", body_rep), none()}).index,
            0u);
  V closed = call("[method]output-stream.blocking-write-and-flush",
                  {borrow("output-stream", stream_rep), V::bytes("late")}, nullptr,
                  "wasi:io/streams@0.2.12");
  EXPECT_EQ(closed.index, 1u) << "a write to a dropped stream is stream-error.closed";
  call("[static]outgoing-body.finish", {own("outgoing-body", body_rep), none()}, &trap);
  EXPECT_NE(trap.find("unknown outgoing-body"), std::string::npos) << trap;
}

TEST_F(WasiHttpHost, OutgoingRequestsAreRefusedWithoutAGrant) {
  const uint32_t request =
      call("[constructor]outgoing-request", {own("fields", call("[constructor]fields", {}).rep)})
          .rep;
  V path = call("[method]outgoing-request.set-path-with-query",
                {borrow("outgoing-request", request), some(V::string("/a b"))});
  EXPECT_EQ(path.index, 1u) << "a space is not in a path";
  EXPECT_EQ(call("[method]outgoing-request.set-authority",
                 {borrow("outgoing-request", request), some(V::string("example.com:80"))})
                .index,
            0u);
  V answer = call("handle", {own("outgoing-request", request), none()}, nullptr,
                  "wasi:http/outgoing-handler@0.2.12");
  ASSERT_EQ(answer.index, 1u);
  EXPECT_EQ(answer.items[0].index, 15u);  // error-code.HTTP-request-denied
}

// A request's body streams out while the guest writes it: the sender reads its first part
// before the guest has written the rest (it waits for the guest in between), the response's
// body comes back through the future. A body dropped unfinished cuts the request off.
struct UploadSeen {
  std::mutex mutex;
  std::condition_variable changed;
  std::string bytes;
};
TEST_F(WasiHttpHost, RequestBodiesStreamToTheSenderAsTheGuestWritesThem) {
  auto seen = std::make_shared<UploadSeen>();
  wasi::WasiConfig config;
  config.allowed_http = {"example.test"};
  config.http_sender =
      [seen](const wasi::HttpRequest& request, wasi::HttpResponseReceiver& response,
             const wasi::WaitInterrupt& interrupt) -> Result<void, wasi::HttpFailure> {
    if (!request.body_stream) return wasi::HttpFailure{wasi::HttpFailure::kInternalError, "whole"};
    std::vector<uint8_t> part(64);
    for (;;) {
      bool would_block = false;
      auto n = request.body_stream->read(part, true, would_block, interrupt);
      if (!n) return wasi::HttpFailure{wasi::HttpFailure::kInternalError, "cut off"};
      if (*n == 0) break;
      std::lock_guard<std::mutex> lock(seen->mutex);
      seen->bytes.append(part.begin(), part.begin() + *n);
      seen->changed.notify_all();
    }
    response.head(200, {});
    std::lock_guard<std::mutex> lock(seen->mutex);
    return response.body("got: " + seen->bytes) ? Result<void, wasi::HttpFailure>()
                                                : wasi::HttpFailure{};
  };
  auto context = wasi::WasiContext::create(std::move(config));
  ASSERT_TRUE(context);
  context_ = std::move(*context);
  host_->attach(store_, *context_);
  const std::string io = "wasi:io/streams@0.2.12";

  // Sends a request whose body starts with "first part;": its future and its body's stream.
  auto start = [&](uint32_t& future, uint32_t& body, uint32_t& stream) {
    const uint32_t request =
        call("[constructor]outgoing-request", {own("fields", call("[constructor]fields", {}).rep)})
            .rep;
    call("[method]outgoing-request.set-method", {borrow("outgoing-request", request), [] {
                                                   V post;
                                                   post.kind = K::kVariant;
                                                   post.index = 2;
                                                   return post;
                                                 }()});
    call("[method]outgoing-request.set-authority",
         {borrow("outgoing-request", request), some(V::string("example.test"))});
    body =
        call("[method]outgoing-request.body", {borrow("outgoing-request", request)}).items[0].rep;
    stream = call("[method]outgoing-body.write", {borrow("outgoing-body", body)}).items[0].rep;
    EXPECT_EQ(call("[method]output-stream.blocking-write-and-flush",
                   {borrow("output-stream", stream), V::bytes("first part;")}, nullptr, io)
                  .index,
              0u);
    V sent = call("handle", {own("outgoing-request", request), none()}, nullptr,
                  "wasi:http/outgoing-handler@0.2.12");
    ASSERT_EQ(sent.index, 0u);
    future = sent.items[0].rep;
  };
  auto sender_has = [&](const std::string& bytes) {
    std::unique_lock<std::mutex> lock(seen->mutex);
    return seen->changed.wait_for(lock, std::chrono::seconds(10),
                                  [&] { return seen->bytes == bytes; });
  };
  // The future's response, once there: some(ok(ok(response))), or its error-code's case.
  auto response_of = [&](uint32_t future) -> V {
    for (int i = 0; i < 1000; ++i) {
      V got = call("[method]future-incoming-response.get",
                   {borrow("future-incoming-response", future)});
      if (!got.items.empty()) return got.items[0].items[0];
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return V{};
  };

  uint32_t future = 0, body = 0, stream = 0;
  start(future, body, stream);
  EXPECT_TRUE(sender_has("first part;")) << "the sender reads the body before it is finished";
  V permit =
      call("[method]output-stream.check-write", {borrow("output-stream", stream)}, nullptr, io);
  ASSERT_EQ(permit.index, 0u);
  EXPECT_GT(permit.items[0].bits, 0u);
  EXPECT_EQ(call("[method]output-stream.write",
                 {borrow("output-stream", stream), V::bytes("second part")}, nullptr, io)
                .index,
            0u);
  host_->resource_type("output-stream")->host_destructor(store_, stream);
  EXPECT_EQ(call("[static]outgoing-body.finish", {own("outgoing-body", body), none()}).index, 0u);
  V response = response_of(future);
  ASSERT_EQ(response.index, 0u) << "ok(response)";
  const uint32_t incoming = response.items[0].rep;
  const uint32_t incoming_body =
      call("[method]incoming-response.consume", {borrow("incoming-response", incoming)})
          .items[0]
          .rep;
  const uint32_t input =
      call("[method]incoming-body.stream", {borrow("incoming-body", incoming_body)}).items[0].rep;
  V read = call("[method]input-stream.blocking-read",
                {borrow("input-stream", input), V::integer(K::kU64, 100)}, nullptr, io);
  ASSERT_EQ(read.index, 0u);
  EXPECT_EQ(read.items[0].text, "got: first part;second part");

  // Dropped unfinished: the sender's read fails, and the future with it (internal-error).
  {
    std::lock_guard<std::mutex> lock(seen->mutex);
    seen->bytes.clear();
  }
  start(future, body, stream);
  EXPECT_TRUE(sender_has("first part;"));
  host_->resource_type("output-stream")->host_destructor(store_, stream);
  host_->resource_type("outgoing-body")->host_destructor(store_, body);
  V cut = response_of(future);
  ASSERT_EQ(cut.index, 1u);
  EXPECT_EQ(cut.items[0].index, wasi::HttpFailure::kInternalError);
}

TEST_F(WasiHttpHost, AResponseOutparamTakesOnlyAResponse) {
  std::string trap;
  V not_a_response;
  not_a_response.kind = K::kResult;
  not_a_response.items.push_back(own("fields", call("[constructor]fields", {}).rep));
  call("[static]response-outparam.set", {own("response-outparam", 0), not_a_response}, &trap);
  EXPECT_NE(trap.find("response-outparam"), std::string::npos) << trap;
}

// An outgoing request's response as its sender hands it over (http_exchange.h): the head
// makes the future ready; the body waits for the guest, at most a mebibyte of it: the sender
// blocks past that until the guest reads, and stops when the guest gives up.
TEST(WasiHttpExchange, HoldsAtMostAMebibyteUnreadAndStopsWhenTheGuestGivesUp) {
  auto exchange = std::make_shared<wasi::HttpExchange>();
  ASSERT_TRUE(exchange->valid());
  auto readable = exchange->readable();
  std::vector<uint8_t> buffer(512 * 1024);
  bool would_block = false;
  auto none_yet = exchange->read(buffer, false, would_block, {});
  ASSERT_TRUE(none_yet);
  EXPECT_TRUE(would_block);
  EXPECT_FALSE(readable->ready());
  EXPECT_FALSE(exchange->done);
  exchange->head(200, {{"content-type", "text/plain"}});
  EXPECT_TRUE(exchange->done);

  constexpr size_t kPart = 256 * 1024;
  std::atomic<size_t> sent{0};
  std::atomic<bool> stopped{false};
  std::thread sender([&] {
    const std::string part(kPart, 'x');
    for (int i = 0; i < 16 && exchange->body(part); ++i) sent += kPart;
    stopped = true;
  });
  auto settles_at = [&](size_t expected) {
    for (int i = 0; i < 500 && sent < expected; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return sent.load();
  };
  EXPECT_EQ(settles_at(wasi::HttpExchange::kMaxUnread), wasi::HttpExchange::kMaxUnread);
  EXPECT_TRUE(readable->ready());
  auto n = exchange->read(buffer, true, would_block, {});
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, buffer.size());
  EXPECT_EQ(settles_at(wasi::HttpExchange::kMaxUnread + buffer.size()),
            wasi::HttpExchange::kMaxUnread + buffer.size());
  EXPECT_FALSE(stopped);
  exchange->reader_gone();  // the guest dropped the body
  sender.join();
  EXPECT_TRUE(stopped);
  EXPECT_LT(sent.load(), 16 * kPart);
}

// The body ends with the sender's return; a failure after the head is the body stream's error,
// with its error-code; before the head, the response's.
TEST(WasiHttpExchange, TheSendersOutcomeEndsTheBodyOrFailsIt) {
  std::vector<uint8_t> buffer(16);
  bool would_block = false;
  wasi::HttpExchange broken;
  broken.head(200, {});
  EXPECT_TRUE(broken.body("abc"));
  broken.finish(wasi::HttpFailure{wasi::HttpFailure::kHttpResponseIncomplete, ""});
  auto part = broken.read(buffer, false, would_block, {});
  ASSERT_TRUE(part);
  EXPECT_EQ(std::string(buffer.begin(), buffer.begin() + *part), "abc");
  auto failed = broken.read(buffer, true, would_block, {});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().http_error_code, wasi::HttpFailure::kHttpResponseIncomplete);

  wasi::HttpExchange whole;
  whole.head(204, {});
  whole.finish({});
  auto end = whole.read(buffer, true, would_block, {});
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, 0u);
  EXPECT_FALSE(would_block);

  wasi::HttpExchange refused;
  refused.finish(wasi::HttpFailure{wasi::HttpFailure::kConnectionRefused, ""});
  EXPECT_TRUE(refused.done);
  EXPECT_FALSE(refused.response_head);
  ASSERT_TRUE(refused.failure);
  EXPECT_EQ(refused.failure->error_code, wasi::HttpFailure::kConnectionRefused);
  EXPECT_FALSE(refused.body("late"));  // no body without a head
}

// A request body the guest writes while it is sent (http_exchange.h): check-write's room is
// what is left of a mebibyte, a blocking write waits for the sender to read, the sender's reads
// end with finish, fail after abort, and the guest's writes fail once the sender stopped.
TEST(WasiHttpBodyPipe, HoldsAtMostAMebibyteAndEndsAsTheGuestSays) {
  auto pipe = std::make_shared<wasi::HttpBodyPipe>("before;");
  ASSERT_TRUE(pipe->valid());
  auto room = pipe->room();
  ASSERT_TRUE(room);
  EXPECT_EQ(*room, wasi::HttpBodyPipe::kMaxUnsent - 7);
  auto writable = pipe->writable();
  EXPECT_TRUE(writable->ready());
  ASSERT_TRUE(pipe->write(std::string(*room, 'x'), {}));
  EXPECT_EQ(*pipe->room(), 0u);
  EXPECT_FALSE(writable->ready());

  std::atomic<bool> written{false};
  std::thread guest([&] {  // waits for room
    EXPECT_TRUE(pipe->write("after", {}));
    written = true;
    pipe->finish();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(written);
  std::vector<uint8_t> buffer(4096);
  bool would_block = false;
  size_t total = 0;
  std::string tail;
  for (;;) {
    auto n = pipe->read(buffer, true, would_block, {});
    ASSERT_TRUE(n);
    if (*n == 0) break;
    total += *n;
    tail = std::string(buffer.begin(), buffer.begin() + *n);
  }
  guest.join();
  EXPECT_TRUE(written);
  EXPECT_EQ(total, wasi::HttpBodyPipe::kMaxUnsent + 5);
  EXPECT_EQ(tail.substr(tail.size() - 5), "after");

  wasi::HttpBodyPipe aborted("");
  auto none_yet = aborted.read(buffer, false, would_block, {});
  ASSERT_TRUE(none_yet);
  EXPECT_TRUE(would_block);
  aborted.abort();
  EXPECT_FALSE(aborted.read(buffer, true, would_block, {}));

  wasi::HttpBodyPipe unread("");
  unread.reader_gone();
  EXPECT_FALSE(unread.room());
  EXPECT_FALSE(unread.write("late", {}));
}

}  // namespace
}  // namespace kiln
