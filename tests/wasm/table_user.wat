;; Imports tests/wasm/table_owner.wat's table as its table 0 (call_indirect_test.cpp).
(module
  (type $ret (func (result i32)))
  (import "owner" "table" (table $table 2 funcref))
  (func $eight (result i32) (i32.const 8))
  (func $nine (result i32) (i32.const 9))
  (elem declare func $eight $nine)
  ;; Puts $eight (`which` nonzero) or $nine at `at`.
  (func (export "set") (param $at i32) (param $which i32)
    (table.set $table (local.get $at)
      (select (result funcref) (ref.func $eight) (ref.func $nine) (local.get $which))))
  (func (export "grow_and_set") (param $delta i32) (param $at i32) (result i32)
    (local $old i32)
    (local.set $old (table.grow $table (ref.null func) (local.get $delta)))
    (table.set $table (local.get $at) (ref.func $eight))
    (local.get $old))
  (func (export "call") (param i32) (result i32)
    (call_indirect (type $ret) (local.get 0))))
