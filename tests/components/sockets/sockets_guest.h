// What the wasi:sockets test commands share (tcp_loopback.c, udp_loopback.c): command_guest.h,
// the instance network, and an ip-socket-address as a function's flattened arguments.
#pragma once

#include "../command_guest.h"

// An ip-socket-address flattens to its case and the join of its cases' flattenings: ipv4's
// (port, 4 x u8) and ipv6's (port, flow-info, 8 x u16, scope-id): 12 i32s in all.
#define IPV4(port, a, b, c, d) 0, port, a, b, c, d, 0, 0, 0, 0, 0, 0

IMPORT("wasi:sockets/instance-network@0.2.12", "instance-network") int32_t instance_network(void);
IMPORT("wasi:io/poll@0.2.12", "[method]pollable.block") void block(int32_t self);
IMPORT("wasi:io/poll@0.2.12", "[resource-drop]pollable") void drop_pollable(int32_t handle);
