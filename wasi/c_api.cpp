// kiln.h, WASI's part: a WASI configuration, and wasi_snapshot_preview1 for a store's
// instances.
#include <cstdlib>

#include "component/c_api_internal.h"
#include "include/kiln.h"
#include "include/kiln_component.h"
#include "runtime/c_api/c_api_internal.h"
#include "wasi/preview1.h"
#include "wasi/preview2.h"
#include "wasi/wasi_context.h"

extern char** environ;

using namespace kiln;
using namespace kiln::c_api;

struct kiln_wasi_config_t {
  wasi::WasiConfig config;
};

struct kiln_wasi_t {
  wasm_store_t* store = nullptr;
  std::unique_ptr<wasi::WasiContext> context;
  std::unique_ptr<wasi::Preview1> preview1;
};

extern "C" {

kiln_wasi_config_t* kiln_wasi_config_new(void) {
  return new kiln_wasi_config_t;
}
void kiln_wasi_config_delete(kiln_wasi_config_t* config) {
  delete config;
}
void kiln_wasi_config_set_args(kiln_wasi_config_t* config, int argc, const char* const argv[]) {
  if (!config || argc < 0 || (argc > 0 && !argv)) {
    return set_last_error("kiln_wasi_config_set_args: null config or arguments");
  }
  config->config.args.clear();
  for (int i = 0; i < argc; ++i) config->config.args.emplace_back(argv[i] ? argv[i] : "");
}
void kiln_wasi_config_set_env(kiln_wasi_config_t* config, const char* name, const char* value) {
  if (!config || !name || !value) {
    return set_last_error("kiln_wasi_config_set_env: null argument");
  }
  config->config.env.emplace_back(name, value);
}
void kiln_wasi_config_inherit_env(kiln_wasi_config_t* config) {
  if (!config) return set_last_error("kiln_wasi_config_inherit_env: null config");
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string text = *entry;
    const size_t equals = text.find('=');
    if (equals == std::string::npos) continue;
    config->config.env.emplace_back(text.substr(0, equals), text.substr(equals + 1));
  }
}
void kiln_wasi_config_preopen_dir(kiln_wasi_config_t* config, const char* host_path,
                                  const char* guest_path, bool read_only) {
  if (!config || !host_path || !guest_path) {
    return set_last_error("kiln_wasi_config_preopen_dir: null argument");
  }
  config->config.preopens.push_back(wasi::Preopen{host_path, guest_path, read_only});
}
void kiln_wasi_config_set_stdio(kiln_wasi_config_t* config, int stdin_fd, int stdout_fd,
                                int stderr_fd) {
  if (!config) return set_last_error("kiln_wasi_config_set_stdio: null config");
  config->config.stdin_fd = stdin_fd;
  config->config.stdout_fd = stdout_fd;
  config->config.stderr_fd = stderr_fd;
}

void kiln_wasi_config_set_max_open_files(kiln_wasi_config_t* config, uint32_t max) {
  if (!config) return set_last_error("kiln_wasi_config_set_max_open_files: null config");
  config->config.max_open_files = max;
}

namespace {
bool allow_network(const char* function, kiln_wasi_config_t* config, const char* text,
                   std::vector<wasi::AddressRule> wasi::WasiConfig::*rules) {
  if (!config || !text) return fail(std::string(function) + ": null argument", false);
  auto rule = wasi::parse_address_rule(text);
  if (!rule) return fail(std::string(function) + ": " + rule.error().message, false);
  (config->config.*rules).push_back(*rule);
  return true;
}
}  // namespace

bool kiln_wasi_config_allow_tcp(kiln_wasi_config_t* config, const char* rule) {
  return allow_network("kiln_wasi_config_allow_tcp", config, rule, &wasi::WasiConfig::allowed_tcp);
}
bool kiln_wasi_config_allow_udp(kiln_wasi_config_t* config, const char* rule) {
  return allow_network("kiln_wasi_config_allow_udp", config, rule, &wasi::WasiConfig::allowed_udp);
}
void kiln_wasi_config_allow_ip_name_lookup(kiln_wasi_config_t* config, bool allow) {
  if (!config) return set_last_error("kiln_wasi_config_allow_ip_name_lookup: null config");
  config->config.allow_ip_name_lookup = allow;
}

kiln_wasi_t* kiln_wasi_new(wasm_store_t* store, kiln_wasi_config_t* config) {
  std::unique_ptr<kiln_wasi_config_t> owned(config);
  if (!store || !config) {
    return fail("kiln_wasi_new: null store or config", static_cast<kiln_wasi_t*>(nullptr));
  }
  auto context = wasi::WasiContext::create(std::move(config->config));
  if (!context.ok()) {
    return fail("kiln_wasi_new: " + context.error().message, static_cast<kiln_wasi_t*>(nullptr));
  }
  auto wasi = std::make_shared<kiln_wasi_t>();
  wasi->store = store;
  wasi->context = std::move(*context);
  wasi->preview1 = std::make_unique<wasi::Preview1>(*wasi->context);
  store->attachments.push_back(wasi);
  return wasi.get();
}

bool kiln_wasi_imports(kiln_wasi_t* wasi, const wasm_module_t* module, wasm_extern_vec_t* out) {
  if (out) wasm_extern_vec_new_empty(out);
  if (!wasi || !module || !out) return fail("kiln_wasi_imports: null argument", false);
  auto imports = wasi->preview1->imports_for(wasi->store->store, *module->module);
  if (!imports.ok()) return fail("kiln_wasi_imports: " + imports.error().message, false);
  wasm_extern_vec_new_uninitialized(out, imports->size());
  for (size_t i = 0; i < out->size; ++i) out->data[i] = make_extern(wasi->store, (*imports)[i]);
  return true;
}

bool kiln_component_linker_define_wasi(kiln_component_linker_t* linker, kiln_wasi_t* wasi) {
  if (!linker || !wasi) return fail("kiln_component_linker_define_wasi: null argument", false);
  if (linker->wasi_store) {
    return fail("kiln_component_linker_define_wasi: the linker has WASI already", false);
  }
  // The host functions are the linker's; the WASI state (handles, grants) is the store's and
  // refers to the context, which `wasi` keeps.
  auto added = wasi::Preview2::add_to_linker(*linker->linker);
  if (!added) return fail("kiln_component_linker_define_wasi: " + added.error().message, false);
  (*added)->attach(wasi->store->store, *wasi->context);
  linker->wasi_store = wasi->store->liveness;
  return true;
}

}  // extern "C"
