;; A component that defines a resource with a destructor and hands owning handles to its caller:
;; `make: func(rep: u32) -> own<thing>`, and `dropped: func() -> u32`, the sum of the
;; representations its destructor has seen. tests/component_instance_test.cpp drops handles from
;; the host.
(component
  (core module $state
    (global $dropped (mut i32) (i32.const 0))
    (func (export "dtor") (param $rep i32)
      (global.set $dropped (i32.add (global.get $dropped) (local.get $rep))))
    (func (export "dropped") (result i32) (global.get $dropped)))
  (core instance $state (instantiate $state))
  (type $thing (resource (rep i32) (dtor (core func $state "dtor"))))
  (core func $new (canon resource.new $thing))
  (core module $main
    (import "" "new" (func $new (param i32) (result i32)))
    (func (export "make") (param $rep i32) (result i32) (call $new (local.get $rep))))
  (core instance $main (instantiate $main (with "" (instance (export "new" (func $new))))))
  (export $thing' "thing" (type $thing))
  (func (export "make") (param "rep" u32) (result (own $thing'))
    (canon lift (core func $main "make")))
  (func (export "dropped") (result u32) (canon lift (core func $state "dropped"))))
