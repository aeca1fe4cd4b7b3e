;; A module whose start function never returns: start-up must end at the
;; caller's deadline (`ringfence call --timeout-ms`) like a call does.
(module
  (func $spin
    (loop $forever
      br $forever))
  (start $spin)
  (func (export "never_reached") (result i32)
    i32.const 1))
