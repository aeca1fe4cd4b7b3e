#!/usr/bin/env python3
"""Remakes the fuzz targets' seed corpora under tests/fuzz/corpus/.

Usage: tests/fuzz/make_seeds.py BUILD_DIR

Real inputs come from a build of this tree: module files of the test
modules (wasm and process backends), their descriptors, and the wasm
`ringfence build` makes from test module sources and from
tests/modules/*.wat. The channel and value-text seeds are made here, laid
out as their fuzz targets read their input.
"""

import hashlib
import json
import pathlib
import re
import shutil
import struct
import subprocess
import sys
import tempfile

FUZZ_DIR = pathlib.Path(__file__).resolve().parent
SOURCE_DIR = FUZZ_DIR.parent.parent
CORPUS = FUZZ_DIR / "corpus"

# Small module files covering both backends, imports, call classes and a
# bad call-class declaration (refused after the descriptor parses).
MODULE_FILES = [
    "test-modules/lib_bad_call_class.rfm",
    "test-modules/lib_supervised_native.rfm",
    "modules/kernel.rfm",
]
# Test module sources whose wasm seeds the wasm target.
WASM_SOURCES = ["tests/modules/lib_bad_call_class.c", "tests/modules/cli_values.c",
                "examples/calc/calc.c"]


def fresh(name):
    directory = CORPUS / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def descriptor_of(module_file):
    data = module_file.read_bytes()
    assert data[:8] == b"RFMODULE", module_file
    length = struct.unpack_from("<Q", data, 16)[0]
    return data[64:64 + length]


# The loader reads a module file's code only as bytes to map (and, for a
# process module, as the range its functions' offsets must fall in), so a
# seed keeps the real descriptor and just the code its checks need: the
# ELF header, up to the last native function (src/module/module_file_format.h).
def module_seeds(build):
    out = fresh("module_file")
    for relative in MODULE_FILES:
        path = build / relative
        data = path.read_bytes()
        descriptor = json.loads(descriptor_of(path))
        offsets = [f["offset"] for f in descriptor.get("native_functions", [])]
        code = data[64 + len(descriptor_of(path)):][:max(offsets + [0]) + 64]
        # The seed's code is cut short: its content hash follows, so the
        # loader's checks all pass on the seed.
        descriptor["content_hash"] = "sha256:" + hashlib.sha256(code).hexdigest()
        body = json.dumps(descriptor, separators=(",", ":")).encode() + code
        header = b"RFMODULE" + data[8:12] + bytes(4) + \
            struct.pack("<QQ", len(body) - len(code), len(code))
        # Not *.rfm: module files are build output, ignored by git.
        (out / (path.stem + ".module")).write_bytes(
            header + hashlib.sha256(header + body).digest() + body)


def descriptor_seeds(build):
    out = fresh("descriptor")
    for path in sorted(build.glob("test-modules/*.rfm")) + sorted(build.glob("modules/*.rfm")):
        (out / (path.stem + ".json")).write_bytes(descriptor_of(path))


def wasm_seeds(build):
    out = fresh("wasm")
    cli = build / "bin" / "ringfence"
    for wat in sorted((SOURCE_DIR / "tests" / "modules").glob("*.wat")):
        subprocess.run(["wat2wasm", str(wat), "-o", str(out / (wat.stem + ".wasm"))], check=True)
    with tempfile.TemporaryDirectory() as scratch:
        for source in WASM_SOURCES:
            source = SOURCE_DIR / source
            result = subprocess.run(
                [str(cli), "build", str(source), "-o", str(pathlib.Path(scratch) / "m.rfm"),
                 "--keep-temps"], check=True, capture_output=True, text=True)
            kept = re.search(r"kept intermediate files in (\S+)", result.stdout + result.stderr)
            work = pathlib.Path(kept.group(1))
            shutil.copyfile(work / "module.wasm", out / (source.stem + ".wasm"))
            shutil.rmtree(work)


# tests/fuzz/channel_fuzzer.cc: a Message (kind, seq, a, b, slots[6]) and a
# CrashRecord copied from the front; from the end (FuzzedDataProvider reads
# integers from the end, last byte most significant) the code's file size
# (6 bytes), the call's seq and the last service seq; addresses between.
def message(kind, seq=0, a=0, b=0, slots=()):
    slots = list(slots) + [0] * (6 - len(slots))
    return struct.pack("<IIII6Q", kind, seq, a, b, *slots)


def crash_record(written, signal, code=0, syscall=0, address=0, pc=0, backtrace=()):
    frames = list(backtrace) + [0] * (32 - len(backtrace))
    return struct.pack("<IiiiQQII32Q", written, signal, code, syscall, address, pc,
                       len(backtrace), 0, *frames)


def channel_input(msg, record, file_size, call_seq, service_seq, addresses=()):
    tail = struct.pack("<I", service_seq) + struct.pack("<I", call_seq) + \
        file_size.to_bytes(6, "little")
    return msg + record + b"".join(struct.pack("<Q", a) for a in addresses) + tail


def channel_seeds():
    out = fresh("channel")
    base, begin, end, size = 0x7f0000000000, 0x7f0000001000, 0x7f0000003000, 0x4000
    ready = message(16, slots=[begin, end, base])
    in_code = [begin + 0x10, begin + 0x200, end - 1]
    seeds = {
        "ready_segv": channel_input(ready, crash_record(1, 11, 1, 0, 0x10, begin + 0x40, in_code),
                                    size, 1, 0, [begin, end, base]),
        "ready_sigsys": channel_input(ready, crash_record(1, 31, 1, 59, 0, begin + 0x80),
                                      size, 1, 0),
        "ready_fpe": channel_input(ready, crash_record(1, 8, 1, 0, 0, begin), size, 2, 3),
        "return": channel_input(message(17, seq=5, slots=[42]), crash_record(0, 0), size, 5, 0),
        "service": channel_input(message(18, seq=4, a=1, b=5, slots=[2]), crash_record(0, 0),
                                 size, 9, 3),
        "bad_ready": channel_input(message(16, slots=[end, begin, base]),
                                   crash_record(1, 6, 0, 0, 0, begin, in_code), size, 1, 0),
    }
    for name, data in seeds.items():
        (out / name).write_bytes(data)


# tests/fuzz/value_text_fuzzer.cc: text, then (read from the end) the
# parameter types (first one last), their count, 8 bytes of bits to print
# and the type byte (0 i32, 1 i64, 2 f32, 3 f64).
def value_input(text, type_code, bits=0, params=()):
    return text.encode() + bytes(reversed(params)) + bytes([len(params)]) + \
        bits.to_bytes(8, "little") + bytes([type_code])


def value_text_seeds():
    out = fresh("value_text")
    seeds = {
        "i32_min": value_input("-2147483648", 0, 0x80000000),
        "i32_hex": value_input("0xffffffff", 0, 0xffffffff),
        "i64_max": value_input("9223372036854775807", 1, 0x7fffffffffffffff),
        "i64_unsigned": value_input("18446744073709551615", 1, 1 << 63),
        "f32_nan_payload": value_input("nan:0x200000", 2, 0x7fa00000),
        "f32_denormal": value_input("1e-45", 2, 1),
        "f64_neg_inf": value_input("-inf", 3, 0xfff0000000000000),
        "f64_exponent": value_input("-1.5e+300", 3, 0x7ff8000000000001),
        "line_add": value_input("add 2 3", 0, 5, [0, 0]),
        "line_mixed": value_input("mix\t-7  0x10 2.5e-3 -nan", 1, 0, [0, 1, 2, 3]),
        "line_blank": value_input("   \t ", 0),
    }
    for name, data in seeds.items():
        (out / name).write_bytes(data)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build = pathlib.Path(sys.argv[1]).resolve()
    module_seeds(build)
    descriptor_seeds(build)
    wasm_seeds(build)
    channel_seeds()
    value_text_seeds()


if __name__ == "__main__":
    main()
