#include "wasi/network_grants.h"

#include <arpa/inet.h>

#include <charconv>

namespace kiln::wasi {
namespace {

Error bad_rule(const std::string& text, const std::string& why) {
  return Error{ErrorKind::kUsage, "network grant `" + text + "`: " + why};
}

bool parse_port(std::string_view text, uint16_t& port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value > 65535) {
    return false;
  }
  port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

Result<AddressRule> parse_address_rule(const std::string& text) {
  AddressRule rule;
  std::string address = text;
  std::string ports;
  bool has_ports = false;
  if (!text.empty() && text[0] == '[') {  // [IPv6[/PREFIX]][:PORTS]
    const size_t close = text.find(']');
    if (close == std::string::npos) return bad_rule(text, "an IPv6 address lacks its `]`");
    address = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return bad_rule(text, "`]` must be followed by `:PORTS`");
      ports = text.substr(close + 2);
      has_ports = true;
    }
    rule.ipv6 = true;
  } else if (const size_t colon = text.find(':'); colon != std::string::npos) {
    if (text.find(':', colon + 1) != std::string::npos) {
      return bad_rule(text, "an IPv6 address is written in brackets, `[::1]:80`");
    }
    address = text.substr(0, colon);
    ports = text.substr(colon + 1);
    has_ports = true;
  }

  if (has_ports) {
    if (ports == "*") {
      // every port, as without PORTS
    } else if (const size_t dash = ports.find('-'); dash != std::string::npos) {
      if (!parse_port(std::string_view(ports).substr(0, dash), rule.port_low) ||
          !parse_port(std::string_view(ports).substr(dash + 1), rule.port_high) ||
          rule.port_low > rule.port_high) {
        return bad_rule(text, "ports are PORT, LOW-HIGH (0-65535) or *");
      }
    } else {
      if (!parse_port(ports, rule.port_low)) {
        return bad_rule(text, "ports are PORT, LOW-HIGH (0-65535) or *");
      }
      rule.port_high = rule.port_low;
    }
  }

  if (address == "*") {
    if (rule.ipv6) return bad_rule(text, "`*` stands for every address of both families");
    rule.any_address = true;
    return rule;
  }
  const size_t slash = address.find('/');
  const std::string host = address.substr(0, slash);
  if (!rule.ipv6 && host.find(':') != std::string::npos) {
    return bad_rule(text, "an IPv6 address is written in brackets, `[::1]`");
  }
  const unsigned bits = rule.ipv6 ? 128 : 32;
  if (::inet_pton(rule.ipv6 ? AF_INET6 : AF_INET, host.c_str(), rule.network.data()) != 1) {
    return bad_rule(text, std::string("not an IPv") + (rule.ipv6 ? "6" : "4") +
                              " address (grants name addresses, not host names)");
  }
  rule.prefix = bits;
  if (slash != std::string::npos) {
    uint16_t prefix = 0;
    if (!parse_port(std::string_view(address).substr(slash + 1), prefix) || prefix > bits) {
      return bad_rule(text, "the prefix length is 0 to " + std::to_string(bits));
    }
    rule.prefix = prefix;
  }
  return rule;
}

bool address_granted(const std::vector<AddressRule>& rules, const SocketAddress& address) {
  for (const AddressRule& rule : rules) {
    if (address.port < rule.port_low || address.port > rule.port_high) continue;
    if (rule.any_address) return true;
    if (rule.ipv6 != address.ipv6) continue;
    bool match = true;
    for (unsigned bit = 0; bit < rule.prefix && match; bit += 8) {
      const unsigned take = std::min(8u, rule.prefix - bit);
      const uint8_t mask = static_cast<uint8_t>(0xff00u >> take);
      match = ((rule.network[bit / 8] ^ address.bytes[bit / 8]) & mask) == 0;
    }
    if (match) return true;
  }
  return false;
}

}  // namespace kiln::wasi
