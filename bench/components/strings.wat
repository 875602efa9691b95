;; The component bench/micro/component_bench.cpp measures: string and list<u8> parameters and
;; results around core functions that do next to nothing, so the canonical ABI's cost shows.
;; Its realloc always answers address 1024 (growing memory as needed): each call's one
;; allocation lands there.
(component
  (core module $m
    (memory (export "memory") 1)
    (func (export "realloc") (param $old i32) (param $old-size i32) (param $align i32)
                             (param $size i32) (result i32)
      (local $missing i32)
      (local.set $missing (i32.sub (i32.add (i32.const 1024) (local.get $size))
                                   (i32.mul (memory.size) (i32.const 65536))))
      (if (i32.gt_s (local.get $missing) (i32.const 0))
        (then (drop (memory.grow (i32.add (i32.shr_u (local.get $missing) (i32.const 16))
                                          (i32.const 1))))))
      (i32.const 1024))
    ;; echo(s) = s: the result area at 0 points at the argument.
    (func (export "echo") (param $p i32) (param $n i32) (result i32)
      (i32.store (i32.const 0) (local.get $p))
      (i32.store (i32.const 4) (local.get $n))
      (i32.const 0))
    (func (export "length") (param $p i32) (param $n i32) (result i32) (local.get $n)))
  (core instance $m (instantiate $m))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $m "echo") (memory (core memory $m "memory"))
      (realloc (core func $m "realloc"))))
  (func (export "length") (param "s" string) (result u32)
    (canon lift (core func $m "length") (memory (core memory $m "memory"))
      (realloc (core func $m "realloc"))))
  (func (export "length-utf16") (param "s" string) (result u32)
    (canon lift (core func $m "length") string-encoding=utf16 (memory (core memory $m "memory"))
      (realloc (core func $m "realloc"))))
  (func (export "bytes") (param "l" (list u8)) (result u32)
    (canon lift (core func $m "length") (memory (core memory $m "memory"))
      (realloc (core func $m "realloc"))))
  (func (export "echo-bytes") (param "l" (list u8)) (result (list u8))
    (canon lift (core func $m "echo") (memory (core memory $m "memory"))
      (realloc (core func $m "realloc")))))
