;; Writes of zero that the translator leaves out (a declared local not yet written, before the
;; first loop), next to the ones it must keep.
(module $zero_writes
  ;; Left out: local 1 still holds its initial zero.
  (func (export "fresh") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 0))
    (i32.add (local.get 0) (local.get 1)))
  ;; Kept: local 1 was written before (conditionally, in a block the call may skip).
  (func (export "after_write") (param i32) (result i32) (local i32)
    (block (br_if 0 (i32.eqz (local.get 0))) (local.set 1 (i32.const 7)))
    (local.set 1 (i32.const 0))
    (local.get 1))
  ;; Kept: a parameter does not start at zero.
  (func (export "parameter") (param i32) (result i32)
    (local.set 0 (i32.const 0))
    (local.get 0))
  ;; Kept: inside a loop, the write runs again after the local changed. Returns the number of
  ;; iterations in which local 1 was 0 on entry to the loop body (always 1 per iteration).
  (func (export "in_loop") (param i32) (result i32) (local i32 i32)
    (loop
      (local.set 1 (i32.const 0))
      (local.set 2 (i32.add (local.get 2) (i32.eqz (local.get 1))))
      (local.set 1 (i32.const 5))
      (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 2)))
