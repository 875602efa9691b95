;; For the CLI's budget flags: no imports, so `kiln run` can link it.
(module $cli_budget
  (memory 1)
  (func (export "spin") (loop $l (br $l)))
  (func $recurse (export "recurse") (param i32) (result i32)
    (i32.add (call $recurse (local.get 0)) (i32.const 1)))
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
