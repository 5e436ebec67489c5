// libbpf's messages are collected per thread so an error can carry the verifier log or the reason
// libbpf gives, instead of only an errno.
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "common.h"

namespace at {

static thread_local std::string g_log;
static const size_t kMaxLog = 24 * 1024;  // the tail of a verifier log holds the reason

static int PrintFn(enum libbpf_print_level level, const char *fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  // Verifier logs arrive as one very long message: size it first rather than cut it at a fixed buffer.
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n > 0) {
    std::string buf(static_cast<size_t>(n) + 1, '\0');
    vsnprintf(&buf[0], buf.size(), fmt, args);
    buf.resize(static_cast<size_t>(n));
    g_log.append(buf);
    if (g_log.size() > kMaxLog) g_log.erase(0, g_log.size() - kMaxLog);
  }
  return 0;
}

void InstallLibbpfLogger() { libbpf_set_print(PrintFn); }
void ClearLibbpfLog() { g_log.clear(); }
std::string TakeLibbpfLog() {
  std::string s;
  s.swap(g_log);
  return s;
}

// The last few non-empty lines of libbpf's log usually say why; the whole log rides along separately.
static std::string Tail(const std::string &log, size_t maxLines) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < log.size()) {
    size_t nl = log.find('\n', start);
    if (nl == std::string::npos) nl = log.size();
    if (nl > start) lines.push_back(log.substr(start, nl - start));
    start = nl + 1;
  }
  std::string out;
  for (size_t i = lines.size() > maxLines ? lines.size() - maxLines : 0; i < lines.size(); i++) {
    if (!out.empty()) out += " | ";
    out += lines[i];
  }
  return out;
}

Napi::Error MakeError(Napi::Env env, const std::string &what, int err) {
  if (err < 0) err = -err;
  std::string log = TakeLibbpfLog();
  std::string msg = what;
  if (err == 524) {
    msg += ": operation not supported by the kernel here (ENOTSUPP)";
  } else if (err) {
    msg += ": ";
    msg += strerror(err);
  }
  if (!log.empty()) msg += " [libbpf: " + Tail(log, 4) + "]";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  const char *name = err ? strerrorname_np(err) : nullptr;
  // kernel-internal errnos that reach user space from BPF calls (include/linux/errno.h)
  if (!name && err == 524) name = "ENOTSUPP";
  if (!name && err == 523) name = "EBADTYPE";
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  if (!log.empty()) e.Set("libbpfLog", Napi::String::New(env, log));
  return e;
}

void Throw(Napi::Env env, const std::string &what, int err) { throw MakeError(env, what, err); }

}  // namespace at
