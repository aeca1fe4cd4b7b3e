;; Eight tables of 4,194,304 elements each, declared: instantiating it asks
;; the host for 768 MiB of table elements. Tables count against the memory
;; limit, so it cannot start under a small one.
(module
  (table 4194304 funcref)
  (table 4194304 funcref)
  (table 4194304 funcref)
  (table 4194304 funcref)
  (table 4194304 funcref)
  (table 4194304 funcref)
  (table 4194304 funcref)
  (table 4194304 funcref)
  (func (export "alive") (result i32)
    i32.const 1))
