;; A guest that asks the host to keep things and never lets go: handles of its own resource,
;; WASI streams, HTTP fields grown by append, and a response body written whole; random bytes
;; past its budget; and one call whose arguments, lifted, are the square of its memory
;; (fields.from-list of entries that all point at the same 1 MiB value). What the host holds
;; or copies for it counts against the store's memory budget (--max-memory), so each ends in a
;; trap (or a stream error) once past it, instead of exhausting the host
;; (wasi_components_test.cpp).
(component
  (import "wasi:io/error@0.2.12" (instance $error-instance
    (export "error" (type (sub resource)))))
  (alias export $error-instance "error" (type $error))
  (import "wasi:io/streams@0.2.12" (instance $streams
    (alias outer 1 $error (type $e))
    (export "error" (type $error (eq $e)))
    (export "output-stream" (type $os (sub resource)))
    (type $se (variant (case "last-operation-failed" (own $error)) (case "closed")))
    (export "stream-error" (type $stream-error (eq $se)))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8))
            (result (result (error $stream-error)))))))
  (alias export $streams "output-stream" (type $output-stream))
  (import "wasi:cli/stdout@0.2.12" (instance $stdout
    (alias outer 1 $output-stream (type $os))
    (export "output-stream" (type (eq $os)))
    (export "get-stdout" (func (result (own $os))))))
  (import "wasi:random/random@0.2.12" (instance $random
    (export "get-random-bytes" (func (param "len" u64) (result (list u8))))))
  (import "wasi:http/types@0.2.12" (instance $http
    (alias outer 1 $output-stream (type $os))
    (export "output-stream" (type $output-stream (eq $os)))
    (export "fields" (type $fields (sub resource)))
    (export "outgoing-response" (type $response (sub resource)))
    (export "outgoing-body" (type $body (sub resource)))
    (type $he (variant (case "invalid-syntax") (case "forbidden") (case "immutable")))
    (export "header-error" (type $header-error (eq $he)))
    (export "[constructor]fields" (func (result (own $fields))))
    (type $entry (tuple string (list u8)))
    (export "[static]fields.from-list"
      (func (param "entries" (list $entry)) (result (result (own $fields) (error $header-error)))))
    (export "[method]fields.append"
      (func (param "self" (borrow $fields)) (param "name" string) (param "value" (list u8))
            (result (result (error $header-error)))))
    (export "[constructor]outgoing-response" (func (param "headers" (own $fields))
                                                   (result (own $response))))
    (export "[method]outgoing-response.body"
      (func (param "self" (borrow $response)) (result (result (own $body)))))
    (export "[method]outgoing-body.write"
      (func (param "self" (borrow $body)) (result (result (own $output-stream)))))))

  (core module $libc
    (memory (export "memory") 48)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0x100000)))
  (core instance $libc (instantiate $libc))
  (type $own (resource (rep i32)))
  (core func $new (canon resource.new $own))
  (alias export $stdout "get-stdout" (func $get-stdout))
  (alias export $streams "[method]output-stream.blocking-write-and-flush" (func $write))
  (alias export $random "get-random-bytes" (func $random-bytes))
  (alias export $http "[constructor]fields" (func $fields-new))
  (alias export $http "[method]fields.append" (func $fields-append))
  (alias export $http "[static]fields.from-list" (func $fields-from-list))
  (alias export $http "[constructor]outgoing-response" (func $response-new))
  (alias export $http "[method]outgoing-response.body" (func $response-body))
  (alias export $http "[method]outgoing-body.write" (func $body-write))
  (core func $get-stdout-lowered (canon lower (func $get-stdout)))
  (core func $write-lowered (canon lower (func $write) (memory (core memory $libc "memory"))))
  (core func $fields-new-lowered (canon lower (func $fields-new)))
  (core func $random-lowered (canon lower (func $random-bytes)
    (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (core func $fields-append-lowered
    (canon lower (func $fields-append) (memory (core memory $libc "memory"))))
  (core func $fields-from-list-lowered
    (canon lower (func $fields-from-list) (memory (core memory $libc "memory"))))
  (core func $response-new-lowered (canon lower (func $response-new)))
  (core func $response-body-lowered
    (canon lower (func $response-body) (memory (core memory $libc "memory"))))
  (core func $body-write-lowered
    (canon lower (func $body-write) (memory (core memory $libc "memory"))))
  (core module $main
    (import "libc" "memory" (memory 48))
    (import "host" "new" (func $new (param i32) (result i32)))
    (import "host" "get-stdout" (func $get-stdout (result i32)))
    (import "host" "write" (func $write (param i32 i32 i32 i32)))
    (import "host" "fields-new" (func $fields-new (result i32)))
    (import "host" "random" (func $random (param i64 i32)))
    (import "host" "fields-append" (func $fields-append (param i32 i32 i32 i32 i32 i32)))
    (import "host" "fields-from-list" (func $fields-from-list (param i32 i32 i32)))
    (import "host" "response-new" (func $response-new (param i32) (result i32)))
    (import "host" "response-body" (func $response-body (param i32 i32)))
    (import "host" "body-write" (func $body-write (param i32 i32)))
    (data (i32.const 16) "x-hoard")
    ;; `n` handles of the component's own resource, none dropped: how many were made.
    (func (export "hoard-own") (param $n i32) (result i32)
      (local $i i32)
      (loop $l
        (drop (call $new (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $i))
    ;; `n` stdout streams, none dropped: how many were made.
    (func (export "hoard-streams") (param $n i32) (result i32)
      (local $i i32)
      (loop $l
        (drop (call $get-stdout))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $i))
    ;; One fields object, `n` appends of a 4 KiB value ("aaa...") to it: the appends that
    ;; went (-1 if one was refused with a header-error, which none should be).
    (func (export "hoard-fields") (param $n i32) (result i32)
      (local $i i32) (local $fields i32)
      (memory.fill (i32.const 4096) (i32.const 0x61) (i32.const 4096))
      (local.set $fields (call $fields-new))
      (loop $l
        (call $fields-append (local.get $fields) (i32.const 16) (i32.const 7)
                             (i32.const 4096) (i32.const 4096) (i32.const 64))
        ;; result<_, header-error>: an error ends the loop (none is expected).
        (if (i32.load8_u (i32.const 64)) (then (return (i32.const -1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $i))
    ;; A response body written `n` times 4 KiB: 0 when all went, else the write that failed
    ;; (1-based), its stream error the host's answer.
    (func (export "hoard-body") (param $n i32) (result i32)
      (local $i i32) (local $body i32) (local $stream i32)
      (call $response-body (call $response-new (call $fields-new)) (i32.const 64))
      (local.set $body (i32.load (i32.const 68)))
      (call $body-write (local.get $body) (i32.const 64))
      (local.set $stream (i32.load (i32.const 68)))
      (loop $l
        (call $write (local.get $stream) (i32.const 4096) (i32.const 4096) (i32.const 64))
        (if (i32.load8_u (i32.const 64))
          (then (return (i32.add (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (i32.const 0))
    ;; `n` random bytes, which the host makes before the guest's realloc can refuse them: the
    ;; length it got.
    (func (export "random") (param $n i64) (result i32)
      (call $random (local.get $n) (i32.const 64))
      (i32.load offset=4 (i32.const 64)))
    ;; fields.from-list of `n` entries "x-hoard: <the same 1 MiB of 'a'>" (at most 65536): 0
    ;; when the host made the fields, 1 when it refused them with a header-error.
    (func (export "quadratic-fields") (param $n i32) (result i32)
      (local $i i32) (local $entry i32)
      (memory.fill (i32.const 0x100000) (i32.const 0x61) (i32.const 0x100000))
      (local.set $entry (i32.const 0x200000))
      (loop $l
        (i32.store (local.get $entry) (i32.const 16))
        (i32.store offset=4 (local.get $entry) (i32.const 7))
        (i32.store offset=8 (local.get $entry) (i32.const 0x100000))
        (i32.store offset=12 (local.get $entry) (i32.const 0x100000))
        (local.set $entry (i32.add (local.get $entry) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (call $fields-from-list (i32.const 0x200000) (local.get $n) (i32.const 64))
      (i32.load8_u (i32.const 64))))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "host" (instance
      (export "new" (func $new))
      (export "get-stdout" (func $get-stdout-lowered))
      (export "write" (func $write-lowered))
      (export "fields-new" (func $fields-new-lowered))
      (export "random" (func $random-lowered))
      (export "fields-append" (func $fields-append-lowered))
      (export "fields-from-list" (func $fields-from-list-lowered))
      (export "response-new" (func $response-new-lowered))
      (export "response-body" (func $response-body-lowered))
      (export "body-write" (func $body-write-lowered))))))
  (func (export "hoard-own") (param "n" u32) (result u32)
    (canon lift (core func $main "hoard-own")))
  (func (export "hoard-streams") (param "n" u32) (result u32)
    (canon lift (core func $main "hoard-streams")))
  (func (export "hoard-fields") (param "n" u32) (result s32)
    (canon lift (core func $main "hoard-fields")))
  (func (export "hoard-body") (param "n" u32) (result u32)
    (canon lift (core func $main "hoard-body")))
  (func (export "random") (param "n" u64) (result u32)
    (canon lift (core func $main "random")))
  (func (export "quadratic-fields") (param "n" u32) (result u32)
    (canon lift (core func $main "quadratic-fields"))))
