// Entry point of the autotracing native addon (see agent/src/bpf/native.ts for the typed JS API).
#include "common.h"

namespace at {

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  InstallLibbpfLogger();
  auto *data = new AddonData();
  data->linkCtor = Napi::Persistent(BpfLink::Init(env));
  data->mapCtor = Napi::Persistent(BpfMap::Init(env));
  data->ringCtor = Napi::Persistent(InitRingBuffer(env));
  env.SetInstanceData<AddonData>(data);
  exports.Set("BpfObject", BpfObject::Init(env));
  exports.Set("BpfLink", data->linkCtor.Value());
  exports.Set("BpfMap", data->mapCtor.Value());
  exports.Set("RingBuffer", data->ringCtor.Value());
  InitElf(env, exports);
  InitSystem(env, exports);
  InitBtf(env, exports);
  return exports;
}

}  // namespace at

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return at::InitAddon(env, exports); }

NODE_API_MODULE(autotracing, Init)
