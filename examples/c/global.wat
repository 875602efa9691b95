;; global.c's module: imports a constant and a mutable global, exports its own, and functions
;; that read and write them.
(module
  (import "host" "const_f32" (global $const_f32 f32))
  (import "host" "var_i64" (global $var_i64 (mut i64)))
  (global $counter (export "counter") (mut i32) (i32.const 100))
  (global (export "answer") i32 (i32.const 42))
  (func (export "get_const_f32") (result f32) (global.get $const_f32))
  (func (export "get_var_i64") (result i64) (global.get $var_i64))
  (func (export "bump") (result i32)
    (global.set $var_i64 (i64.add (global.get $var_i64) (i64.const 1)))
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter)))
