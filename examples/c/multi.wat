;; multi.c's module: returns several values, and calls a host function that returns several.
(module
  (import "host" "divmod" (func $divmod (param i32 i32) (result i32 i32)))
  (func (export "swap3") (param i32 i64 f64) (result f64 i64 i32)
    (local.get 2) (local.get 1) (local.get 0))
  (func (export "divmod_plus") (param i32 i32) (result i32 i32)
    (local i32)
    (call $divmod (local.get 0) (local.get 1))
    (local.set 2)
    (i32.add (i32.const 100))
    (i32.add (local.get 2) (i32.const 1000))))
