// Stands in for wabt's wasm-rt.h on the include path of the public-header
// check (tests/CMakeLists.txt): a public header that reaches it fails to
// compile. (wabt's own lies in a system directory, which cannot be taken
// off the path; this one is found first.)
#error "a public ringfence header includes wasm-rt.h: users must not need wabt's headers"
