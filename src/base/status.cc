#include "ringfence/status.h"

namespace ringfence {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid-argument";
    case StatusCode::kNotFound: return "not-found";
    case StatusCode::kSignatureMismatch: return "signature-mismatch";
    case StatusCode::kNotAModule: return "not-a-module";
    case StatusCode::kAbiMismatch: return "abi-mismatch";
    case StatusCode::kMissingImport: return "missing-import";
    case StatusCode::kLoadFailed: return "load-failed";
    case StatusCode::kBuildFailed: return "build-failed";
    case StatusCode::kIoError: return "io-error";
    case StatusCode::kResourceExhausted: return "resource-exhausted";
    case StatusCode::kInstantiateFailed: return "instantiate-failed";
    case StatusCode::kDeadlineExceeded: return "deadline-exceeded";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kFailedPrecondition: return "failed-precondition";
    case StatusCode::kRestarted: return "restarted";
    case StatusCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string text(StatusCodeName(code_));
  text += ": ";
  text += message_;
  return text;
}

}  // namespace ringfence
