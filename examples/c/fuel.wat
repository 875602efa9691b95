;; fuel.c's module: `count` loops n times (9 units of fuel per iteration plus 5, see
;; docs/BUDGETS.md: count(n) = 9n + 5), and `spin` never stops.
(module
  (func (export "count") (param i32) (result i32) (local i32)
    (block
      (loop
        (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
        (local.set 1 (i32.add (local.get 1) (i32.const 1)))
        (br 0)))
    (local.get 1))
  (func (export "spin") (loop (br 0))))
