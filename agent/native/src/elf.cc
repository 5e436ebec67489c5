// ELF symbol tables for user-space symbolization: function symbols from .symtab and .dynsym (sorted,
// sizes filled in, C++/Rust names demangled), PT_LOAD segments to turn file offsets into symbol
// addresses (PIE and shared-library bias), the GNU build id (cache key) and .gnu_debuglink.
#include <cxxabi.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common.h"

namespace at {

namespace {

struct Load {
  uint64_t vaddr, offset, filesz, memsz;
  uint32_t flags;
};
struct Sym {
  uint64_t addr, size;
  std::string name;
  int rank;  // lower wins when two symbols share an address: global symtab < weak < local < dynsym
};
struct ElfResult {
  int err = 0;
  std::string error;
  std::string buildId, debuglink, type;
  std::vector<Load> loads;
  std::vector<Sym> syms;
};

std::string Demangle(const char *name) {
  if (name[0] == '_' && name[1] == 'Z') {
    int status = 0;
    char *d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    if (d && status == 0) {
      std::string s(d);
      free(d);
      return s;
    }
    free(d);
  }
  return name;
}

ElfResult ReadElf(const std::string &path) {
  ElfResult r;
  elf_version(EV_CURRENT);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.err = errno;
    r.error = "open " + path;
    return r;
  }
  Elf *e = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (!e || elf_kind(e) != ELF_K_ELF) {
    r.err = ENOEXEC;
    r.error = path + " is not an ELF file" + (e ? "" : std::string(": ") + elf_errmsg(-1));
    if (e) elf_end(e);
    close(fd);
    return r;
  }
  GElf_Ehdr eh;
  if (gelf_getehdr(e, &eh)) {
    r.type = eh.e_type == ET_EXEC ? "exec" : eh.e_type == ET_DYN ? "dyn" : eh.e_type == ET_REL ? "rel" : "other";
  }
  size_t phnum = 0;
  if (elf_getphdrnum(e, &phnum) == 0) {
    for (size_t i = 0; i < phnum; i++) {
      GElf_Phdr ph;
      if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD)
        r.loads.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_flags});
    }
  }
  size_t shstrndx = 0;
  elf_getshdrstrndx(e, &shstrndx);
  Elf_Scn *scn = nullptr;
  while ((scn = elf_nextscn(e, scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char *sname = elf_strptr(e, shstrndx, sh.sh_name);
    if ((sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) && sh.sh_entsize) {
      Elf_Data *d = elf_getdata(scn, nullptr);
      if (!d) continue;
      size_t n = sh.sh_size / sh.sh_entsize;
      for (size_t i = 0; i < n; i++) {
        GElf_Sym s;
        if (!gelf_getsym(d, (int)i, &s)) continue;
        int t = GELF_ST_TYPE(s.st_info);
        if ((t != STT_FUNC && t != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF || s.st_value == 0) continue;
        const char *nm = elf_strptr(e, sh.sh_link, s.st_name);
        if (!nm || !*nm) continue;
        int bind = GELF_ST_BIND(s.st_info);
        int rank = (sh.sh_type == SHT_DYNSYM ? 3 : 0) + (bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2);
        r.syms.push_back({s.st_value, s.st_size, nm, rank});  // demangled lazily, on lookup
      }
    } else if (sh.sh_type == SHT_NOTE) {
      Elf_Data *d = elf_getdata(scn, nullptr);
      if (!d || !r.buildId.empty()) continue;
      size_t off = 0, noff = 0, doff = 0;
      GElf_Nhdr nh;
      while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(static_cast<char *>(d->d_buf) + noff, "GNU", 4) == 0) {
          static const char hex[] = "0123456789abcdef";
          const uint8_t *p = static_cast<const uint8_t *>(d->d_buf) + doff;
          for (size_t i = 0; i < nh.n_descsz; i++) {
            r.buildId += hex[p[i] >> 4];
            r.buildId += hex[p[i] & 15];
          }
          break;
        }
      }
    } else if (sname && strcmp(sname, ".gnu_debuglink") == 0) {
      Elf_Data *d = elf_getdata(scn, nullptr);
      if (d && d->d_size > 0) r.debuglink = std::string(static_cast<const char *>(d->d_buf), strnlen(static_cast<const char *>(d->d_buf), d->d_size));
    }
  }
  elf_end(e);
  close(fd);

  std::sort(r.syms.begin(), r.syms.end(), [](const Sym &a, const Sym &b) {
    return a.addr != b.addr ? a.addr < b.addr : a.rank < b.rank;
  });
  std::vector<Sym> uniq;
  uniq.reserve(r.syms.size());
  for (auto &s : r.syms)
    if (uniq.empty() || uniq.back().addr != s.addr) uniq.push_back(std::move(s));
  // Symbols without a size (hand-written assembly) extend to the next symbol.
  for (size_t i = 0; i < uniq.size(); i++)
    if (uniq[i].size == 0 && i + 1 < uniq.size()) uniq[i].size = uniq[i + 1].addr - uniq[i].addr;
  r.syms.swap(uniq);
  return r;
}

Napi::Value ToJs(Napi::Env env, const ElfResult &r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("buildId", r.buildId.empty() ? env.Null() : Napi::String::New(env, r.buildId));
  o.Set("debuglink", r.debuglink.empty() ? env.Null() : Napi::String::New(env, r.debuglink));
  o.Set("type", r.type);
  Napi::Array loads = Napi::Array::New(env, r.loads.size());
  for (size_t i = 0; i < r.loads.size(); i++) {
    Napi::Object l = Napi::Object::New(env);
    l.Set("vaddr", (double)r.loads[i].vaddr);
    l.Set("offset", (double)r.loads[i].offset);
    l.Set("filesz", (double)r.loads[i].filesz);
    l.Set("memsz", (double)r.loads[i].memsz);
    l.Set("executable", (r.loads[i].flags & PF_X) != 0);
    loads.Set(i, l);
  }
  o.Set("loads", loads);
  size_t n = r.syms.size();
  Napi::Float64Array start = Napi::Float64Array::New(env, n), size = Napi::Float64Array::New(env, n);
  Napi::Array names = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    start[i] = (double)r.syms[i].addr;
    size[i] = (double)r.syms[i].size;
    names.Set(i, Napi::String::New(env, r.syms[i].name));
  }
  Napi::Object syms = Napi::Object::New(env);
  syms.Set("start", start);
  syms.Set("size", size);
  syms.Set("names", names);
  o.Set("symbols", syms);
  return o;
}

class ElfWorker : public Napi::AsyncWorker {
 public:
  ElfWorker(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env), path(std::move(path)), deferred(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred.Promise(); }
  void Execute() override { result = ReadElf(path); }
  void OnOK() override {
    Napi::Env env = Env();
    if (result.err) deferred.Reject(MakeError(env, result.error, result.err).Value());
    else deferred.Resolve(ToJs(env, result));
  }

 private:
  std::string path;
  ElfResult result;
  Napi::Promise::Deferred deferred;
};

Napi::Value ReadElfSymbols(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "readElfSymbols(path)");
  ElfResult r = ReadElf(info[0].As<Napi::String>());
  if (r.err) throw MakeError(env, r.error, r.err);
  return ToJs(env, r);
}

// C++/Rust (legacy) names → readable; anything else is returned as is. Demangling every symbol of a
// large binary up front costs more than reading the file, so callers demangle only what they show.
Napi::Value DemangleJs(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "demangle(name)");
  return Napi::String::New(env, Demangle(info[0].As<Napi::String>().Utf8Value().c_str()));
}

Napi::Value ReadElfSymbolsAsync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "readElfSymbolsAsync(path)");
  auto *w = new ElfWorker(env, info[0].As<Napi::String>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// A symbol table kept in native memory: JS asks for the names it needs instead of receiving every
// symbol of a large binary as JS strings (78k strings for node cost more in GC than reading the file).
class ElfTable : public Napi::ObjectWrap<ElfTable> {
 public:
  static Napi::FunctionReference ctor;
  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "ElfTable",
                                   {
                                       InstanceMethod("lookup", &ElfTable::Lookup),
                                       InstanceAccessor("symbolCount", &ElfTable::Count, nullptr),
                                       InstanceAccessor("info", &ElfTable::Info, nullptr),
                                   });
    ctor = Napi::Persistent(f);
    ctor.SuppressDestruct();
    return f;
  }
  explicit ElfTable(const Napi::CallbackInfo &info) : Napi::ObjectWrap<ElfTable>(info) {}
  ElfResult r;

 private:
  // lookup(vaddr) → the demangled name of the function containing vaddr, or null
  Napi::Value Lookup(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    double v = info[0].As<Napi::Number>().DoubleValue();
    if (!(v >= 0)) return env.Null();
    uint64_t a = (uint64_t)v;
    auto it = std::upper_bound(r.syms.begin(), r.syms.end(), a, [](uint64_t x, const Sym &s) { return x < s.addr; });
    if (it == r.syms.begin()) return env.Null();
    --it;
    if (it->size > 0 && a >= it->addr + it->size) return env.Null();
    return Napi::String::New(env, Demangle(it->name.c_str()));
  }
  Napi::Value Count(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), (double)r.syms.size()); }
  Napi::Value Info(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ElfResult meta = r;
    meta.syms.clear();
    Napi::Object o = ToJs(env, meta).As<Napi::Object>();
    o.Delete("symbols");
    return o;
  }
};
Napi::FunctionReference ElfTable::ctor;

class ElfTableWorker : public Napi::AsyncWorker {
 public:
  ElfTableWorker(Napi::Env env, std::string path) : Napi::AsyncWorker(env), path(std::move(path)), deferred(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred.Promise(); }
  void Execute() override { result = ReadElf(path); }
  void OnOK() override {
    Napi::Env env = Env();
    if (result.err) {
      deferred.Reject(MakeError(env, result.error, result.err).Value());
      return;
    }
    Napi::Object o = ElfTable::ctor.New({});
    ElfTable::Unwrap(o)->r = std::move(result);
    deferred.Resolve(o);
  }

 private:
  std::string path;
  ElfResult result;
  Napi::Promise::Deferred deferred;
};

Napi::Value ReadElfTableAsync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "readElfTableAsync(path)");
  auto *w = new ElfTableWorker(env, info[0].As<Napi::String>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitElf(Napi::Env env, Napi::Object exports) {
  exports.Set("readElfSymbols", Napi::Function::New(env, ReadElfSymbols));
  exports.Set("readElfSymbolsAsync", Napi::Function::New(env, ReadElfSymbolsAsync));
  exports.Set("demangle", Napi::Function::New(env, DemangleJs));
  exports.Set("ElfTable", ElfTable::Init(env));
  exports.Set("readElfTableAsync", Napi::Function::New(env, ReadElfTableAsync));
}

}  // namespace at
