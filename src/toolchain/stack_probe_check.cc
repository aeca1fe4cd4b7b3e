#include "src/toolchain/stack_probe_check.h"

#include <gelf.h>
#include <libelf.h>
#include <llvm-c/Disassembler.h>
#include <llvm-c/Target.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "src/toolchain/elf_reader.h"

namespace ringfence::internal {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The integer at the start of `text` ("$-4096", "0x1000", "-16"), or none.
std::optional<int64_t> ParseInteger(std::string_view text) {
  if (!text.empty() && text.front() == '$') text.remove_prefix(1);
  std::string digits(text);
  if (digits.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(digits.c_str(), &end, 0);
  if (end == digits.c_str() || errno != 0) return std::nullopt;
  return value;
}

// How far one AT&T-syntax instruction ("subq\t$8192, %rsp") moves the stack
// pointer down, in bytes: 0 if it does not lower it by a known constant, and
// nullopt if it lowers it by an amount known only at run time.
std::optional<int64_t> StackDrop(std::string_view instruction) {
  instruction = Trim(instruction);
  size_t split = instruction.find_first_of(" \t");
  if (split == std::string_view::npos) return 0;
  std::string_view mnemonic = instruction.substr(0, split);
  std::string_view operands = Trim(instruction.substr(split));
  if (mnemonic == "enter" || mnemonic == "enterq") {  // enter $size, $level
    std::optional<int64_t> size = ParseInteger(operands.substr(0, operands.find(',')));
    return size ? *size + 8 : INT64_MAX;
  }
  constexpr std::string_view kToRsp = ", %rsp";
  if (operands.size() < kToRsp.size() || !operands.ends_with(kToRsp)) return 0;
  std::string_view source = Trim(operands.substr(0, operands.size() - kToRsp.size()));
  if (mnemonic == "subq" || mnemonic == "sub") {
    if (!source.starts_with('$')) return std::nullopt;  // sub %reg, %rsp
    return ParseInteger(source).value_or(INT64_MAX);
  }
  if (mnemonic == "addq" || mnemonic == "add") {
    if (!source.starts_with('$')) return std::nullopt;
    std::optional<int64_t> value = ParseInteger(source);
    return value ? -*value : INT64_MAX;
  }
  if (mnemonic == "leaq" || mnemonic == "lea") {
    // disp(%base[, %index, scale]): without an index, the new rsp is base + disp.
    if (source.find(',') != std::string_view::npos) return std::nullopt;
    size_t paren = source.find('(');
    if (paren == 0) return 0;  // no displacement
    std::optional<int64_t> displacement = ParseInteger(source.substr(0, paren));
    return displacement ? -*displacement : INT64_MAX;
  }
  if (mnemonic == "andq" || mnemonic == "and") {
    // Realignment: and $-N, %rsp lowers it by up to N - 1 bytes.
    std::optional<int64_t> mask = ParseInteger(source);
    if (!mask) return std::nullopt;
    return *mask < 0 ? -*mask - 1 : INT64_MAX;
  }
  // mov and pop restore a stack pointer saved higher up: an epilogue, or the
  // gate's unwind to its own frame (module_gate.h).
  return 0;
}

class Disassembler {
 public:
  Disassembler() {
    static std::once_flag once;
    std::call_once(once, [] {
      LLVMInitializeX86TargetInfo();
      LLVMInitializeX86TargetMC();
      LLVMInitializeX86Disassembler();
    });
    context_ = LLVMCreateDisasm("x86_64-unknown-linux-gnu", nullptr, 0, nullptr, nullptr);
  }
  ~Disassembler() {
    if (context_ != nullptr) LLVMDisasmDispose(context_);
  }
  Disassembler(const Disassembler&) = delete;
  Disassembler& operator=(const Disassembler&) = delete;

  bool ok() const { return context_ != nullptr; }

  // Decodes one instruction at `code` (address `pc`) into `text`; returns
  // its length, 0 if the bytes are not an instruction.
  size_t Decode(const uint8_t* code, size_t size, uint64_t pc, char* text, size_t room) {
    return LLVMDisasmInstruction(context_, const_cast<uint8_t*>(code), size, pc, text, room);
  }

 private:
  LLVMDisasmContextRef context_ = nullptr;
};

}  // namespace

Status CheckStackProbes(const std::string& path) {
  StatusOr<std::unique_ptr<ElfReader>> reader = ElfReader::Open(path);
  if (!reader.ok()) return reader.status();
  Elf* elf = (*reader)->elf();
  GElf_Ehdr elf_header;
  if (gelf_getehdr(elf, &elf_header) == nullptr || elf_header.e_machine != EM_X86_64) {
    return Status(StatusCode::kBuildFailed,
                  fmt::format("{}: not x86-64 code; the stack-probe check reads only x86-64",
                              path));
  }
  Disassembler disassembler;
  if (!disassembler.ok()) {
    return Status(StatusCode::kBuildFailed, "LLVM has no x86-64 disassembler");
  }
  char text[256];
  for (Elf_Scn* section = elf_nextscn(elf, nullptr); section != nullptr;
       section = elf_nextscn(elf, section)) {
    GElf_Shdr header;
    if (gelf_getshdr(section, &header) == nullptr) return (*reader)->Error("bad section header");
    if (header.sh_type != SHT_PROGBITS || (header.sh_flags & SHF_EXECINSTR) == 0) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (data == nullptr || data->d_buf == nullptr) continue;
    const auto* code = static_cast<const uint8_t*>(data->d_buf);
    size_t size = data->d_size;
    for (size_t at = 0; at < size;) {
      uint64_t pc = header.sh_addr + at;
      size_t length = disassembler.Decode(code + at, size - at, pc, text, sizeof(text));
      if (length == 0) {  // not an instruction (padding): resynchronise
        ++at;
        continue;
      }
      at += length;
      std::optional<int64_t> drop = StackDrop(text);
      if (!drop) {
        return Status(StatusCode::kBuildFailed,
                      fmt::format("{}: the instruction at {:#x} ({}) lowers the stack pointer by "
                                  "an amount known only at run time, without probing the pages "
                                  "it skips",
                                  path, pc, Trim(text)));
      }
      if (*drop > kMaxStackStep) {
        return Status(StatusCode::kBuildFailed,
                      fmt::format("{}: the instruction at {:#x} ({}) lowers the stack pointer by "
                                  "{} bytes in one step, past a {}-byte guard page, without "
                                  "probing it (was it compiled with -fstack-clash-protection?)",
                                  path, pc, Trim(text), *drop, kMaxStackStep));
      }
    }
  }
  return Status::Ok();
}

}  // namespace ringfence::internal
