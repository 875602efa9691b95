// Which socket addresses a guest may bind to, connect to or send datagrams to (wasi:sockets):
// denied unless a rule grants them (DESIGN-NOTES section 8). One rule is written
//
//   *                      every address of both families, every port
//   ADDRESS[/PREFIX][:PORTS]   an IPv4 address or network, `127.0.0.1`, `10.0.0.0/8:443`
//   [ADDRESS[/PREFIX]][:PORTS] an IPv6 one in brackets, `[::1]:8080`, `[fd00::/8]`
//   *:PORTS                every address, those ports
//
// where PORTS is a port, a range `LOW-HIGH`, or `*`; without PORTS every port. Port 0 (bind to
// an ephemeral port) is granted only by a rule whose ports include 0 (`*` or none given).
// IPv4-mapped IPv6 addresses are never granted: WASI refuses them before any rule is asked.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/result.h"

namespace kiln::wasi {

struct SocketAddress {
  bool ipv6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4, network byte order
  uint16_t port = 0;
  uint32_t flow_info = 0, scope_id = 0;  // IPv6 only
};

struct AddressRule {
  bool any_address = false;  // `*`: both families
  bool ipv6 = false;
  std::array<uint8_t, 16> network{};
  unsigned prefix = 0;  // bits of `network` that must match
  uint16_t port_low = 0, port_high = 65535;
};

// Parses one rule as written above; an error names what is wrong with it.
Result<AddressRule> parse_address_rule(const std::string& text);

// Whether some rule grants `address` (its family, address bits and port).
bool address_granted(const std::vector<AddressRule>& rules, const SocketAddress& address);

}  // namespace kiln::wasi
