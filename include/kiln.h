/* kiln's own C API: what embedders need beyond wasm.h. Engine configuration, fuel and
 * deadlines, per-store limits, telemetry, traps in detail, and WASI.
 *
 * Ownership follows wasm.h: `own` results and `out` parameters pass to the caller, `own`
 * parameters to kiln, everything else is borrowed. Nothing here aborts: a null or bad argument
 * makes the call return false, null or zero, and kiln_last_error_message() says why. */
#ifndef KILN_H
#define KILN_H

#include "wasm.h"

#ifndef KILN_API
#define KILN_API WASM_API_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define own

/* The message of the last call on this thread that failed ("" when none has). Borrowed: valid
 * until the next kiln or wasm.h call on this thread. It names what failed and where (for a
 * module: the section, item and byte offset). */
KILN_API const char* kiln_last_error_message(void);

/* wasm.h has no v128 value kind; function and global types that hold one report this kind.
 * Such values cannot be passed through wasm_val_t. */
#define KILN_V128 ((wasm_valkind_t)4)

/* ------------------------------------------------------------------------------------------
 * Engine configuration (before wasm_engine_new_with_config, which takes the config). */

typedef uint8_t kiln_tier_t;
enum kiln_tier_enum {
  KILN_TIER_AUTO, /* the best tier available: the JIT where kiln has one (x86-64), with a
                     function interpreted for its first 16 calls (code run once is never
                     compiled: `kiln run`'s default) or until its loops have run 1,000
                     iterations, when its frame goes on in machine code from the loop's
                     header; else the interpreter */
  KILN_TIER_INTERPRETER,
  KILN_TIER_JIT, /* every function compiled at its first call (the default when no tier is
                    set); those the JIT cannot compile still run in the interpreter */
};
/* False (and the config unchanged) when the tier is not available in this build. */
KILN_API bool kiln_config_set_tier(wasm_config_t*, kiln_tier_t tier);
/* JIT: compile every function when its module is compiled (true), or each at its first call
 * (false, the default: start-up as fast as the interpreter's). */
KILN_API void kiln_config_set_eager_compilation(wasm_config_t*, bool eager);
/* JIT: how memory accesses are kept in bounds. Guard pages (the default): no compare; an
 * access outside a memory's 8 GiB address-space reservation faults and becomes the trap.
 * Explicit: a compare per access, for hosts that cap virtual memory. */
typedef uint8_t kiln_bounds_checks_t;
enum kiln_bounds_checks_enum {
  KILN_BOUNDS_GUARD_PAGES,
  KILN_BOUNDS_EXPLICIT,
};
/* False (config unchanged) for an unknown mode. */
KILN_API bool kiln_config_set_bounds_checks(wasm_config_t*, kiln_bounds_checks_t mode);
/* JIT: name compiled functions for Linux perf in /tmp/perf-PID.map (as wasmtime and V8 do). */
KILN_API void kiln_config_set_perf_map(wasm_config_t*, bool enable);

/* Fuel: compile fuel charges into code. Stores of such an engine need fuel to run
 * (kiln_store_set_fuel), and a call stops with the trap KILN_TRAP_OUT_OF_FUEL when it runs
 * out. The cost model (docs/BUDGETS.md): every instruction costs 1, except nop, block, loop,
 * else and end. `host_call_fuel` is charged extra for each host function call. */
KILN_API void kiln_config_consume_fuel(wasm_config_t*, bool enable);
KILN_API void kiln_config_host_call_fuel(wasm_config_t*, uint64_t fuel);

/* Deadlines: compile epoch checks into function entries and loops. The engine's epoch is
 * advanced by kiln_engine_increment_epoch (from any thread); a store whose deadline the epoch
 * reaches stops with KILN_TRAP_DEADLINE_EXCEEDED. */
KILN_API void kiln_config_epoch_interruption(wasm_config_t*, bool enable);
KILN_API void kiln_engine_increment_epoch(wasm_engine_t*);

/* Limits for every store of engines made from this config. Growth past a limit fails
 * (memory.grow and table.grow return -1); creation past one fails instantiation. */
typedef struct kiln_limits_t {
  uint64_t max_memory_bytes;   /* per linear memory */
  uint64_t max_table_elements; /* per table */
  uint32_t max_instances;      /* instantiations that succeeded */
  uint32_t max_tables;
  uint32_t max_memories;
  uint32_t max_call_depth;  /* wasm frames; at most 10,000,000 */
  uint64_t max_stack_bytes; /* the interpreter's value stack; at most 4 GiB */
  /* Linear memories and tables of the store together (a table element counts 8 bytes), and
   * the host memory the guest makes the host hold: component resource handles, WASI 0.2
   * resources, HTTP fields and bodies (docs/BUDGETS.md). */
  uint64_t max_total_memory_bytes;
} kiln_limits_t;
/* The limits a new config has: no caps on the counts of instances, tables and memories (as
 * other engines' stores), 4 GiB per memory and for memories and tables together, 100,000
 * frames and an 8 MiB value stack. */
KILN_API void kiln_limits_default(kiln_limits_t* out);
/* False (the config unchanged) for limits past what kiln supports (see above). */
KILN_API bool kiln_config_set_limits(wasm_config_t*, const kiln_limits_t* limits);
/* A store with its own limits (one tenant's), instead of its engine's; null for limits past
 * what kiln supports. */
KILN_API own wasm_store_t* kiln_store_new_with_limits(wasm_engine_t*, const kiln_limits_t* limits);

/* ------------------------------------------------------------------------------------------
 * Stores: fuel, deadline, telemetry. */

/* Set the fuel left, or add to it. False when the store's engine does not consume fuel. */
KILN_API bool kiln_store_set_fuel(wasm_store_t*, uint64_t fuel);
KILN_API bool kiln_store_add_fuel(wasm_store_t*, uint64_t fuel);
/* The fuel left and the fuel used so far. */
KILN_API uint64_t kiln_store_fuel_remaining(const wasm_store_t*);
KILN_API uint64_t kiln_store_fuel_consumed(const wasm_store_t*);

/* Calls stop once the engine's epoch has advanced `ticks` from now. */
KILN_API void kiln_store_set_epoch_deadline(wasm_store_t*, uint64_t ticks);
/* Called when a running call reaches the deadline: return true and set `*more_ticks` to let it
 * go on that many more epoch ticks, or false to stop it with KILN_TRAP_DEADLINE_EXCEEDED.
 * `finalizer` (may be null) runs on `env` when the callback is replaced or the store deleted. */
typedef bool (*kiln_deadline_callback_t)(void* env, uint64_t* more_ticks);
KILN_API void kiln_store_set_deadline_callback(wasm_store_t*, kiln_deadline_callback_t callback,
                                               void* env, void (*finalizer)(void*));

/* What a store has used. */
typedef struct kiln_telemetry_t {
  uint64_t fuel_consumed;
  uint64_t memory_bytes;      /* all linear memories and tables of the store, now */
  uint64_t peak_memory_bytes; /* ... at their largest */
  uint64_t memory_grow_refusals;
  uint64_t table_grow_refusals;
  uint64_t limit_refusals; /* instantiations refused by a limit */
  uint64_t host_calls;     /* calls of host functions */
  uint64_t host_call_ns;   /* time spent in them */
  uint64_t traps;          /* calls that ended in a trap */
  uint64_t table_bytes;    /* the tables' part of memory_bytes, now */
} kiln_telemetry_t;
KILN_API void kiln_store_telemetry(const wasm_store_t*, kiln_telemetry_t* out);

/* ------------------------------------------------------------------------------------------
 * Traps in detail (the backtrace itself: wasm_trap_trace). */

typedef uint8_t kiln_trap_code_t;
enum kiln_trap_code_enum {
  KILN_TRAP_UNREACHABLE,
  KILN_TRAP_MEMORY_OUT_OF_BOUNDS,
  KILN_TRAP_TABLE_OUT_OF_BOUNDS,
  KILN_TRAP_UNDEFINED_ELEMENT,
  KILN_TRAP_UNINITIALIZED_ELEMENT,
  KILN_TRAP_INDIRECT_CALL_TYPE_MISMATCH,
  KILN_TRAP_INTEGER_DIVIDE_BY_ZERO,
  KILN_TRAP_INTEGER_OVERFLOW,
  KILN_TRAP_INVALID_CONVERSION,
  KILN_TRAP_CALL_STACK_EXHAUSTED,
  KILN_TRAP_HOST_ERROR, /* made by wasm_trap_new, or a host function failed */
  KILN_TRAP_EXIT,       /* the program exited (WASI proc_exit): see kiln_trap_exit_status */
  KILN_TRAP_OUT_OF_FUEL,
  KILN_TRAP_DEADLINE_EXCEEDED,
  KILN_TRAP_UNCAUGHT_EXCEPTION,       /* a wasm exception (Wasm 3.0) no handler caught */
  KILN_TRAP_NULL_EXCEPTION_REFERENCE, /* throw_ref of a null exnref */
  KILN_TRAP_OUT_OF_MEMORY,            /* exceptions beyond the store's memory limit */
};
KILN_API kiln_trap_code_t kiln_trap_code(const wasm_trap_t*);
/* True, with the status, when the trap is a program's exit. */
KILN_API bool kiln_trap_exit_status(const wasm_trap_t*, int32_t* status);
/* A deep stack's trace (wasm_trap_trace) keeps its innermost and outermost 10 frames; this is
 * how many frames between them were left out (0 for a trace of 20 frames or fewer). */
KILN_API uint64_t kiln_trap_omitted_frames(const wasm_trap_t*);
/* The function's name from the module's name section ("" when it has none). Recorded when the
 * trap was made, so it stays valid after the store is deleted. */
KILN_API void kiln_frame_func_name(const wasm_frame_t*, own wasm_name_t* out);

/* ------------------------------------------------------------------------------------------
 * WASI: a configuration for wasi_snapshot_preview1 (kiln_wasi_imports) and for WASI 0.2
 * (kiln_component.h's kiln_component_linker_define_wasi). Nothing is granted unless asked
 * for: no arguments, no environment, no directories, no network; stdio is inherited unless
 * redirected. */

typedef struct kiln_wasi_config_t kiln_wasi_config_t;
KILN_API own kiln_wasi_config_t* kiln_wasi_config_new(void);
KILN_API void kiln_wasi_config_delete(own kiln_wasi_config_t*);
/* argv[0] is the program's name. */
KILN_API void kiln_wasi_config_set_args(kiln_wasi_config_t*, int argc, const char* const argv[]);
KILN_API void kiln_wasi_config_set_env(kiln_wasi_config_t*, const char* name, const char* value);
/* Every variable of kiln's own environment. */
KILN_API void kiln_wasi_config_inherit_env(kiln_wasi_config_t*);
/* Grants `host_path`, seen by the guest as `guest_path`; nothing outside it is reachable. */
KILN_API void kiln_wasi_config_preopen_dir(kiln_wasi_config_t*, const char* host_path,
                                           const char* guest_path, bool read_only);
/* Host file descriptors for the guest's stdin, stdout and stderr; -1 gives it none. */
KILN_API void kiln_wasi_config_set_stdio(kiln_wasi_config_t*, int stdin_fd, int stdout_fd,
                                         int stderr_fd);

/* stdio in host memory, for either host (preview1 and WASI 0.2), in place of descriptors:
 * the guest reads `bytes` (copied) as its stdin, then the end; its stdout or stderr is kept,
 * at most `max_bytes` of it (a write past them fails, as on a full disk), and read with
 * kiln_wasi_stdout_bytes / kiln_wasi_stderr_bytes. */
KILN_API bool kiln_wasi_config_set_stdin_bytes(kiln_wasi_config_t*, const wasm_byte_vec_t* bytes);
KILN_API bool kiln_wasi_config_capture_stdout(kiln_wasi_config_t*, size_t max_bytes);
KILN_API bool kiln_wasi_config_capture_stderr(kiln_wasi_config_t*, size_t max_bytes);

/* The most descriptors the guest may hold open at once, stdio and preopened directories
 * included (default 256): opens past it fail with `mfile`, so one guest cannot use up the
 * process's descriptors. */
KILN_API void kiln_wasi_config_set_max_open_files(kiln_wasi_config_t*, uint32_t max);

/* The network, for WASI 0.2's wasi:sockets (kiln_component.h): sockets may bind, connect and
 * send datagrams to the addresses `rule` grants, one rule a call: "*" (any), an address or
 * network ("127.0.0.1", "10.0.0.0/8", "[::1]", "[fd00::/8]") with ":PORT", ":LOW-HIGH" or
 * ":*" (none: any port; binding port 0 needs a rule whose ports include 0). Everything else is
 * refused with access-denied. False, granting nothing, for a rule that does not parse. */
KILN_API bool kiln_wasi_config_allow_tcp(kiln_wasi_config_t*, const char* rule);
KILN_API bool kiln_wasi_config_allow_udp(kiln_wasi_config_t*, const char* rule);
/* Lets the guest resolve host names (wasi:sockets/ip-name-lookup). */
KILN_API void kiln_wasi_config_allow_ip_name_lookup(kiln_wasi_config_t*, bool allow);

/* Outgoing HTTP, for WASI 0.2's wasi:http/outgoing-handler: requests may go to `authority`
 * ("host" for the scheme's default port, 80 or 443, or "host:port"), one a call; any other is
 * refused with HTTP-request-denied. libkiln opens no connection itself: granted requests go to
 * the embedder's sender (kiln_wasi_config_set_http_sender); without one, every request is
 * refused. */
KILN_API bool kiln_wasi_config_allow_http(kiln_wasi_config_t*, const char* authority);

/* A request the guest sends, as the sender sees it (borrowed for the call). Strings are
 * NUL-terminated; header values and the body are bytes (the whole body: one the guest still
 * writes after handing the request over is read to its end before the sender is called).
 * Timeouts are the guest's request-options in nanoseconds, 0 when it gave none. */
typedef struct kiln_http_header_t {
  const char* name;
  size_t name_size;
  const char* value;
  size_t value_size;
} kiln_http_header_t;
typedef struct kiln_http_request_t {
  const char* method;
  const char* scheme;
  const char* authority;
  const char* path_with_query;
  const kiln_http_header_t* headers;
  size_t header_count;
  const uint8_t* body;
  size_t body_size;
  uint64_t connect_timeout_ns, first_byte_timeout_ns, between_bytes_timeout_ns;
} kiln_http_request_t;

/* What the sender answers, filled in with these calls: a status (default 200) and headers,
 * then body bytes, or a failure: `error_code` is the case of wasi:http/types' error-code
 * (KILN_HTTP_ERROR_*), `message` (may be null) internal-error's text.
 * The body streams: the first kiln_http_response_append_body hands the guest the status and
 * headers set so far (later ones are refused), and each call's bytes are the guest's to read
 * at once. A call waits while the guest has 1 MiB unread, and returns false when the guest gave
 * up on the response (stop sending then). A failure after body bytes is the guest's body stream
 * error (wasi:http's http-error-code names its case); before, the response's. */
typedef struct kiln_http_response_t kiln_http_response_t;
KILN_API void kiln_http_response_set_status(kiln_http_response_t*, uint16_t status);
KILN_API void kiln_http_response_add_header(kiln_http_response_t*, const char* name,
                                            size_t name_size, const char* value, size_t value_size);
KILN_API bool kiln_http_response_append_body(kiln_http_response_t*, const void* data, size_t size);
KILN_API void kiln_http_response_fail(kiln_http_response_t*, uint32_t error_code,
                                      const char* message);
/* Whether the store's deadline has passed: a sender waiting on the network should give up
 * (its answer is then ignored, and the guest traps with deadline exceeded). */
KILN_API bool kiln_http_response_interrupted(const kiln_http_response_t*);
#define KILN_HTTP_ERROR_DNS_TIMEOUT 0
#define KILN_HTTP_ERROR_DESTINATION_NOT_FOUND 2
#define KILN_HTTP_ERROR_CONNECTION_REFUSED 6
#define KILN_HTTP_ERROR_CONNECTION_TIMEOUT 8
#define KILN_HTTP_ERROR_TLS_CERTIFICATE_ERROR 13
#define KILN_HTTP_ERROR_HTTP_RESPONSE_INCOMPLETE 25
#define KILN_HTTP_ERROR_HTTP_RESPONSE_TIMEOUT 33
#define KILN_HTTP_ERROR_HTTP_PROTOCOL_ERROR 35
#define KILN_HTTP_ERROR_INTERNAL_ERROR 38

/* Sends a request and fills in the response; called only for granted authorities, on a thread
 * of kiln's own for each request (a guest may have several in flight; the sender must be
 * thread-safe). A request the guest gives up on (its future dropped, its store deleted) sees
 * kiln_http_response_interrupted() turn true; its answer is then ignored. `finalizer` (may be
 * null) gets `env` after the last call has returned, when the config, the WASI made from it and
 * every request it sent are done: free `env` there, not when the store goes. */
typedef void (*kiln_http_sender_t)(void* env, const kiln_http_request_t* request,
                                   kiln_http_response_t* response);
KILN_API void kiln_wasi_config_set_http_sender(kiln_wasi_config_t*, kiln_http_sender_t sender,
                                               void* env, void (*finalizer)(void*));

/* WASI for one store: opens the granted directories (null, naming the one that cannot be
 * opened, on failure). Takes the config. The result belongs to the store and goes with it. */
typedef struct kiln_wasi_t kiln_wasi_t;
KILN_API kiln_wasi_t* kiln_wasi_new(wasm_store_t*, own kiln_wasi_config_t*);
/* What the guest wrote so far to a captured stdout or stderr (a copy). False when that
 * stream is not captured. */
KILN_API bool kiln_wasi_stdout_bytes(const kiln_wasi_t*, own wasm_byte_vec_t* out);
KILN_API bool kiln_wasi_stderr_bytes(const kiln_wasi_t*, own wasm_byte_vec_t* out);
/* The imports of `module`, in order, for wasm_instance_new: false when the module imports
 * something WASI does not provide (the error names it). */
KILN_API bool kiln_wasi_imports(kiln_wasi_t*, const wasm_module_t*, own wasm_extern_vec_t* out);

#undef own

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KILN_H */
