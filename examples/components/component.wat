;; A component in the component model's text format (assembled by jco's parser at build time:
;; scripts/component-wat2wasm.mjs). It imports the interface `local:demo/host@1.0.0` (a `log`
;; function and a `counter` resource with a method) and exports `greet: func(name: string) ->
;; string` and `tally: func(c: borrow<counter>) -> u32`. examples/c/component.c embeds it.
(component
  (import "local:demo/host@1.0.0" (instance $host
    (export "counter" (type $counter (sub resource)))
    (export "log" (func (param "message" string)))
    (export "[method]counter.bump" (func (param "self" (borrow $counter)) (result u32)))))
  (alias export $host "counter" (type $counter))

  ;; Linear memory and a bump allocator, shared by the code below.
  (core module $libc
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param $old i32) (param $old-size i32) (param $align i32)
                             (param $size i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $size)))
      (local.get $p)))
  (core instance $libc (instantiate $libc))

  (alias export $host "log" (func $log))
  (alias export $host "[method]counter.bump" (func $bump))
  (core func $log-lowered (canon lower (func $log) (memory (core memory $libc "memory"))))
  (core func $bump-lowered (canon lower (func $bump)))
  (core func $drop (canon resource.drop $counter))

  (core module $main
    (import "libc" "memory" (memory 1))
    (import "libc" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (import "host" "log" (func $log (param i32 i32)))
    (import "host" "bump" (func $bump (param i32) (result i32)))
    (import "host" "drop" (func $drop (param i32)))
    (data (i32.const 16) "Hello, ")
    ;; greet(name) = "Hello, " + name, after logging the name through the host.
    (func (export "greet") (param $name i32) (param $length i32) (result i32)
      (local $out i32)
      (call $log (local.get $name) (local.get $length))
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 1)
                                     (i32.add (local.get $length) (i32.const 7))))
      (memory.copy (local.get $out) (i32.const 16) (i32.const 7))
      (memory.copy (i32.add (local.get $out) (i32.const 7)) (local.get $name) (local.get $length))
      (i32.store (i32.const 0) (local.get $out))
      (i32.store (i32.const 4) (i32.add (local.get $length) (i32.const 7)))
      (i32.const 0))
    ;; tally(c) bumps the host's counter three times and returns the last count; the borrowed
    ;; handle is dropped before returning, as the canonical ABI requires.
    (func (export "tally") (param $counter i32) (result i32)
      (local $count i32)
      (drop (call $bump (local.get $counter)))
      (drop (call $bump (local.get $counter)))
      (local.set $count (call $bump (local.get $counter)))
      (call $drop (local.get $counter))
      (local.get $count)))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "host" (instance
      (export "log" (func $log-lowered))
      (export "bump" (func $bump-lowered))
      (export "drop" (func $drop))))))

  (func (export "greet") (param "name" string) (result string)
    (canon lift (core func $main "greet")
      (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (func (export "tally") (param "c" (borrow $counter)) (result u32)
    (canon lift (core func $main "tally"))))
