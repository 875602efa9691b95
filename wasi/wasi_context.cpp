#include "wasi/wasi_context.h"

#include <cstring>

namespace kiln::wasi {

Result<std::unique_ptr<WasiContext>> WasiContext::create(WasiConfig config) {
  auto context = std::unique_ptr<WasiContext>(new WasiContext());
  for (const Preopen& p : config.preopens) {
    auto dir = Descriptor::open_directory(p.host_path, p.read_only);
    if (!dir) {
      return Error{ErrorKind::kIo,
                   "cannot open directory " + p.host_path + " for --dir: " + std::strerror(errno)};
    }
    context->preopens_.push_back(OpenPreopen{*dir, p.guest_path});
  }
  context->stdin_ = config.stdin_bytes ? std::make_unique<InputStream>(*config.stdin_bytes)
                                       : std::make_unique<InputStream>(config.stdin_fd);
  context->stdout_ = config.stdout_capture ? std::make_unique<OutputStream>(config.stdout_capture)
                                           : std::make_unique<OutputStream>(config.stdout_fd);
  context->stderr_ = config.stderr_capture ? std::make_unique<OutputStream>(config.stderr_capture)
                                           : std::make_unique<OutputStream>(config.stderr_fd);
  context->config_ = std::move(config);
  return context;
}

}  // namespace kiln::wasi
