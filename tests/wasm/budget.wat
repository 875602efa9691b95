;; Programs with hand-counted fuel costs (docs/BUDGETS.md) and unbounded work.
(module $budget
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory (export "memory") 1)
  (table (export "table") 1 funcref)
  ;; count(n): 5 + 9n fuel (worked out in docs/BUDGETS.md).
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
  ;; 3 fuel: i32.const, i32.const, i32.add; the final end is free.
  (func (export "add") (result i32) (i32.add (i32.const 1) (i32.const 2)))
  ;; if/else: i32.const, if, (then: i32.const) or (else: i32.const) -> 3 either way.
  (func (export "choose") (param i32) (result i32)
    (if (result i32) (local.get 0) (then (i32.const 10)) (else (i32.const 20))))
  ;; local.get, call (charged before the call), then nothing after: 2 plus the host's cost.
  (func (export "call_host") (param i32) (result i32) (call $host (local.get 0)))
  (func (export "spin") (loop $l (br $l)))
  (func $deep (export "deep") (param i32) (result i32)
    (i32.add (call $deep (local.get 0)) (i32.const 1)))
  (func (export "grow_memory") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32)
    ref.null func
    local.get 0
    table.grow 0)
  (func (export "divide") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0))))
