;; Instruction pairs the interpreter fuses into one instruction (runtime/interpreter_code.h):
;; a test or comparison then br_if or if; i32.add then a load or store of the sum (a lazy sum);
;; a load then a binary operator taking it; two adds or two copies in a row. Each export has
;; the pair in the shape the translator fuses.
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
    (i64.load8_u offset=4 (i32.add (local.get 0) (local.get 1))))
  ;; Stores at a lazy sum: stores the value, then loads it back from the plain address.
  (func (export "store_sum") (param i32 i32 i32) (result i32)
    (i32.store offset=4 (i32.add (local.get 0) (local.get 1)) (local.get 2))
    (i32.load offset=4 (i32.add (local.get 0) (local.get 1))))
  (func (export "store16_sum") (param i32 i32 i64)
    (i64.store16 offset=2 (i32.add (local.get 0) (local.get 1)) (local.get 2)))
  ;; The stored value writes an addend of the pending sum: the address uses the old value.
  (func (export "store_sum_addend_written") (param i32 i32) (result i32)
    (i32.store (i32.add (local.get 0) (local.get 1)) (local.tee 0 (i32.const 77)))
    (i32.load (local.get 1)))
  ;; A sum stored back into one of its addends, teed, kept across a block, dropped, and
  ;; used by a comparison.
  (func (export "sums_elsewhere") (param i32 i32) (result i32) (local i32)
    (local.set 0 (i32.add (local.get 0) (i32.const 1)))
    (drop (i32.add (local.get 0) (local.get 1)))
    (local.set 2 (i32.mul (local.tee 1 (i32.add (local.get 1) (local.get 0))) (i32.const 3)))
    (i32.add
      (block (result i32) (i32.add (local.get 2) (local.get 0)))
      (i32.lt_u (i32.add (local.get 0) (i32.const 5)) (local.get 1))))
  ;; A loaded second operand, and a loaded first operand for operators where order does not
  ;; matter (and for i32.sub, where it does and nothing is fused).
  (func (export "f64_mul_loaded") (param f64 i32) (result f64)
    (f64.mul (local.get 0) (f64.load offset=8 (local.get 1))))
  (func (export "f64_add_loaded_first") (param f64 i32) (result f64)
    (f64.add (f64.load offset=8 (local.get 1)) (local.get 0)))
  (func (export "f64_sub_loaded") (param f64 i32) (result f64)
    (f64.sub (local.get 0) (f64.load offset=8 (local.get 1))))
  (func (export "i32_sub_loaded") (param i32 i32) (result i32)
    (i32.sub (local.get 0) (i32.load (local.get 1))))
  (func (export "i32_sub_loaded_first") (param i32 i32) (result i32)
    (i32.sub (i32.load (local.get 1)) (local.get 0)))
  (func (export "i64_xor_loaded_first") (param i64 i32) (result i64)
    (i64.xor (i64.load (local.get 1)) (local.get 0)))
  ;; Two adds in a row, the second reading the first's result; the same with copies.
  (func (export "add_pair") (param i32) (result i32) (local i32 i32)
    (local.set 1 (i32.add (local.get 0) (i32.const 1)))
    (local.set 2 (i32.add (local.get 1) (i32.const 10)))
    (i32.add (i32.mul (local.get 1) (i32.const 1000)) (local.get 2)))
  ;; Rotates (a, b, c) n times: each pass is three copies in a row.
  (func (export "rotate") (param i32 i32 i32 i32) (result i32) (local i32)
    (block
      (br_if 0 (i32.eqz (local.get 3)))
      (loop
        (local.set 4 (local.get 0))
        (local.set 0 (local.get 1))
        (local.set 1 (local.get 2))
        (local.set 2 (local.get 4))
        (br_if 0 (local.tee 3 (i32.sub (local.get 3) (i32.const 1))))))
    (i32.add (i32.mul (local.get 0) (i32.const 100))
      (i32.add (i32.mul (local.get 1) (i32.const 10)) (local.get 2))))
  ;; An add before a loop and one at its start are not fused: the back edge lands between.
  (func (export "add_before_loop") (param i32) (result i32) (local i32 i32)
    (local.set 1 (i32.add (local.get 1) (i32.const 1)))
    (loop
      (local.set 2 (i32.add (local.get 2) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get 2) (local.get 0))))
    (i32.add (i32.mul (local.get 1) (i32.const 1000)) (local.get 2))))
