// The five tracers of an agent, built from the config and reconfigured in place on reload/PATCH.
import type { TracersConfig } from '../config';
import { TRACER_TYPES, type TracerType } from '../events/event';
import type { TracerState, TracerSupport } from '../api/schemas';
import type { Tracer, TracerEnv, CommonTracerConfig } from './tracer';
import { CpusysTracer } from './cpusys';
import { CpuidleTracer } from './cpuidle';
import { DloadTracer } from './dload';
import { MemburstTracer } from './memburst';
import { IotracingTracer } from './iotracing';

export class TracerRegistry {
  private readonly tracers = new Map<TracerType, Tracer<CommonTracerConfig>>();

  constructor(config: TracersConfig, env: TracerEnv) {
    // Each tracer is typed by its own config; the registry only hands each one its own section back.
    const add = <C extends CommonTracerConfig>(type: TracerType, t: Tracer<C>) =>
      this.tracers.set(type, t as unknown as Tracer<CommonTracerConfig>);
    add('cpusys', new CpusysTracer(config.cpusys, env));
    add('cpuidle', new CpuidleTracer(config.cpuidle, env));
    add('dload', new DloadTracer(config.dload, env));
    add('memburst', new MemburstTracer(config.memburst, env));
    add('iotracing', new IotracingTracer(config.iotracing, env));
  }

  /** What each tracer can do on this kernel (from the capability probes). */
  setSupport(support: Record<TracerType, TracerSupport>): void {
    for (const t of TRACER_TYPES) this.tracers.get(t)!.setSupport(support[t]);
  }

  get(type: TracerType): Tracer<CommonTracerConfig> {
    return this.tracers.get(type)!;
  }

  startAll(): void {
    for (const t of this.tracers.values()) t.start();
  }

  stopAll(): void {
    for (const t of this.tracers.values()) t.stop();
  }

  reconfigure(config: TracersConfig): void {
    for (const type of TRACER_TYPES) {
      const t = this.tracers.get(type)!;
      t.configure(config[type]);
      if (config[type].enabled) t.start();
      else t.stop();
    }
  }

  states(): TracerState[] {
    return TRACER_TYPES.map((t) => this.tracers.get(t)!.state());
  }
}
