;; The module the careless-embedder programs misuse (tests/embedders/*.c).
(module $embedder
  (import "env" "callback" (func $callback (param i32) (result i32)))
  (func $call_host (export "call_host") (param i32) (result i32)
    local.get 0
    call $callback)
  (func $trap (export "trap")
    unreachable)
  (func $answer (export "answer") (result i32)
    i32.const 42)
  (func $trap_with_result (export "trap_with_result") (result i32)
    unreachable))
