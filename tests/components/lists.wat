;; Lists through the canonical ABI and back: `echo-bytes: func(l: list<u8>) -> list<u8>` and
;; `echo-u16: func(l: list<u16>) -> list<u16>` return their argument (the result area at 0
;; points at it). tests/component_instance_test.cpp checks packed and itemized lists.
(component
  (core module $m
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $next))
      (global.set $next (i32.add (global.get $next) (i32.add (local.get 3) (i32.const 8))))
      (local.get $p))
    (func (export "echo") (param $p i32) (param $n i32) (result i32)
      (i32.store (i32.const 0) (local.get $p))
      (i32.store (i32.const 4) (local.get $n))
      (i32.const 0)))
  (core instance $m (instantiate $m))
  (func (export "echo-bytes") (param "l" (list u8)) (result (list u8))
    (canon lift (core func $m "echo") (memory (core memory $m "memory"))
      (realloc (core func $m "realloc"))))
  (func (export "echo-u16") (param "l" (list u16)) (result (list u16))
    (canon lift (core func $m "echo") (memory (core memory $m "memory"))
      (realloc (core func $m "realloc")))))
