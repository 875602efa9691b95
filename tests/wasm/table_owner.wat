;; Exports table 0, which tests/wasm/table_user.wat imports: both call through it after either
;; grows it (call_indirect_test.cpp).
(module
  (type $ret (func (result i32)))
  (table $table (export "table") 2 funcref)
  (func $seven (result i32) (i32.const 7))
  (elem (i32.const 0) $seven)
  ;; Grows the table by `delta` null elements and puts $seven at `at`: the old size.
  (func (export "grow_and_set") (param $delta i32) (param $at i32) (result i32)
    (local $old i32)
    (local.set $old (table.grow $table (ref.null func) (local.get $delta)))
    (table.set $table (local.get $at) (ref.func $seven))
    (local.get $old))
  (func (export "call") (param i32) (result i32)
    (call_indirect (type $ret) (local.get 0))))
