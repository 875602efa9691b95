;; Calls into the host and back, multiple results, and memory growth.
(module $host
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "fail" (func $fail))
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (memory (export "memory") 1 3)
  (func (export "call_add") (param i32 i32) (result i32) (call $add (local.get 0) (local.get 1)))
  (func $call_fail (export "call_fail") (call $fail))
  (func (export "square") (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func (export "call_reenter") (param i32) (result i32)
    (i32.add (call $reenter (local.get 0)) (i32.const 1)))
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "sum_bytes") (param i32 i32) (result i32) (local i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get 1)))
        (local.set 2 (i32.add (local.get 2) (i32.load8_u (local.get 0))))
        (local.set 0 (i32.add (local.get 0) (i32.const 1)))
        (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
        (br $next)))
    (local.get 2)))
