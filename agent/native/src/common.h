// Shared declarations of the autotracing addon: thin, typed wrappers over libbpf and libelf.
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

struct bpf_object;
struct bpf_link;
struct bpf_map;
struct ring_buffer;

namespace at {

// --- errors.cc ---------------------------------------------------------------------------------
void InstallLibbpfLogger();
void ClearLibbpfLog();
std::string TakeLibbpfLog();
// A JS Error carrying errno, the errno name as `code`, and libbpf's recent log lines as `libbpfLog`.
Napi::Error MakeError(Napi::Env env, const std::string &what, int err);
[[noreturn]] void Throw(Napi::Env env, const std::string &what, int err);
// libbpf returns -errno (1.x strict mode); some calls return NULL and set errno.
inline int NegErr(int ret) { return ret < 0 ? -ret : ret; }

// --- shared state --------------------------------------------------------------------------------
// Links and ring buffers register here so BpfObject.close() tears everything down deterministically,
// whatever the garbage collector does later with the JS wrappers.
struct Closeable {
  virtual ~Closeable() = default;
  virtual void Close() = 0;
};

struct ObjectState {
  bpf_object *obj = nullptr;
  // Our own shared mappings of loaded .bss/.data maps: libbpf < 1.2 keeps only a private copy after
  // bpf_object__load (it remaps just for skeletons), so writes through it would never reach the kernel.
  std::vector<std::pair<void *, size_t>> mmaps;
  std::vector<std::pair<bpf_map *, void *>> live;
  bool loaded = false;
  std::string path;
  std::vector<std::weak_ptr<Closeable>> children;
  void Register(const std::shared_ptr<Closeable> &c) {
    // drop expired entries so long-lived objects with many attach/detach cycles do not grow
    std::vector<std::weak_ptr<Closeable>> live;
    for (auto &w : children)
      if (!w.expired()) live.push_back(w);
    live.push_back(c);
    children.swap(live);
  }
  void Close();
  ~ObjectState() { Close(); }
};

struct LinkState : Closeable {
  std::shared_ptr<ObjectState> owner;
  std::vector<bpf_link *> links;
  std::vector<int> fds;  // extra fds owned by the link (e.g. cgroup fds), closed on Close()
  void Close() override;
  ~LinkState() override { Close(); }
};

// --- classes ----------------------------------------------------------------------------------------
class BpfLink : public Napi::ObjectWrap<BpfLink> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object New(Napi::Env env, std::shared_ptr<LinkState> state);
  explicit BpfLink(const Napi::CallbackInfo &info);
  std::shared_ptr<LinkState> state;

 private:
  Napi::Value Destroy(const Napi::CallbackInfo &info);
  Napi::Value Count(const Napi::CallbackInfo &info);
  Napi::Value Destroyed(const Napi::CallbackInfo &info);
};

class BpfMap : public Napi::ObjectWrap<BpfMap> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object New(Napi::Env env, std::shared_ptr<ObjectState> owner, bpf_map *map);
  explicit BpfMap(const Napi::CallbackInfo &info);

 private:
  std::shared_ptr<ObjectState> owner;
  bpf_map *map = nullptr;
  int fd = -1;
  uint32_t keySize = 0, valueSize = 0, maxEntries = 0, type = 0;
  uint32_t stride = 0;  // bytes per value as user space sees it (per-CPU maps: one slot per possible CPU)
  bool percpu = false;
  std::string name;

  void Check(Napi::Env env);
  Napi::Value Lookup(const Napi::CallbackInfo &info);
  Napi::Value Update(const Napi::CallbackInfo &info);
  Napi::Value Delete(const Napi::CallbackInfo &info);
  Napi::Value Keys(const Napi::CallbackInfo &info);
  Napi::Value Dump(const Napi::CallbackInfo &info);
  Napi::Value Clear(const Napi::CallbackInfo &info);
  Napi::Value Info(const Napi::CallbackInfo &info);
};

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit BpfObject(const Napi::CallbackInfo &info);
  ~BpfObject() override;

 private:
  std::shared_ptr<ObjectState> state;

  void CheckOpen(Napi::Env env);
  void CheckLoaded(Napi::Env env, bool want);
  struct bpf_program *Program(Napi::Env env, const Napi::Value &name);
  Napi::Value SetGlobal(const Napi::CallbackInfo &info);
  Napi::Value GetGlobal(const Napi::CallbackInfo &info);
  Napi::Value SetMapMaxEntries(const Napi::CallbackInfo &info);
  Napi::Value SetMapFlags(const Napi::CallbackInfo &info);
  Napi::Value SetMapType(const Napi::CallbackInfo &info);
  Napi::Value SetAutoload(const Napi::CallbackInfo &info);
  Napi::Value Load(const Napi::CallbackInfo &info);
  Napi::Value Programs(const Napi::CallbackInfo &info);
  Napi::Value Maps(const Napi::CallbackInfo &info);
  Napi::Value Map(const Napi::CallbackInfo &info);
  Napi::Value AttachPerfEvent(const Napi::CallbackInfo &info);
  Napi::Value AttachTracepoint(const Napi::CallbackInfo &info);
  Napi::Value AttachRawTracepoint(const Napi::CallbackInfo &info);
  Napi::Value AttachKprobe(const Napi::CallbackInfo &info);
  Napi::Value Attach(const Napi::CallbackInfo &info);
  Napi::Value ReadIter(const Napi::CallbackInfo &info);
  Napi::Value OpenRingBuffer(const Napi::CallbackInfo &info);
  Napi::Value Close(const Napi::CallbackInfo &info);
  Napi::Value State(const Napi::CallbackInfo &info);
};

// --- ringbuf.cc ---
Napi::Object NewRingBuffer(Napi::Env env, std::shared_ptr<ObjectState> owner, bpf_map *map,
                           Napi::Function callback);
Napi::Function InitRingBuffer(Napi::Env env);

// --- elf.cc / system.cc ---
void InitElf(Napi::Env env, Napi::Object exports);
void InitSystem(Napi::Env env, Napi::Object exports);
// --- btf.cc ---
void InitBtf(Napi::Env env, Napi::Object exports);

// Per-environment constructors (addon instance data).
struct AddonData {
  Napi::FunctionReference linkCtor, mapCtor, ringCtor;
};

}  // namespace at
