// An outgoing request on its way (wasi:http/outgoing-handler): its HttpSender runs on a thread
// of its own, reads the request's body from an HttpBodyPipe while the guest still writes it, and
// hands the response over as it arrives. The head (status and headers) completes
// the guest's future-incoming-response (a Completion); the body's bytes wait here for the
// guest's incoming-body stream (an HttpBodySource), at most kMaxUnread of them: past that the
// sender waits, which holds the server back through TCP. A failure before the head is the
// future's error-code; after it, the body stream's error (http-error-code names its case).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <optional>
#include <string>

#include "wasi/http_client.h"
#include "wasi/poll_source.h"

namespace kiln::wasi {

class HttpExchange final : public Completion,
                           public HttpResponseReceiver,
                           public HttpBodySource,
                           public std::enable_shared_from_this<HttpExchange> {
 public:
  static constexpr size_t kMaxUnread = size_t{1} << 20;

  HttpExchange();
  ~HttpExchange();
  // False when no eventfd could be had (descriptors exhausted).
  bool valid() const { return Completion::valid() && body_event_ >= 0; }

  // ---- the sender's side, on its thread ----
  void head(uint16_t status, HttpHeaders headers) override;
  bool body(std::string_view bytes) override;
  // After the sender returned: the end of the body, or the failure.
  void finish(Result<void, HttpFailure> outcome);
  // The guest gave up on the response (its future, body or store went): the sender stops.
  bool abandoned() const { return abandoned_.load(); }
  void abandon();

  // ---- the guest's side ----
  // Once done (under `mutex`): the response's head, or the failure that came before it.
  std::optional<HttpResponse> response_head;
  std::optional<HttpFailure> failure;

  Result<size_t, StreamError> read(std::span<uint8_t> buffer, bool blocking, bool& would_block,
                                   const WaitInterrupt& interrupt) override;
  std::shared_ptr<PollSource> readable() override;
  void reader_gone() override { abandon(); }

 private:
  class BodyReady;
  // Under `mutex`: whether the guest's read would not block.
  bool body_ready() const { return next_ < unread_.size() || body_done_ || body_failure_; }

  std::condition_variable room_;  // the sender waits here for the guest to read
  int body_event_;                // readable while body_ready()
  std::string unread_;            // the body's bytes from `next_` on
  size_t next_ = 0;
  bool head_given_ = false, body_done_ = false;
  std::optional<HttpFailure> body_failure_;
  std::atomic<bool> abandoned_{false};
};

// An outgoing request's body that the guest still writes while its sender sends it: the guest's
// output stream writes here (check-write permits the room there is, at most kMaxUnsent bytes
// held; a blocking write waits for room), the sender reads it on its thread. Dropped unfinished,
// the body is cut off: the sender's read fails, and with it the request.
class HttpBodyPipe final : public HttpBodySource,
                           public std::enable_shared_from_this<HttpBodyPipe> {
 public:
  static constexpr size_t kMaxUnsent = size_t{1} << 20;

  explicit HttpBodyPipe(std::string written_before);
  ~HttpBodyPipe();
  bool valid() const { return room_event_ >= 0; }

  // ---- the guest's side ----
  // How many bytes a write may add now (0: wait for `writable`); an error once the sender
  // stopped reading (the request failed).
  Result<size_t, StreamError> room();
  // Adds `bytes`, waiting for room while the sender is behind (until `interrupt`).
  Result<void, StreamError> write(std::string_view bytes, const WaitInterrupt& interrupt);
  void finish();  // the body's end
  void abort();   // dropped unfinished
  // Ready when there is room, or the sender has stopped.
  std::shared_ptr<PollSource> writable();

  // ---- the sender's side (HttpBodySource): reads wait for the guest, until `interrupt` ----
  Result<size_t, StreamError> read(std::span<uint8_t> buffer, bool blocking, bool& would_block,
                                   const WaitInterrupt& interrupt) override;
  std::shared_ptr<PollSource> readable() override { return nullptr; }
  void reader_gone() override;

 private:
  class RoomReady;
  // Under `mutex_`: room left, and the eventfd kept readable while there is some.
  bool has_room() const { return unsent_.size() - next_ < kMaxUnsent || reader_gone_; }
  void update_room_event();

  std::mutex mutex_;
  std::condition_variable changed_;
  int room_event_;
  std::string unsent_;  // from `next_` on
  size_t next_ = 0;
  bool finished_ = false, aborted_ = false, reader_gone_ = false;
};

}  // namespace kiln::wasi
