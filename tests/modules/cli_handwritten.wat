;; A module written by hand in the wasm text format: assembled with wat2wasm
;; and built from the .wasm, so it proves `ringfence build` takes any
;; toolchain's wasm32. No start function, no _initialize, no imports.
(module
  (memory (export "memory") 1 4)
  (data (i32.const 16) "\2a\00\00\00")
  (global $counter (mut i32) (i32.const 0))

  (func (export "add_i32") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "mul_i64") (param i64 i64) (result i64)
    local.get 0 local.get 1 i64.mul)
  (func (export "half_f32") (param f32) (result f32)
    local.get 0 f32.const 0.5 f32.mul)
  (func (export "neg_f64") (param f64) (result f64)
    local.get 0 f64.neg)
  ;; Reinterpretations show the exact bits that crossed the gate.
  (func (export "f32_bits") (param f32) (result i32)
    local.get 0 i32.reinterpret_f32)
  (func (export "f64_from_bits") (param i64) (result f64)
    local.get 0 f64.reinterpret_i64)

  ;; Memory: the data segment put 42 at offset 16.
  (func (export "load") (param i32) (result i32)
    local.get 0 i32.load)
  (func (export "store") (param i32 i32)
    local.get 0 local.get 1 i32.store)
  (func (export "pages") (result i32)
    memory.size)
  (func (export "grow") (param i32) (result i32)
    local.get 0 memory.grow)

  ;; Instance state: counts calls, reset by a restart.
  (func (export "bump") (result i32)
    global.get $counter i32.const 1 i32.add global.set $counter
    global.get $counter)

  (func $explode (export "explode") (result i32)
    unreachable)
)
