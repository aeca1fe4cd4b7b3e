;; Eight empty tables that `grow_all` grows by 4,194,304 elements each
;; (768 MiB of table elements, every one written). Tables count against the
;; memory limit: past it table.grow returns -1. Returns how many grows were
;; refused; `grow_or_trap` traps (unreachable) at the first refusal.
(module
  (table $t0 0 funcref)
  (table $t1 0 funcref)
  (table $t2 0 funcref)
  (table $t3 0 funcref)
  (table $t4 0 funcref)
  (table $t5 0 funcref)
  (table $t6 0 funcref)
  (table $t7 0 funcref)
  (func $refused (param i32) (result i32)
    local.get 0
    i32.const -1
    i32.eq)
  (func (export "grow_all") (param $delta i32) (result i32)
    (i32.add
      (i32.add
        (i32.add (call $refused (table.grow $t0 (ref.null func) (local.get $delta)))
                 (call $refused (table.grow $t1 (ref.null func) (local.get $delta))))
        (i32.add (call $refused (table.grow $t2 (ref.null func) (local.get $delta)))
                 (call $refused (table.grow $t3 (ref.null func) (local.get $delta)))))
      (i32.add
        (i32.add (call $refused (table.grow $t4 (ref.null func) (local.get $delta)))
                 (call $refused (table.grow $t5 (ref.null func) (local.get $delta))))
        (i32.add (call $refused (table.grow $t6 (ref.null func) (local.get $delta)))
                 (call $refused (table.grow $t7 (ref.null func) (local.get $delta)))))))
  (func (export "grow_or_trap") (param $delta i32) (result i32)
    (if (call $refused (table.grow $t0 (ref.null func) (local.get $delta)))
      (then unreachable))
    (table.size $t0)))
