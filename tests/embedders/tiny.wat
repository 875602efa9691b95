;; A small module instantiated 100,001 times in one store (tests/embedders/instances.c).
(module $tiny
  (global $counter (mut i32) (i32.const 0))
  (func (export "f") (result i32)
    global.get $counter
    i32.const 1
    i32.add
    global.set $counter
    global.get $counter))
