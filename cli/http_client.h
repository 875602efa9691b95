// The kiln command's transport for wasi:http's outgoing requests (wasi/http_client.h): libcurl
// (Debian libcurl4-openssl-dev), HTTP/1.1 and HTTPS with the system's certificates, no
// redirects followed, bodies held whole.
#pragma once

#include "wasi/http_client.h"

namespace kiln::cli {

wasi::HttpSender curl_http_sender();

}  // namespace kiln::cli
