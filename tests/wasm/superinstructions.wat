;; Instruction pairs the interpreter fuses into one instruction (runtime/interpreter_code.h):
;; a test or comparison then br_if or if, and i32.add then a load of the sum. Each export
;; has the pair in the shape the translator fuses.
(module $superinstructions
  (memory 1)
  (data (i32.const 8) "\2a\00\00\00")
  ;; Branch taken: 1, not taken: 0.
  (func (export "br_if_i32_lt_s") (param i32 i32) (result i32)
    (block (br_if 0 (i32.lt_s (local.get 0) (local.get 1))) (return (i32.const 0)))
    (i32.const 1))
  (func (export "if_i32_lt_s") (param i32 i32) (result i32)
    (if (result i32) (i32.lt_s (local.get 0) (local.get 1)) (then (i32.const 1)) (else (i32.const 0))))
  (func (export "br_if_i32_ge_u") (param i32 i32) (result i32)
    (block (br_if 0 (i32.ge_u (local.get 0) (local.get 1))) (return (i32.const 0)))
    (i32.const 1))
  (func (export "if_i32_ge_u") (param i32 i32) (result i32)
    (if (result i32) (i32.ge_u (local.get 0) (local.get 1)) (then (i32.const 1)) (else (i32.const 0))))
  (func (export "br_if_i64_lt_u") (param i64 i64) (result i32)
    (block (br_if 0 (i64.lt_u (local.get 0) (local.get 1))) (return (i32.const 0)))
    (i32.const 1))
  (func (export "if_i64_gt_s") (param i64 i64) (result i32)
    (if (result i32) (i64.gt_s (local.get 0) (local.get 1)) (then (i32.const 1)) (else (i32.const 0))))
  (func (export "br_if_i32_eqz") (param i32) (result i32)
    (block (br_if 0 (i32.eqz (local.get 0))) (return (i32.const 0)))
    (i32.const 1))
  (func (export "if_i64_eqz") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 1)) (else (i32.const 0))))
  ;; With a NaN operand every ordered comparison is false and ne is true: `if` must not
  ;; jump on the inverted comparison.
  (func (export "br_if_f64_lt") (param f64 f64) (result i32)
    (block (br_if 0 (f64.lt (local.get 0) (local.get 1))) (return (i32.const 0)))
    (i32.const 1))
  (func (export "if_f64_ge") (param f64 f64) (result i32)
    (if (result i32) (f64.ge (local.get 0) (local.get 1)) (then (i32.const 1)) (else (i32.const 0))))
  (func (export "if_f32_ne") (param f32 f32) (result i32)
    (if (result i32) (f32.ne (local.get 0) (local.get 1)) (then (i32.const 1)) (else (i32.const 0))))
  ;; A loop whose back edge is a fused compare-and-branch: sums 0..n-1.
  (func (export "sum_below") (param i32) (result i32) (local i32 i32)
    (block
      (br_if 0 (i32.eqz (local.get 0)))
      (loop
        (local.set 2 (i32.add (local.get 2) (local.get 1)))
        (br_if 0 (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (local.get 0)))))
    (local.get 2))
  ;; An element address: base + (index << shift), the shift taken mod 32, either operand order.
  (func (export "scaled_add") (param i32 i32 i32) (result i32)
    (i32.add (local.get 0) (i32.shl (local.get 1) (local.get 2))))
  (func (export "scaled_add_swapped") (param i32 i32 i32) (result i32)
    (i32.add (i32.shl (local.get 1) (local.get 2)) (local.get 0)))
  ;; The sum wraps to 32 bits before the offset is added.
  (func (export "load_sum") (param i32 i32) (result i32)
    (i32.load offset=4 (i32.add (local.get 0) (local.get 1))))
  (func (export "load8_sum") (param i32 i32) (result i64)
    (i64.load8_u offset=4 (i32.add (local.get 0) (local.get 1)))))
