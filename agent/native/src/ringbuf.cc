// RingBuffer: a BPF ring buffer whose epoll fd is watched by libuv, so records reach JS on the event
// loop without a polling thread and without blocking. Records of one wake-up arrive as one array.
#include <bpf/libbpf.h>
#include <uv.h>

#include <cerrno>

#include "common.h"

namespace at {

namespace {

struct RingState : Closeable {
  napi_env env = nullptr;
  ring_buffer *rb = nullptr;
  uv_poll_t *poll = nullptr;
  Napi::FunctionReference callback;
  Napi::ObjectReference self;  // keeps the JS wrapper alive while the ring is open
  std::vector<std::string> pending;
  uint64_t delivered = 0;

  static int OnRecord(void *ctx, void *data, size_t size) {
    static_cast<RingState *>(ctx)->pending.emplace_back(static_cast<const char *>(data), size);
    return 0;
  }

  // Runs on the JS thread (libuv callback or an explicit consume()).
  int Drain(bool fromLoop) {
    if (!rb) return 0;
    pending.clear();
    int n = ring_buffer__consume(rb);
    if (n < 0 || pending.empty()) return n < 0 ? n : 0;
    Napi::Env e(env);
    Napi::HandleScope scope(e);
    Napi::Array arr = Napi::Array::New(e, pending.size());
    for (size_t i = 0; i < pending.size(); i++)
      arr.Set(i, Napi::Buffer<uint8_t>::Copy(e, reinterpret_cast<const uint8_t *>(pending[i].data()), pending[i].size()));
    delivered += pending.size();
    pending.clear();
    if (fromLoop) {
      try {
        callback.MakeCallback(e.Global(), {arr});
      } catch (const Napi::Error &err) {
        napi_fatal_exception(env, err.Value());  // surfaces as process 'uncaughtException'
      }
    } else {
      callback.Call({arr});
    }
    return (int)arr.Length();
  }

  static void OnPoll(uv_poll_t *handle, int status, int events) {
    auto *s = static_cast<RingState *>(handle->data);
    if (s) s->Drain(true);
  }

  void Close() override {
    if (poll) {
      uv_poll_stop(poll);
      poll->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t *>(poll), [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
      poll = nullptr;
    }
    if (rb) {
      ring_buffer__free(rb);
      rb = nullptr;
    }
    if (!callback.IsEmpty()) callback.Reset();
    if (!self.IsEmpty()) self.Reset();
  }
  ~RingState() override { Close(); }
};

class RingBuffer : public Napi::ObjectWrap<RingBuffer> {
 public:
  explicit RingBuffer(const Napi::CallbackInfo &info) : Napi::ObjectWrap<RingBuffer>(info) {}
  std::shared_ptr<RingState> state;
  std::shared_ptr<ObjectState> owner;

  Napi::Value Close(const Napi::CallbackInfo &info) {
    if (state) state->Close();
    return info.Env().Undefined();
  }
  Napi::Value Consume(const Napi::CallbackInfo &info) {
    if (!state || !state->rb) throw Napi::Error::New(info.Env(), "ring buffer is closed");
    return Napi::Number::New(info.Env(), state->Drain(false));
  }
  Napi::Value Delivered(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), state ? (double)state->delivered : 0);
  }
  Napi::Value Closed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), !state || !state->rb); }
};

}  // namespace

Napi::Function InitRingBuffer(Napi::Env env) {
  return RingBuffer::DefineClass(env, "RingBuffer",
                                 {
                                     RingBuffer::InstanceMethod("close", &RingBuffer::Close),
                                     RingBuffer::InstanceMethod("consume", &RingBuffer::Consume),
                                     RingBuffer::InstanceAccessor("delivered", &RingBuffer::Delivered, nullptr),
                                     RingBuffer::InstanceAccessor("closed", &RingBuffer::Closed, nullptr),
                                 });
}

Napi::Object NewRingBuffer(Napi::Env env, std::shared_ptr<ObjectState> owner, bpf_map *map, Napi::Function callback) {
  AddonData *data = env.GetInstanceData<AddonData>();
  auto st = std::make_shared<RingState>();
  st->env = env;
  ClearLibbpfLog();
  st->rb = ring_buffer__new(bpf_map__fd(map), &RingState::OnRecord, st.get(), nullptr);
  if (!st->rb) Throw(env, std::string("open ring buffer ") + bpf_map__name(map), errno);
  uv_loop_t *loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) {
    st->Close();
    throw Napi::Error::New(env, "no libuv loop for this environment");
  }
  st->poll = new uv_poll_t;
  int rc = uv_poll_init(loop, st->poll, ring_buffer__epoll_fd(st->rb));
  if (rc != 0) {
    delete st->poll;
    st->poll = nullptr;
    st->Close();
    Throw(env, std::string("watch ring buffer: ") + uv_strerror(rc), -rc);
  }
  st->poll->data = st.get();
  uv_poll_start(st->poll, UV_READABLE, &RingState::OnPoll);
  st->callback = Napi::Persistent(callback);

  Napi::Object o = data->ringCtor.New({});
  RingBuffer *w = RingBuffer::Unwrap(o);
  w->state = st;
  w->owner = owner;
  st->self = Napi::Persistent(o);
  owner->Register(st);
  return o;
}

}  // namespace at
