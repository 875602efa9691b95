;; A nested component that imports a core module and instantiates it with two arguments, given a
;; module whose imports come in the other order than the type the nested component declares
;; (module subtyping allows it). Each import must still reach the argument it names: g returns
;; a.f * 10 + b.f = 12.
(component
  (core module $m
    (import "b" "f" (func $b (result i32)))
    (import "a" "f" (func $a (result i32)))
    (func (export "g") (result i32)
      (i32.add (i32.mul (call $a) (i32.const 10)) (call $b))))
  (component $c
    (import "m" (core module $m
      (import "a" "f" (func (result i32)))
      (import "b" "f" (func (result i32)))
      (export "g" (func (result i32)))))
    (core module $one (func (export "f") (result i32) (i32.const 1)))
    (core module $two (func (export "f") (result i32) (i32.const 2)))
    (core instance $a (instantiate $one))
    (core instance $b (instantiate $two))
    (core instance $i (instantiate $m (with "a" (instance $a)) (with "b" (instance $b))))
    (func (export "g") (result u32) (canon lift (core func $i "g"))))
  (instance $inner (instantiate $c (with "m" (core module $m))))
  (export "g" (func $inner "g")))
