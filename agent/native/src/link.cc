// BpfLink: one attachment (or a group: one perf event per CPU). destroy() detaches now; the object's
// close() does the same for every link it created.
#include <bpf/libbpf.h>
#include <unistd.h>

#include "common.h"

namespace at {

void LinkState::Close() {
  for (bpf_link *l : links) bpf_link__destroy(l);
  links.clear();
  for (int fd : fds) close(fd);
  fds.clear();
}

Napi::Function BpfLink::Init(Napi::Env env) {
  return DefineClass(env, "BpfLink",
                     {
                         InstanceMethod("destroy", &BpfLink::Destroy),
                         InstanceAccessor("count", &BpfLink::Count, nullptr),
                         InstanceAccessor("destroyed", &BpfLink::Destroyed, nullptr),
                     });
}

Napi::Object BpfLink::New(Napi::Env env, std::shared_ptr<LinkState> state) {
  AddonData *data = env.GetInstanceData<AddonData>();
  Napi::Object o = data->linkCtor.New({});
  BpfLink::Unwrap(o)->state = std::move(state);
  return o;
}

BpfLink::BpfLink(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BpfLink>(info) {}

Napi::Value BpfLink::Destroy(const Napi::CallbackInfo &info) {
  if (state) state->Close();
  return info.Env().Undefined();
}

Napi::Value BpfLink::Count(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), state ? (double)state->links.size() : 0);
}

Napi::Value BpfLink::Destroyed(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), !state || state->links.empty());
}

}  // namespace at
