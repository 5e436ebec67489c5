// Container identity without any runtime: cgroup path → ContainerRef, pid → container, host listing,
// and optional enrichment from the Docker socket and the kubelet.
export * from './identify';
export * from './forPid';
export * from './list';
export * from './docker';
export * from './kubelet';
export * from './enrich';
export { getJson, TtlCache } from './http';
