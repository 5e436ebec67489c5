// The running kernel's BTF, queried through libbpf: what a loader needs to choose between program
// variants before load (does a tracepoint exist, which arguments does it pass, does a struct have a
// member, does a kfunc exist). CO-RE answers these inside a program only for fields and types it can
// name; tracepoint signatures and kfuncs have to be looked up here.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <map>
#include <string>

#include "common.h"

namespace at {

namespace {

// A readable C spelling of a type (enough to compare signatures and print them): "struct request *",
// "unsigned int", "blk_status_t".
std::string TypeName(const btf *b, __u32 id, int depth = 0) {
  if (id == 0) return "void";
  if (depth > 16) return "?";
  const btf_type *t = btf__type_by_id(b, id);
  if (!t) return "?";
  const char *n = btf__name_by_offset(b, t->name_off);
  std::string name = n ? n : "";
  switch (btf_kind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPEDEF:
      return name;
    case BTF_KIND_STRUCT:
      return "struct " + (name.empty() ? std::string("<anon>") : name);
    case BTF_KIND_UNION:
      return "union " + (name.empty() ? std::string("<anon>") : name);
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
      return "enum " + (name.empty() ? std::string("<anon>") : name);
    case BTF_KIND_FWD:
      return (btf_kflag(t) ? "union " : "struct ") + name;
    case BTF_KIND_PTR:
      return TypeName(b, t->type, depth + 1) + " *";
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
      return TypeName(b, t->type, depth + 1);
    case BTF_KIND_ARRAY:
      return TypeName(b, btf_array(t)->type, depth + 1) + "[" + std::to_string(btf_array(t)->nelems) + "]";
    case BTF_KIND_FUNC_PROTO:
      return "func_proto";
    default:
      return name.empty() ? "?" : name;
  }
}

const std::map<std::string, int> kKinds = {
    {"struct", BTF_KIND_STRUCT}, {"union", BTF_KIND_UNION}, {"enum", BTF_KIND_ENUM},
    {"typedef", BTF_KIND_TYPEDEF}, {"func", BTF_KIND_FUNC}, {"var", BTF_KIND_VAR},
};

// Find a member by name in a struct/union, looking into anonymous members as CO-RE does.
bool FindMember(const btf *b, const btf_type *t, const std::string &member, __u32 *type_id, int depth = 0) {
  if (depth > 8 || !(btf_is_struct(t) || btf_is_union(t))) return false;
  const btf_member *m = btf_members(t);
  for (int i = 0; i < btf_vlen(t); i++, m++) {
    const char *n = btf__name_by_offset(b, m->name_off);
    if (n && *n) {
      if (member == n) {
        *type_id = m->type;
        return true;
      }
      continue;
    }
    const btf_type *inner = btf__type_by_id(b, m->type);
    while (inner && (btf_is_mod(inner) || btf_is_typedef(inner))) inner = btf__type_by_id(b, inner->type);
    if (inner && FindMember(b, inner, member, type_id, depth + 1)) return true;
  }
  return false;
}

}  // namespace

class KernelBtf : public Napi::ObjectWrap<KernelBtf> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "KernelBtf",
                       {
                           InstanceMethod("hasType", &KernelBtf::HasType),
                           InstanceMethod("tracepointArgs", &KernelBtf::TracepointArgs),
                           InstanceMethod("funcArgs", &KernelBtf::FuncArgs),
                           InstanceMethod("memberType", &KernelBtf::MemberType),
                           InstanceMethod("close", &KernelBtf::Close),
                       });
  }

  explicit KernelBtf(const Napi::CallbackInfo &info) : Napi::ObjectWrap<KernelBtf>(info) {
    Napi::Env env = info.Env();
    ClearLibbpfLog();
    if (info.Length() > 0 && info[0].IsString()) {
      std::string path = info[0].As<Napi::String>();
      b_ = btf__parse(path.c_str(), nullptr);
      if (!b_) Throw(env, "read BTF " + path, errno);
    } else {
      b_ = btf__load_vmlinux_btf();
      if (!b_) Throw(env, "read the kernel's BTF (/sys/kernel/btf/vmlinux)", errno);
    }
  }
  ~KernelBtf() override { Free(); }

 private:
  btf *b_ = nullptr;

  void Free() {
    if (b_) btf__free(b_);
    b_ = nullptr;
  }
  void Check(Napi::Env env) {
    if (!b_) throw Napi::Error::New(env, "KernelBtf is closed");
  }
  static std::string Str(Napi::Env env, const Napi::Value &v, const char *what) {
    if (!v.IsString()) throw Napi::TypeError::New(env, std::string(what) + " must be a string");
    return v.As<Napi::String>();
  }

  // hasType(name, kind): kind one of struct | union | enum | typedef | func | var
  Napi::Value HasType(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Check(env);
    std::string name = Str(env, info[0], "name"), kind = Str(env, info[1], "kind");
    auto k = kKinds.find(kind);
    if (k == kKinds.end()) throw Napi::TypeError::New(env, "unknown BTF kind '" + kind + "'");
    bool found = btf__find_by_name_kind(b_, name.c_str(), k->second) > 0;
    // enums with 64-bit values have their own kind since 6.0
    if (!found && k->second == BTF_KIND_ENUM) found = btf__find_by_name_kind(b_, name.c_str(), BTF_KIND_ENUM64) > 0;
    return Napi::Boolean::New(env, found);
  }

  Napi::Value ProtoParams(Napi::Env env, const btf_type *proto, size_t skip) {
    if (!proto || !btf_is_func_proto(proto)) return env.Null();
    Napi::Array out = Napi::Array::New(env);
    const btf_param *p = btf_params(proto);
    uint32_t j = 0;
    for (int i = 0; i < btf_vlen(proto); i++, p++) {
      if ((size_t)i < skip) continue;
      out.Set(j++, Napi::String::New(env, TypeName(b_, p->type)));
    }
    return out;
  }

  // tracepointArgs("block_rq_issue") → ["struct request *"], or null when the kernel has no such
  // BTF-typed tracepoint (btf_trace_<name> typedef; its first parameter, the probe's data, is left out).
  Napi::Value TracepointArgs(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Check(env);
    std::string tp = "btf_trace_" + Str(env, info[0], "tracepoint");
    int id = btf__find_by_name_kind(b_, tp.c_str(), BTF_KIND_TYPEDEF);
    if (id <= 0) return env.Null();
    const btf_type *t = btf__type_by_id(b_, id);
    t = t ? btf__type_by_id(b_, t->type) : nullptr;  // pointer
    t = t && btf_is_ptr(t) ? btf__type_by_id(b_, t->type) : nullptr;
    return ProtoParams(env, t, 1);
  }

  // funcArgs("filemap_fault") → argument types of a kernel function (fentry/kprobe target), or null.
  Napi::Value FuncArgs(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Check(env);
    std::string fn = Str(env, info[0], "function");
    int id = btf__find_by_name_kind(b_, fn.c_str(), BTF_KIND_FUNC);
    if (id <= 0) return env.Null();
    const btf_type *t = btf__type_by_id(b_, id);
    return ProtoParams(env, t ? btf__type_by_id(b_, t->type) : nullptr, 0);
  }

  // memberType("dentry", "d_alias") → "struct hlist_node", looking into anonymous members; null when absent.
  Napi::Value MemberType(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Check(env);
    std::string s = Str(env, info[0], "struct"), member = Str(env, info[1], "member");
    int id = btf__find_by_name_kind(b_, s.c_str(), BTF_KIND_STRUCT);
    if (id <= 0) id = btf__find_by_name_kind(b_, s.c_str(), BTF_KIND_UNION);
    if (id <= 0) return env.Null();
    __u32 type_id = 0;
    if (!FindMember(b_, btf__type_by_id(b_, id), member, &type_id)) return env.Null();
    return Napi::String::New(env, TypeName(b_, type_id));
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Free();
    return info.Env().Undefined();
  }
};

void InitBtf(Napi::Env env, Napi::Object exports) { exports.Set("KernelBtf", KernelBtf::Init(env)); }

}  // namespace at
