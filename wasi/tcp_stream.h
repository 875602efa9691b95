// A TCP socket's descriptor and its two byte streams (wasi:sockets/tcp's input-stream and
// output-stream), shared by the tcp-socket resource, its streams and their pollables: the
// descriptor is closed when the last of them is dropped. Every call is non-blocking unless it
// says otherwise; blocking ones end when their WaitInterrupt says so (the store's deadline).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "runtime/result.h"
#include "wasi/poll_source.h"
#include "wasi/streams.h"

namespace kiln::wasi {

class TcpStream : public std::enable_shared_from_this<TcpStream> {
 public:
  // What check-write permits at most: the output stream holds no more than this unsent.
  static constexpr uint64_t kWritePermit = 65536;

  explicit TcpStream(int fd) : fd_(fd) {}  // takes the descriptor
  ~TcpStream();
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  int fd() const { return fd_; }

  // input-stream: at most `buffer.size()` bytes; 0 at the end of the stream (the peer shut
  // down its side, or shutdown(receive) here). Non-blocking with nothing there: 0 and
  // `would_block`.
  Result<size_t, StreamError> receive(std::span<uint8_t> buffer, bool blocking, bool& would_block,
                                      const WaitInterrupt& interrupt);
  // output-stream: what may be written now (0 while bytes written before are still unsent).
  Result<uint64_t, StreamError> check_write();
  // Takes `bytes` (at most what check-write permitted) and sends what the socket takes now.
  Result<void, StreamError> write(std::string_view bytes);
  // Sends what is unsent; blocking, until all is.
  Result<void, StreamError> flush(bool blocking, const WaitInterrupt& interrupt);
  // shutdown: the receive side ends (reads say closed), the send side ends after what is
  // unsent goes, if the socket takes it now.
  void shutdown(bool receive, bool send);
  bool receive_closed() const { return receive_closed_; }
  bool send_closed() const { return send_closed_; }

  // Pollables: readable (data, the end, or an error), writable (check-write would permit).
  std::shared_ptr<PollSource> readable();
  std::shared_ptr<PollSource> writable();

 private:
  class Writable;
  // Sends from `unsent_` without blocking; a failure is kept and reported by later calls.
  void send_unsent();
  Result<void, StreamError> failure() const;

  int fd_;
  std::string unsent_;
  bool receive_closed_ = false, send_closed_ = false;
  int send_errno_ = 0;  // a send failed (the caller closes the stream, as streams.wit says)
};

}  // namespace kiln::wasi
