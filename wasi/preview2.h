// The WASI 0.2 host on the component linker (issue 16), with the exact types of
// ../shared/wit/wasi-0.2.12:
//
//   wasi:cli       environment, exit, stdin, stdout, stderr, terminal-* (no terminals)
//   wasi:io        error, poll (pollables for streams, sockets and timers), streams
//   wasi:clocks    monotonic-clock, wall-clock
//   wasi:random    random, insecure, insecure-seed
//   wasi:filesystem preopens (the WasiContext's granted directories) and types (every
//                  descriptor method, over wasi/filesystem.h's Descriptor: the sandbox and
//                  read-only grants preview1 has; file streams for read-via-stream and friends)
//   wasi:http      types, outgoing-handler (http.h; incoming-handler is the guest's export)
//   wasi:sockets   network, instance-network, tcp, tcp-create-socket, udp, udp-create-socket,
//                  ip-name-lookup (sockets.cpp)
//
// Interfaces are defined at @0.2.12; a guest importing any 0.2.x links (names.h). Capabilities
// are the WasiContext's: its arguments, environment, directories, stdio, HTTP authorities and
// network grants; nothing else.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "component/component_linker.h"
#include "component/component_validator.h"
#include "runtime/store.h"
#include "wasi/wasi_context.h"

namespace kiln::wasi {

namespace preview2 {
struct ResourceTypes;
}

class Preview2 {
 public:
  // Defines the interfaces on `linker`, once: any number of stores, on any threads, then run
  // guests linked there, each store with a WASI state of its own (attach). The host functions
  // keep what they need alive, so `linker` and its instances may outlive the result.
  static Result<std::shared_ptr<const Preview2>> add_to_linker(component::ComponentLinker& linker);
  // The same for a linker that serves `component` alone: the functions it imports only (from
  // any version of their interfaces; resource types all the same), so that a command that
  // imports a few of WASI's functions does not pay for defining the others at start-up.
  static Result<std::shared_ptr<const Preview2>> add_to_linker(
      component::ComponentLinker& linker, const component::ValidatedComponent& component);

  // Gives `store` a WASI state of its own: the grants of `context` (which must outlive the
  // store) and empty resource tables. The store's deadline ends blocking waits (poll, blocking
  // reads and writes) with the trap deadline exceeded. A WASI function called in a store
  // without a state traps.
  void attach(Store& store, WasiContext& context) const;

  // What add_to_linker defined, for tests and the host fuzzer: each host function's path and
  // the kinds its arguments must have (one letter each: preview2_host.h's Definer says which),
  // and the resource types by name ("output-stream", "descriptor", ...; null for another name).
  struct DefinedFunction {
    std::string path;
    std::string signature;
  };
  const std::vector<DefinedFunction>& defined_functions() const { return functions_; }
  const component::RuntimeResourceType* resource_type(const std::string& name) const;

  Preview2();
  ~Preview2();

 private:
  // Defines everything, or with `only` those functions alone ("interface#function", the
  // interface without a version), and no resource type of a package none of `only` names.
  static Result<std::shared_ptr<const Preview2>> define(
      component::ComponentLinker& linker, const std::set<std::string, std::less<>>* only);

  std::unique_ptr<preview2::ResourceTypes> types_;
  std::vector<DefinedFunction> functions_;
};

}  // namespace kiln::wasi
