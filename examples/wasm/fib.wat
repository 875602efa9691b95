;; The bundled example: `kiln run --invoke fib build/examples/fib.wasm 30`
(module
  (func $fib (export "fib") (param $n i32) (result i64)
    (if (result i64) (i32.lt_u (local.get $n) (i32.const 2))
      (then (i64.extend_i32_u (local.get $n)))
      (else
        (i64.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  ;; Divides by its argument: `--invoke divide 0` shows a trap with a backtrace.
  (func $divide (export "divide") (param $d i32) (result i32)
    (call $quotient (i32.const 100) (local.get $d)))
  (func $quotient (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1))))
