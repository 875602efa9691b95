;; Re-entry: `down` calls the host, whose callback calls `down` again (tests/hardening_test.cpp).
(module $hostile_reentry
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (func $down (export "down") (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $reenter)
  ;; Recursion in wasm alone, for the collapsed backtrace.
  (func $recurse (export "recurse") (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $recurse))
