// BpfMap: lookups, updates, deletes, key iteration and whole-map dumps (batched where the kernel has
// BPF_MAP_LOOKUP(_AND_DELETE)_BATCH, element by element otherwise). Keys and values are Buffers.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "common.h"

namespace at {

Napi::Function BpfMap::Init(Napi::Env env) {
  return DefineClass(env, "BpfMap",
                     {
                         InstanceMethod("lookup", &BpfMap::Lookup),
                         InstanceMethod("update", &BpfMap::Update),
                         InstanceMethod("delete", &BpfMap::Delete),
                         InstanceMethod("keys", &BpfMap::Keys),
                         InstanceMethod("dump", &BpfMap::Dump),
                         InstanceMethod("clear", &BpfMap::Clear),
                         InstanceAccessor("info", &BpfMap::Info, nullptr),
                     });
}

static bool IsPerCpu(uint32_t t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

Napi::Object BpfMap::New(Napi::Env env, std::shared_ptr<ObjectState> owner, bpf_map *map) {
  AddonData *data = env.GetInstanceData<AddonData>();
  Napi::Object o = data->mapCtor.New({});
  BpfMap *m = BpfMap::Unwrap(o);
  m->owner = std::move(owner);
  m->map = map;
  m->fd = bpf_map__fd(map);
  m->keySize = bpf_map__key_size(map);
  m->valueSize = bpf_map__value_size(map);
  m->maxEntries = bpf_map__max_entries(map);
  m->type = bpf_map__type(map);
  m->name = bpf_map__name(map);
  m->percpu = IsPerCpu(m->type);
  m->stride = m->percpu ? ((m->valueSize + 7) / 8) * 8 * libbpf_num_possible_cpus() : m->valueSize;
  return o;
}

BpfMap::BpfMap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BpfMap>(info) {}

void BpfMap::Check(Napi::Env env) {
  if (!owner || !owner->obj) throw Napi::Error::New(env, "map '" + name + "' belongs to a closed BPF object");
}

static Napi::Buffer<uint8_t> BufArg(const Napi::CallbackInfo &info, size_t i, size_t want, const char *what) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsBuffer()) throw Napi::TypeError::New(env, std::string(what) + " must be a Buffer");
  auto b = info[i].As<Napi::Buffer<uint8_t>>();
  if (b.Length() != want)
    throw Napi::RangeError::New(env, std::string(what) + " must be " + std::to_string(want) + " bytes, got " +
                                         std::to_string(b.Length()));
  return b;
}

Napi::Value BpfMap::Lookup(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Check(env);
  std::vector<uint8_t> key;
  if (keySize) {
    auto k = BufArg(info, 0, keySize, "key");
    key.assign(k.Data(), k.Data() + k.Length());
  }
  std::vector<uint8_t> val(stride);
  int err = bpf_map_lookup_elem(fd, key.data(), val.data());
  if (err) {
    if (errno == ENOENT) return env.Null();
    Throw(env, "lookup in map '" + name + "'", errno);
  }
  return Napi::Buffer<uint8_t>::Copy(env, val.data(), val.size());
}

Napi::Value BpfMap::Update(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Check(env);
  auto k = BufArg(info, 0, keySize, "key");
  auto v = BufArg(info, 1, stride, "value");
  uint64_t flags = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : (int64_t)BPF_ANY;
  if (bpf_map_update_elem(fd, k.Data(), v.Data(), flags)) Throw(env, "update map '" + name + "'", errno);
  return env.Undefined();
}

Napi::Value BpfMap::Delete(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Check(env);
  auto k = BufArg(info, 0, keySize, "key");
  if (bpf_map_delete_elem(fd, k.Data())) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    Throw(env, "delete from map '" + name + "'", errno);
  }
  return Napi::Boolean::New(env, true);
}

// All keys, concatenated (keySize bytes each). A key deleted concurrently may restart the walk, as
// with any get_next_key iteration; the result never holds duplicates.
static std::vector<uint8_t> AllKeys(int fd, uint32_t keySize, uint32_t maxEntries, int *errOut) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> cur(keySize), next(keySize);
  bool first = true;
  *errOut = 0;
  for (uint32_t n = 0; n <= maxEntries; n++) {
    int err = bpf_map_get_next_key(fd, first ? nullptr : cur.data(), next.data());
    if (err) {
      if (errno != ENOENT) *errOut = errno;
      break;
    }
    out.insert(out.end(), next.begin(), next.end());
    cur.swap(next);
    first = false;
  }
  return out;
}

Napi::Value BpfMap::Keys(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Check(env);
  int err;
  std::vector<uint8_t> keys = AllKeys(fd, keySize, maxEntries, &err);
  if (err) Throw(env, "iterate keys of map '" + name + "'", err);
  return Napi::Buffer<uint8_t>::Copy(env, keys.data(), keys.size());
}

// dump({ delete?: boolean }) → { keys: Buffer, values: Buffer, count, batched }
Napi::Value BpfMap::Dump(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Check(env);
  bool del = info.Length() > 0 && info[0].IsObject() && info[0].As<Napi::Object>().Get("delete").ToBoolean();
  std::vector<uint8_t> keys, values;
  uint32_t total = 0;
  bool batched = false;

  bool batchable = type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
                   type == BPF_MAP_TYPE_LRU_PERCPU_HASH || (!del && (type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY));
  if (batchable) {
    uint32_t chunk = maxEntries < 4096 ? maxEntries : 4096;
    std::vector<uint8_t> inb(keySize > 8 ? keySize : 8), outb(inb.size());
    std::vector<uint8_t> kbuf, vbuf;
    bool firstCall = true, ok = true;
    for (;;) {
      kbuf.resize((size_t)chunk * keySize);
      vbuf.resize((size_t)chunk * stride);
      uint32_t count = chunk;
      int err = del ? bpf_map_lookup_and_delete_batch(fd, firstCall ? nullptr : inb.data(), outb.data(), kbuf.data(), vbuf.data(), &count, nullptr)
                    : bpf_map_lookup_batch(fd, firstCall ? nullptr : inb.data(), outb.data(), kbuf.data(), vbuf.data(), &count, nullptr);
      int e = err ? errno : 0;
      if (err && e == ENOSPC && chunk < maxEntries * 2u + 16) {  // a bucket larger than the chunk
        chunk *= 2;
        continue;
      }
      if (err && e != ENOENT) {
        if (firstCall && (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP)) ok = false;  // old kernel: fall back
        else Throw(env, "batch dump of map '" + name + "'", e);
        break;
      }
      keys.insert(keys.end(), kbuf.begin(), kbuf.begin() + (size_t)count * keySize);
      values.insert(values.end(), vbuf.begin(), vbuf.begin() + (size_t)count * stride);
      total += count;
      firstCall = false;
      if (e == ENOENT) break;
      inb = outb;
    }
    batched = ok;
  }
  if (!batched) {
    keys.clear();
    values.clear();
    total = 0;
    int err;
    std::vector<uint8_t> ks = AllKeys(fd, keySize, maxEntries, &err);
    if (err) Throw(env, "iterate keys of map '" + name + "'", err);
    std::vector<uint8_t> v(stride);
    for (size_t off = 0; off + keySize <= ks.size(); off += keySize) {
      const uint8_t *k = ks.data() + off;
      if (bpf_map_lookup_elem(fd, k, v.data())) continue;  // deleted meanwhile
      if (del) bpf_map_delete_elem(fd, k);  // an increment between lookup and delete is lost: batch avoids it
      keys.insert(keys.end(), k, k + keySize);
      values.insert(values.end(), v.begin(), v.end());
      total++;
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("keys", Napi::Buffer<uint8_t>::Copy(env, keys.data(), keys.size()));
  out.Set("values", Napi::Buffer<uint8_t>::Copy(env, values.data(), values.size()));
  out.Set("count", total);
  out.Set("batched", batched);
  return out;
}

Napi::Value BpfMap::Clear(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Check(env);
  if (type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY) {
    std::vector<uint8_t> zero(stride, 0);
    for (uint32_t i = 0; i < maxEntries; i++) bpf_map_update_elem(fd, &i, zero.data(), BPF_ANY);
    return Napi::Number::New(env, maxEntries);
  }
  int err;
  std::vector<uint8_t> ks = AllKeys(fd, keySize, maxEntries, &err);
  if (err) Throw(env, "iterate keys of map '" + name + "'", err);
  uint32_t n = 0;
  for (size_t off = 0; off + keySize <= ks.size(); off += keySize)
    if (bpf_map_delete_elem(fd, ks.data() + off) == 0) n++;
  return Napi::Number::New(env, n);
}

Napi::Value BpfMap::Info(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", name);
  o.Set("type", type);
  o.Set("keySize", keySize);
  o.Set("valueSize", valueSize);
  o.Set("valueStride", stride);
  o.Set("maxEntries", maxEntries);
  o.Set("percpu", percpu);
  o.Set("fd", fd);
  return o;
}

}  // namespace at
