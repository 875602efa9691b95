;; A guest misusing WASI 0.2 resources through correctly typed imports: writing to stdout after
;; dropping its handle, dropping it twice, asking for 2^40 random bytes, writing 2^40 zeroes
;; and a blocking write of more than 4096 bytes. Each must be a trap (or a WIT error), never a
;; crash (wasi_components_test.cpp).
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
            (result (result (error $stream-error)))))
    (export "[method]output-stream.blocking-write-zeroes-and-flush"
      (func (param "self" (borrow $os)) (param "len" u64)
            (result (result (error $stream-error)))))))
  (alias export $streams "output-stream" (type $output-stream))
  (import "wasi:cli/stdout@0.2.12" (instance $stdout
    (alias outer 1 $output-stream (type $os))
    (export "output-stream" (type (eq $os)))
    (export "get-stdout" (func (result (own $os))))))
  (import "wasi:random/random@0.2.12" (instance $random
    (export "get-random-bytes" (func (param "len" u64) (result (list u8))))))

  (core module $libc
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $next))
      (global.set $next (i32.add (global.get $next) (local.get 3)))
      (local.get $p)))
  (core instance $libc (instantiate $libc))
  (alias export $stdout "get-stdout" (func $get-stdout))
  (alias export $streams "[method]output-stream.blocking-write-and-flush" (func $write))
  (alias export $streams "[method]output-stream.blocking-write-zeroes-and-flush" (func $zeroes))
  (alias export $random "get-random-bytes" (func $random-bytes))
  (core func $get-stdout-lowered (canon lower (func $get-stdout)))
  (core func $write-lowered (canon lower (func $write) (memory (core memory $libc "memory"))))
  (core func $zeroes-lowered (canon lower (func $zeroes) (memory (core memory $libc "memory"))))
  (core func $random-lowered (canon lower (func $random-bytes)
    (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (core func $drop (canon resource.drop $output-stream))
  (core module $main
    (import "libc" "memory" (memory 1))
    (import "host" "get-stdout" (func $get-stdout (result i32)))
    (import "host" "write" (func $write (param i32 i32 i32 i32)))
    (import "host" "zeroes" (func $zeroes (param i32 i64 i32)))
    (import "host" "random" (func $random (param i64 i32)))
    (import "host" "drop" (func $drop (param i32)))
    (data (i32.const 16) "hi\n")
    (func (export "write-after-drop")
      (local $out i32)
      (local.set $out (call $get-stdout))
      (call $write (local.get $out) (i32.const 16) (i32.const 3) (i32.const 64))
      (call $drop (local.get $out))
      (call $write (local.get $out) (i32.const 16) (i32.const 3) (i32.const 64)))
    (func (export "drop-twice")
      (local $out i32)
      (local.set $out (call $get-stdout))
      (call $drop (local.get $out))
      (call $drop (local.get $out)))
    (func (export "huge-random") (call $random (i64.const 0x10000000000) (i32.const 64)))
    (func (export "huge-zeroes")
      (call $zeroes (call $get-stdout) (i64.const 0x10000000000) (i32.const 64)))
    (func (export "long-blocking-write")
      (call $write (call $get-stdout) (i32.const 0) (i32.const 5000) (i32.const 64))))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "host" (instance
      (export "get-stdout" (func $get-stdout-lowered))
      (export "write" (func $write-lowered))
      (export "zeroes" (func $zeroes-lowered))
      (export "random" (func $random-lowered))
      (export "drop" (func $drop))))))
  (func (export "write-after-drop") (canon lift (core func $main "write-after-drop")))
  (func (export "drop-twice") (canon lift (core func $main "drop-twice")))
  (func (export "huge-random") (canon lift (core func $main "huge-random")))
  (func (export "huge-zeroes") (canon lift (core func $main "huge-zeroes")))
  (func (export "long-blocking-write") (canon lift (core func $main "long-blocking-write"))))
