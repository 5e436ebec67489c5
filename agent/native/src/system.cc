// Facts about this kernel and libbpf that `doctor` and the loaders need: CPU counts, libbpf's
// version, and feature probes (program types, map types, helpers) that load nothing of ours.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "common.h"

namespace at {

namespace {

const std::map<std::string, bpf_prog_type> kProgTypes = {
    {"kprobe", BPF_PROG_TYPE_KPROBE},         {"tracepoint", BPF_PROG_TYPE_TRACEPOINT},
    {"perf_event", BPF_PROG_TYPE_PERF_EVENT}, {"raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT},
    {"tracing", BPF_PROG_TYPE_TRACING},       {"cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB},
};
const std::map<std::string, bpf_map_type> kMapTypes = {
    {"hash", BPF_MAP_TYPE_HASH},           {"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY},
    {"stack_trace", BPF_MAP_TYPE_STACK_TRACE}, {"ringbuf", BPF_MAP_TYPE_RINGBUF},
    {"task_storage", BPF_MAP_TYPE_TASK_STORAGE}, {"lru_hash", BPF_MAP_TYPE_LRU_HASH},
};
const std::map<std::string, bpf_func_id> kHelpers = {
    {"get_stackid", BPF_FUNC_get_stackid},         {"get_task_stack", BPF_FUNC_get_task_stack},
    {"ringbuf_output", BPF_FUNC_ringbuf_output},   {"get_current_cgroup_id", BPF_FUNC_get_current_cgroup_id},
    {"current_task_under_cgroup", BPF_FUNC_current_task_under_cgroup}, {"ktime_get_ns", BPF_FUNC_ktime_get_ns},
    {"seq_write", BPF_FUNC_seq_write},             {"d_path", BPF_FUNC_d_path},
};

template <typename M>
typename M::mapped_type Lookup(Napi::Env env, const M &m, const Napi::Value &v, const char *what) {
  std::string k = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  auto it = m.find(k);
  if (it == m.end()) throw Napi::TypeError::New(env, std::string("unknown ") + what + " '" + k + "'");
  return it->second;
}

// 1 = supported, 0 = not supported, negative = could not tell (errno)
Napi::Value ProbeProgType(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ClearLibbpfLog();
  int r = libbpf_probe_bpf_prog_type(Lookup(env, kProgTypes, info[0], "program type"), nullptr);
  TakeLibbpfLog();
  return Napi::Number::New(env, r);
}

Napi::Value ProbeMapType(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ClearLibbpfLog();
  int r = libbpf_probe_bpf_map_type(Lookup(env, kMapTypes, info[0], "map type"), nullptr);
  TakeLibbpfLog();
  return Napi::Number::New(env, r);
}

Napi::Value ProbeHelper(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ClearLibbpfLog();
  int r = libbpf_probe_bpf_helper(Lookup(env, kProgTypes, info[0], "program type"), Lookup(env, kHelpers, info[1], "helper"), nullptr);
  TakeLibbpfLog();
  return Napi::Number::New(env, r);
}

Napi::Value PossibleCpus(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), libbpf_num_possible_cpus());
}

Napi::Value LibbpfVersion(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(), libbpf_version_string());
}

}  // namespace

void InitSystem(Napi::Env env, Napi::Object exports) {
  exports.Set("probeProgType", Napi::Function::New(env, ProbeProgType));
  exports.Set("probeMapType", Napi::Function::New(env, ProbeMapType));
  exports.Set("probeHelper", Napi::Function::New(env, ProbeHelper));
  exports.Set("numPossibleCpus", Napi::Function::New(env, PossibleCpus));
  exports.Set("libbpfVersion", Napi::Function::New(env, LibbpfVersion));
}

}  // namespace at
