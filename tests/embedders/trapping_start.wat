;; Instantiation fails: the start function traps (tests/embedders/instances.c).
(module $trapping_start
  (func $start unreachable)
  (start $start))
