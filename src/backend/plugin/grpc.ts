// gRPC service definitions for @grpc/grpc-js built from our embedded .proto texts with protobufjs
// (no proto files on disk, no code generation step). The same definitions serve the plugin (server)
// and the test host (client).
import * as protobuf from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';
import { ALL_PROTOS } from './protos';

let cachedRoot: protobuf.Root | undefined;

/** The protobufjs root holding every message and service we speak. */
export function protocolRoot(): protobuf.Root {
  if (!cachedRoot) {
    const root = new protobuf.Root();
    for (const text of ALL_PROTOS) protobuf.parse(text, root, { keepCase: true });
    root.resolveAll();
    cachedRoot = root;
  }
  return cachedRoot;
}

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: Number,
  defaults: true,
  arrays: true,
  objects: true,
};

function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** Encoder and decoder of one message type, as plain objects. */
export function codec<T>(fullName: string): { encode(v: T): Buffer; decode(b: Buffer): T } {
  const type = protocolRoot().lookupType(fullName);
  return {
    encode(v: T): Buffer {
      const msg = type.fromObject(v as unknown as Record<string, unknown>);
      return toBuffer(type.encode(msg).finish());
    },
    decode(b: Buffer): T {
      return type.toObject(type.decode(b), TO_OBJECT) as T;
    },
  };
}

/** A grpc-js ServiceDefinition for `package.Service`, with plain-object (de)serialisers. */
export function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  const service = protocolRoot().lookupService(fullName);
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const req = codec<unknown>(method.resolvedRequestType!.fullName.replace(/^\./, ''));
    const res = codec<unknown>(method.resolvedResponseType!.fullName.replace(/^\./, ''));
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: req.encode,
      requestDeserialize: req.decode,
      responseSerialize: res.encode,
      responseDeserialize: res.decode,
      originalName: method.name,
    };
  }
  return def as grpc.ServiceDefinition;
}

export const SERVICES = {
  health: 'grpc.health.v1.Health',
  controller: 'plugin.GRPCController',
  stdio: 'plugin.GRPCStdio',
  data: 'pluginv2.Data',
  diagnostics: 'pluginv2.Diagnostics',
  resource: 'pluginv2.Resource',
} as const;
