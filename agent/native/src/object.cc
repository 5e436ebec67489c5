// BpfObject: open → (set constants, resize maps, choose programs) → load → attach / iterate / read
// maps → close. close() detaches every link and ring buffer created from the object, in that order.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common.h"

namespace at {

void ObjectState::Close() {
  for (auto &w : children)
    if (auto c = w.lock()) c->Close();
  children.clear();
  for (auto &m : mmaps) munmap(m.first, m.second);
  mmaps.clear();
  live.clear();
  if (obj) {
    bpf_object__close(obj);
    obj = nullptr;
  }
}

static std::vector<int> OnlineCpus() {
  // "0-3,6,8-9"
  std::vector<int> cpus;
  std::ifstream f("/sys/devices/system/cpu/online");
  std::string s;
  std::getline(f, s);
  size_t i = 0;
  while (i < s.size()) {
    size_t comma = s.find(',', i);
    if (comma == std::string::npos) comma = s.size();
    std::string part = s.substr(i, comma - i);
    size_t dash = part.find('-');
    try {
      if (dash == std::string::npos) {
        if (!part.empty()) cpus.push_back(std::stoi(part));
      } else {
        int a = std::stoi(part.substr(0, dash)), b = std::stoi(part.substr(dash + 1));
        for (int c = a; c <= b; c++) cpus.push_back(c);
      }
    } catch (...) {
    }
    i = comma + 1;
  }
  if (cpus.empty()) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < n; c++) cpus.push_back((int)c);
  }
  return cpus;
}

Napi::Function BpfObject::Init(Napi::Env env) {
  return DefineClass(env, "BpfObject",
                     {
                         InstanceMethod("setGlobal", &BpfObject::SetGlobal),
                         InstanceMethod("getGlobal", &BpfObject::GetGlobal),
                         InstanceMethod("setMapMaxEntries", &BpfObject::SetMapMaxEntries),
                         InstanceMethod("setMapFlags", &BpfObject::SetMapFlags),
                         InstanceMethod("setMapType", &BpfObject::SetMapType),
                         InstanceMethod("setAutoload", &BpfObject::SetAutoload),
                         InstanceMethod("load", &BpfObject::Load),
                         InstanceMethod("programs", &BpfObject::Programs),
                         InstanceMethod("maps", &BpfObject::Maps),
                         InstanceMethod("map", &BpfObject::Map),
                         InstanceMethod("attachPerfEvent", &BpfObject::AttachPerfEvent),
                         InstanceMethod("attachTracepoint", &BpfObject::AttachTracepoint),
                         InstanceMethod("attachRawTracepoint", &BpfObject::AttachRawTracepoint),
                         InstanceMethod("attachKprobe", &BpfObject::AttachKprobe),
                         InstanceMethod("attach", &BpfObject::Attach),
                         InstanceMethod("readIter", &BpfObject::ReadIter),
                         InstanceMethod("openRingBuffer", &BpfObject::OpenRingBuffer),
                         InstanceMethod("close", &BpfObject::Close),
                         InstanceAccessor("state", &BpfObject::State, nullptr),
                     });
}

BpfObject::BpfObject(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BpfObject>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "BpfObject(path, options?): path must be a string");
  std::string path = info[0].As<Napi::String>();
  std::string btfPath;
  bpf_object_open_opts opts;
  memset(&opts, 0, sizeof(opts));
  opts.sz = sizeof(opts);
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    if (o.Has("btfPath") && o.Get("btfPath").IsString()) {
      btfPath = o.Get("btfPath").As<Napi::String>();
      opts.btf_custom_path = btfPath.c_str();
    }
  }
  ClearLibbpfLog();
  bpf_object *obj = bpf_object__open_file(path.c_str(), &opts);
  if (!obj) Throw(env, "open BPF object " + path, errno);
  state = std::make_shared<ObjectState>();
  state->obj = obj;
  state->path = path;
}

BpfObject::~BpfObject() {
  // The state may outlive this wrapper (held by maps, links and ring buffers); it closes with the last.
}

void BpfObject::CheckOpen(Napi::Env env) {
  if (!state || !state->obj) throw Napi::Error::New(env, "BPF object is closed");
}

void BpfObject::CheckLoaded(Napi::Env env, bool want) {
  CheckOpen(env);
  if (want && !state->loaded) throw Napi::Error::New(env, "BPF object is not loaded yet: call load() first");
  if (!want && state->loaded) throw Napi::Error::New(env, "BPF object is already loaded: this must be done before load()");
}

bpf_program *BpfObject::Program(Napi::Env env, const Napi::Value &v) {
  if (!v.IsString()) throw Napi::TypeError::New(env, "program name must be a string");
  std::string name = v.As<Napi::String>();
  bpf_program *p = bpf_object__find_program_by_name(state->obj, name.c_str());
  if (!p) throw MakeError(env, "no program named '" + name + "' in " + state->path, ENOENT);
  return p;
}

namespace {
struct VarLoc {
  bpf_map *map = nullptr;
  size_t offset = 0, size = 0;
};

// Global variables live in the object's internal maps (.rodata, .data, .bss); BTF says where.
bool FindVar(bpf_object *obj, const std::string &name, VarLoc *out) {
  const btf *b = bpf_object__btf(obj);
  if (!b) return false;
  bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    if (!bpf_map__is_internal(m)) continue;
    const char *dot = strchr(bpf_map__name(m), '.');
    if (!dot) continue;
    int id = btf__find_by_name_kind(b, dot, BTF_KIND_DATASEC);
    if (id < 0) continue;
    const btf_type *t = btf__type_by_id(b, id);
    const btf_var_secinfo *vs = btf_var_secinfos(t);
    for (int i = 0; i < btf_vlen(t); i++) {
      const btf_type *vt = btf__type_by_id(b, vs[i].type);
      const char *vname = btf__name_by_offset(b, vt->name_off);
      if (vname && name == vname) {
        out->map = m;
        out->offset = vs[i].offset;
        out->size = vs[i].size;
        return true;
      }
    }
  }
  return false;
}
// Memory that the loaded programs see for an internal map (.bss/.data/.rodata), mapped once.
void *LiveData(ObjectState *st, bpf_map *m, bool writable, int *err) {
  for (auto &l : st->live)
    if (l.first == m) return l.second;
  *err = 0;
  if (!(bpf_map__map_flags(m) & BPF_F_MMAPABLE)) {
    *err = EOPNOTSUPP;
    return nullptr;
  }
  long page = sysconf(_SC_PAGESIZE);
  size_t sz = ((size_t)bpf_map__value_size(m) + page - 1) / page * page;
  void *p = mmap(nullptr, sz, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, bpf_map__fd(m), 0);
  if (p == MAP_FAILED) {
    *err = errno;
    return nullptr;
  }
  st->mmaps.push_back({p, sz});
  st->live.push_back({m, p});
  return p;
}
}  // namespace

Napi::Value BpfObject::SetGlobal(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBuffer())
    throw Napi::TypeError::New(env, "setGlobal(name, value: Buffer)");
  std::string name = info[0].As<Napi::String>();
  auto buf = info[1].As<Napi::Buffer<uint8_t>>();
  VarLoc loc;
  if (!FindVar(state->obj, name, &loc)) throw MakeError(env, "no global variable '" + name + "' in " + state->path, ENOENT);
  if (buf.Length() != loc.size)
    throw Napi::RangeError::New(env, "global '" + name + "' is " + std::to_string(loc.size) + " bytes, got " +
                                         std::to_string(buf.Length()));
  if (state->loaded && (bpf_map__map_flags(loc.map) & BPF_F_RDONLY_PROG))
    throw Napi::Error::New(env, "global '" + name + "' is read-only after load (const volatile): set it before load()");
  void *data = nullptr;
  if (state->loaded) {
    int err = 0;
    data = LiveData(state.get(), loc.map, true, &err);
    if (!data) Throw(env, "map the live copy of global '" + name + "'", err);
  } else {
    size_t sz = 0;
    data = const_cast<void *>(bpf_map__initial_value(loc.map, &sz));
    if (!data || loc.offset + loc.size > sz) throw Napi::Error::New(env, "global '" + name + "' has no initial value to set");
  }
  memcpy(static_cast<uint8_t *>(data) + loc.offset, buf.Data(), loc.size);
  return env.Undefined();
}

Napi::Value BpfObject::GetGlobal(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "getGlobal(name)");
  std::string name = info[0].As<Napi::String>();
  VarLoc loc;
  if (!FindVar(state->obj, name, &loc)) throw MakeError(env, "no global variable '" + name + "' in " + state->path, ENOENT);
  const void *data = nullptr;
  if (state->loaded) {
    int err = 0;
    data = LiveData(state.get(), loc.map, !(bpf_map__map_flags(loc.map) & BPF_F_RDONLY_PROG), &err);
    if (!data) Throw(env, "map the live copy of global '" + name + "'", err);
  } else {
    size_t sz = 0;
    data = bpf_map__initial_value(loc.map, &sz);
    if (!data || loc.offset + loc.size > sz) throw Napi::Error::New(env, "global '" + name + "' is not readable");
  }
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t *>(data) + loc.offset, loc.size);
}

Napi::Value BpfObject::SetMapMaxEntries(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, false);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "setMapMaxEntries(name, entries)");
  std::string name = info[0].As<Napi::String>();
  bpf_map *m = bpf_object__find_map_by_name(state->obj, name.c_str());
  if (!m) throw MakeError(env, "no map named '" + name + "'", ENOENT);
  int err = bpf_map__set_max_entries(m, info[1].As<Napi::Number>().Uint32Value());
  if (err) Throw(env, "set max entries of map '" + name + "'", err);
  return env.Undefined();
}

// Flags (e.g. BPF_F_NO_PREALLOC) chosen at load time: not every kernel accepts every flag for every program type.
Napi::Value BpfObject::SetMapFlags(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, false);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "setMapFlags(name, flags)");
  std::string name = info[0].As<Napi::String>();
  bpf_map *m = bpf_object__find_map_by_name(state->obj, name.c_str());
  if (!m) throw MakeError(env, "no map named '" + name + "'", ENOENT);
  int err = bpf_map__set_map_flags(m, info[1].As<Napi::Number>().Uint32Value());
  if (err) Throw(env, "set flags of map '" + name + "'", err);
  return env.Undefined();
}

// Map type chosen at load time (e.g. a hash keyed by thread id where the kernel has no task storage).
Napi::Value BpfObject::SetMapType(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, false);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "setMapType(name, type)");
  std::string name = info[0].As<Napi::String>();
  bpf_map *m = bpf_object__find_map_by_name(state->obj, name.c_str());
  if (!m) throw MakeError(env, "no map named '" + name + "'", ENOENT);
  int err = bpf_map__set_type(m, (bpf_map_type)info[1].As<Napi::Number>().Uint32Value());
  if (err) Throw(env, "set type of map '" + name + "'", err);
  return env.Undefined();
}

Napi::Value BpfObject::SetAutoload(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, false);
  bpf_program *p = Program(env, info[0]);
  int err = bpf_program__set_autoload(p, info[1].ToBoolean());
  if (err) Throw(env, "set autoload", err);
  return env.Undefined();
}

Napi::Value BpfObject::Load(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, false);
  ClearLibbpfLog();
  // The verifier gives up with EAGAIN whenever a signal is pending (so a long verification can be
  // interrupted), and libbpf cannot load an object twice. A profiler's SIGPROF (node --cpu-prof) made
  // every load fail: hold signals back for the duration; they are delivered right after.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int err = bpf_object__load(state->obj);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err) Throw(env, "load BPF object " + state->path, err);
  TakeLibbpfLog();
  state->loaded = true;
  return env.Undefined();
}

Napi::Value BpfObject::Programs(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Napi::Array out = Napi::Array::New(env);
  bpf_program *p;
  uint32_t i = 0;
  bpf_object__for_each_program(p, state->obj) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(p));
    o.Set("section", bpf_program__section_name(p));
    o.Set("autoload", bpf_program__autoload(p));
    o.Set("fd", state->loaded ? bpf_program__fd(p) : -1);
    out.Set(i++, o);
  }
  return out;
}

Napi::Value BpfObject::Maps(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Napi::Array out = Napi::Array::New(env);
  bpf_map *m;
  uint32_t i = 0;
  bpf_object__for_each_map(m, state->obj) out.Set(i++, Napi::String::New(env, bpf_map__name(m)));
  return out;
}

Napi::Value BpfObject::Map(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, true);
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "map(name)");
  std::string name = info[0].As<Napi::String>();
  bpf_map *m = bpf_object__find_map_by_name(state->obj, name.c_str());
  if (!m) throw MakeError(env, "no map named '" + name + "' in " + state->path, ENOENT);
  return BpfMap::New(env, state, m);
}

static std::shared_ptr<LinkState> NewLinkState(const std::shared_ptr<ObjectState> &owner) {
  auto ls = std::make_shared<LinkState>();
  ls->owner = owner;
  owner->Register(ls);
  return ls;
}

static int OptInt(const Napi::Object &o, const char *key, int def) {
  if (!o.Has(key)) return def;
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : def;
}

Napi::Value BpfObject::AttachPerfEvent(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, true);
  bpf_program *prog = Program(env, info[0]);
  Napi::Object o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);

  perf_event_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  std::string event = o.Has("event") && o.Get("event").IsString() ? o.Get("event").As<Napi::String>().Utf8Value() : "cpu-clock";
  if (event == "cycles") {
    attr.type = PERF_TYPE_HARDWARE;
    attr.config = PERF_COUNT_HW_CPU_CYCLES;
  } else if (event == "cpu-clock") {
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
  } else {
    throw Napi::TypeError::New(env, "event must be 'cpu-clock' or 'cycles'");
  }
  int freq = OptInt(o, "frequency", 0);
  double period = o.Has("period") && o.Get("period").IsNumber() ? o.Get("period").As<Napi::Number>().DoubleValue() : 0;
  if (freq > 0) {
    attr.freq = 1;
    attr.sample_freq = freq;
  } else if (period > 0) {
    attr.sample_period = (uint64_t)period;
  } else {
    throw Napi::TypeError::New(env, "attachPerfEvent needs frequency (Hz) or period (events)");
  }
  int pid = OptInt(o, "pid", -1);
  std::vector<int> cpus;
  if (o.Has("cpus") && o.Get("cpus").IsArray()) {
    Napi::Array a = o.Get("cpus").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) cpus.push_back(a.Get(i).As<Napi::Number>().Int32Value());
  } else {
    cpus = OnlineCpus();
  }

  auto ls = NewLinkState(state);
  for (int cpu : cpus) {
    int fd = (int)syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      ls->Close();
      Throw(env, "perf_event_open(" + event + ", cpu " + std::to_string(cpu) + ")", e);
    }
    ClearLibbpfLog();
    bpf_link *l = bpf_program__attach_perf_event(prog, fd);
    if (!l) {
      int e = errno;
      close(fd);
      ls->Close();
      Throw(env, "attach perf_event program to cpu " + std::to_string(cpu), e);
    }
    ls->links.push_back(l);  // the link owns fd and closes it on destroy
  }
  return BpfLink::New(env, ls);
}

Napi::Value BpfObject::AttachTracepoint(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, true);
  bpf_program *prog = Program(env, info[0]);
  if (info.Length() < 3 || !info[1].IsString() || !info[2].IsString())
    throw Napi::TypeError::New(env, "attachTracepoint(program, category, name)");
  std::string cat = info[1].As<Napi::String>(), name = info[2].As<Napi::String>();
  ClearLibbpfLog();
  bpf_link *l = bpf_program__attach_tracepoint(prog, cat.c_str(), name.c_str());
  if (!l) Throw(env, "attach tracepoint " + cat + ":" + name, errno);
  auto ls = NewLinkState(state);
  ls->links.push_back(l);
  return BpfLink::New(env, ls);
}

Napi::Value BpfObject::AttachRawTracepoint(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, true);
  bpf_program *prog = Program(env, info[0]);
  if (info.Length() < 2 || !info[1].IsString()) throw Napi::TypeError::New(env, "attachRawTracepoint(program, name)");
  std::string name = info[1].As<Napi::String>();
  ClearLibbpfLog();
  bpf_link *l = bpf_program__attach_raw_tracepoint(prog, name.c_str());
  if (!l) Throw(env, "attach raw tracepoint " + name, errno);
  auto ls = NewLinkState(state);
  ls->links.push_back(l);
  return BpfLink::New(env, ls);
}

Napi::Value BpfObject::AttachKprobe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, true);
  bpf_program *prog = Program(env, info[0]);
  if (info.Length() < 2 || !info[1].IsString()) throw Napi::TypeError::New(env, "attachKprobe(program, function, retprobe?)");
  std::string fn = info[1].As<Napi::String>();
  bool ret = info.Length() > 2 && info[2].ToBoolean();
  ClearLibbpfLog();
  bpf_link *l = bpf_program__attach_kprobe(prog, ret, fn.c_str());
  if (!l) Throw(env, std::string("attach ") + (ret ? "kretprobe " : "kprobe ") + fn, errno);
  auto ls = NewLinkState(state);
  ls->links.push_back(l);
  return BpfLink::New(env, ls);
}

Napi::Value BpfObject::Attach(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, true);
  bpf_program *prog = Program(env, info[0]);
  ClearLibbpfLog();
  bpf_link *l = bpf_program__attach(prog);
  if (!l) Throw(env, std::string("attach program ") + bpf_program__name(prog) + " (" + bpf_program__section_name(prog) + ")", errno);
  auto ls = NewLinkState(state);
  ls->links.push_back(l);
  return BpfLink::New(env, ls);
}

Napi::Value BpfObject::ReadIter(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, true);
  bpf_program *prog = Program(env, info[0]);
  Napi::Object o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);

  union bpf_iter_link_info linfo;
  memset(&linfo, 0, sizeof(linfo));
  bpf_iter_attach_opts opts;
  memset(&opts, 0, sizeof(opts));
  opts.sz = sizeof(opts);
  bool withInfo = false;
  int pid = OptInt(o, "pid", 0), tid = OptInt(o, "tid", 0), cgroupFd = OptInt(o, "cgroupFd", -1);
  if (pid > 0 || tid > 0) {
    linfo.task.pid = pid;
    linfo.task.tid = tid;
    withInfo = true;
  } else if (cgroupFd >= 0) {
    linfo.cgroup.cgroup_fd = cgroupFd;
    linfo.cgroup.order = (bpf_cgroup_iter_order)OptInt(o, "order", BPF_CGROUP_ITER_DESCENDANTS_PRE);
    withInfo = true;
  }
  if (withInfo) {
    opts.link_info = &linfo;
    opts.link_info_len = sizeof(linfo);
  }
  ClearLibbpfLog();
  bpf_link *link = bpf_program__attach_iter(prog, &opts);
  if (!link) Throw(env, std::string("attach iterator ") + bpf_program__name(prog), errno);
  int fd = bpf_iter_create(bpf_link__fd(link));
  if (fd < 0) {
    int e = errno;
    bpf_link__destroy(link);
    Throw(env, "create iterator", e);
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      out.append(buf, n);
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    int e = errno;
    close(fd);
    bpf_link__destroy(link);
    Throw(env, "read iterator", e);
  }
  close(fd);
  bpf_link__destroy(link);
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t *>(out.data()), out.size());
}

Napi::Value BpfObject::OpenRingBuffer(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  CheckLoaded(env, true);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "openRingBuffer(mapName, callback(records: Buffer[]))");
  std::string name = info[0].As<Napi::String>();
  bpf_map *m = bpf_object__find_map_by_name(state->obj, name.c_str());
  if (!m) throw MakeError(env, "no map named '" + name + "'", ENOENT);
  if (bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF) throw Napi::TypeError::New(env, "map '" + name + "' is not a ring buffer");
  return NewRingBuffer(env, state, m, info[1].As<Napi::Function>());
}

Napi::Value BpfObject::Close(const Napi::CallbackInfo &info) {
  if (state) state->Close();
  return info.Env().Undefined();
}

Napi::Value BpfObject::State(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!state || !state->obj) return Napi::String::New(env, "closed");
  return Napi::String::New(env, state->loaded ? "loaded" : "opened");
}

}  // namespace at
