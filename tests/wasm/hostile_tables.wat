;; A table bomb: 20 tables of 10 million elements (1.6 GB of references) in 200 bytes, and
;; growth of tables by a guest-chosen delta (tests/hardening_test.cpp).
(module $hostile_tables
  (table $t0 10000000 funcref) (table $t1 10000000 funcref) (table $t2 10000000 funcref)
  (table $t3 10000000 funcref) (table $t4 10000000 funcref) (table $t5 10000000 funcref)
  (table $t6 10000000 funcref) (table $t7 10000000 funcref) (table $t8 10000000 funcref)
  (table $t9 10000000 funcref) (table $t10 10000000 funcref) (table $t11 10000000 funcref)
  (table $t12 10000000 funcref) (table $t13 10000000 funcref) (table $t14 10000000 funcref)
  (table $t15 10000000 funcref) (table $t16 10000000 funcref) (table $t17 10000000 funcref)
  (table $t18 10000000 funcref) (table $t19 10000000 funcref))
