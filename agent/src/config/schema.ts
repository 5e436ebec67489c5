// The config schema (DESIGN.md "Config": key names are a contract). TypeBox gives both the static
// types the rest of the agent imports and the metadata (defaults, ranges, units, descriptions) the
// validator in validate.ts walks. Durations are stored in milliseconds, sizes in bytes, rates in
// bytes per second; in the YAML file they are written with units (`10s`, `1GiB`, `2000MiB/s`).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { TracerType } from '../events/event';
import { parseDuration, parseRate, parseSize } from './units';

/** Extra schema annotations understood by the validator. */
export type ValueUnit = 'duration' | 'size' | 'rate' | 'listen' | 'regex' | 'glob' | 'path' | 'token' | 'host';
export const UNIT = 'x-unit';

interface RangeOpts {
  min?: string;
  max?: string;
  description: string;
}

function Duration(def: string, o: RangeOpts) {
  return Type.Integer({
    [UNIT]: 'duration',
    default: parseDuration(def),
    minimum: o.min === undefined ? 0 : parseDuration(o.min),
    ...(o.max === undefined ? {} : { maximum: parseDuration(o.max) }),
    description: o.description,
  });
}

function Size(def: string, o: RangeOpts) {
  return Type.Integer({
    [UNIT]: 'size',
    default: parseSize(def),
    minimum: o.min === undefined ? 0 : parseSize(o.min),
    ...(o.max === undefined ? {} : { maximum: parseSize(o.max) }),
    description: o.description,
  });
}

function Rate(def: string, description: string) {
  return Type.Integer({ [UNIT]: 'rate', default: parseRate(def), minimum: 0, description });
}

function Percent(def: number, description: string) {
  return Type.Number({ default: def, minimum: 0, maximum: 100, description });
}

function Count(def: number, min: number, max: number, description: string) {
  return Type.Integer({ default: def, minimum: min, maximum: max, description });
}

const NullablePath = (description: string) =>
  Type.Union([Type.String({ [UNIT]: 'path', minLength: 1 }), Type.Null()], { default: null, description });

/** Keys every tracer has. `cooldown` is per container for the container-scoped tracers (cpuidle, dload). */
function commonKeys(d: { holdSamples: number; cooldown: string; duration: string; baselineWindow?: string }) {
  return {
    enabled: Type.Boolean({ default: true, description: 'run this tracer' }),
    interval: Duration('1s', { min: '100ms', max: '1h', description: 'sampling interval of the detector' }),
    cooldown: Duration(d.cooldown, {
      max: '30d',
      description: 'no new capture of this tracer (per container for cpuidle and dload) for this long after one',
    }),
    duration: Duration(d.duration, { min: '100ms', max: '5m', description: 'length of the capture window' }),
    holdSamples: Count(d.holdSamples, 1, 600, 'consecutive samples a spike must hold before it triggers'),
    baselineWindow: Duration(d.baselineWindow ?? '60s', {
      min: '1s',
      max: '1d',
      description: 'how far back the baseline (recent normal level) looks',
    }),
  };
}

const KnownIssueSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, description: 'label put on the event' }),
    regex: Type.String({
      [UNIT]: 'regex',
      minLength: 1,
      description: 'JavaScript regular expression over the kernel stacks',
    }),
  },
  { additionalProperties: false }
);
export type KnownIssue = Static<typeof KnownIssueSchema>;

/** Illustrative defaults; a `knownIssues` list in the config file replaces the whole list. */
export const DEFAULT_KNOWN_ISSUES: KnownIssue[] = [
  // wait_for_vfork_done is inlined into kernel_clone on many builds: then the vfork wait is a stack
  // whose innermost frame (after the scheduler's) is kernel_clone under a vfork/clone syscall
  { name: 'vfork-wait', regex: 'wait_for_vfork_done|_sys_(vfork|clone3?);kernel_clone$' },
  { name: 'nfs-wait', regex: '\\bnfs_|rpc_wait_bit_killable|__rpc_execute' },
  { name: 'jbd2-journal', regex: 'jbd2_log_wait_commit|jbd2__journal_start|wait_transaction_locked' },
  { name: 'mmap-lock', regex: 'rwsem_down_(read|write)_slowpath|mmap_read_lock|lock_mm_and_find_vma' },
  { name: 'memcg-reclaim', regex: 'try_to_free_mem_cgroup_pages|mem_cgroup_handle_over_high' },
  { name: 'page-writeback', regex: 'balance_dirty_pages|folio_wait_writeback|wait_on_page_writeback' },
];

export const CpusysSchema = Type.Object(
  {
    ...commonKeys({ holdSamples: 3, cooldown: '30m', duration: '10s' }),
    sysThreshold: Percent(45, 'host sys% (of all CPUs) that must be exceeded'),
    sysDeltaThreshold: Percent(20, 'and by this many points above the baseline'),
    frequency: Count(99, 1, 1000, 'profiler sampling frequency in Hz'),
  },
  { additionalProperties: false }
);

export const CpuidleSchema = Type.Object(
  {
    ...commonKeys({ holdSamples: 3, cooldown: '30m', duration: '10s' }),
    userThreshold: Percent(75, 'container user% of its CPU capacity'),
    userDeltaThreshold: Percent(45, 'and this many points above its baseline'),
    sysThreshold: Percent(45, 'container sys% of its CPU capacity'),
    sysDeltaThreshold: Percent(20, 'and this many points above its baseline'),
    totalThreshold: Percent(90, 'container total CPU% of its capacity'),
    totalDeltaThreshold: Percent(55, 'and this many points above its baseline'),
    frequency: Count(99, 1, 1000, 'profiler sampling frequency in Hz'),
  },
  { additionalProperties: false }
);

export const DloadSchema = Type.Object(
  {
    ...commonKeys({ holdSamples: 3, cooldown: '30m', duration: '10s' }),
    dloadThreshold: Type.Number({
      default: 5,
      minimum: 0,
      maximum: 1e6,
      description: 'D-state load average (container or host) that must be exceeded',
    }),
    dloadDeltaThreshold: Type.Number({
      default: 2,
      minimum: 0,
      maximum: 1e6,
      description: 'and by this much above the baseline (0: any amount)',
    }),
    dloadWindow: Duration('60s', {
      min: '1s',
      max: '1h',
      description:
        'time constant of the D-load average the thresholds apply to (60s: the kernel 1-minute load average, as Huatuo; shorter reacts sooner)',
    }),
    hostTasks: Count(
      20,
      0,
      10000,
      'D-state tasks from elsewhere on the host also reported by a capture (longest blocked first)'
    ),
    maxTasks: Count(
      500,
      1,
      100000,
      'D-state tasks of the scope listed by a capture (longest blocked first; stack groups count all)'
    ),
    knownIssues: Type.Array(KnownIssueSchema, {
      default: DEFAULT_KNOWN_ISSUES,
      maxItems: 256,
      description: 'first match over the captured stacks labels the event; replaces the built-in list',
    }),
  },
  { additionalProperties: false }
);

export const MemburstSchema = Type.Object(
  {
    ...commonKeys({ holdSamples: 2, cooldown: '30m', duration: '10s' }),
    growthWindow: Duration('10s', {
      min: '1s',
      max: '1h',
      description: 'short window over which anonymous-memory growth is measured',
    }),
    anonGrowthRate: Rate('100MiB/s', 'average growth of Active(anon)+Inactive(anon) over growthWindow (0: rule off)'),
    anonGrowthRatio: Type.Number({
      default: 2,
      minimum: 0,
      maximum: 1000,
      description: 'anon at least this many times its size at the start of growthWindow (0: rule off)',
    }),
    anonFloorPercent: Percent(70, 'the ratio rule also needs anon at or above this share of MemTotal (Huatuo: 70)'),
    psiSomeThreshold: Percent(40, 'PSI memory "some" avg10 in percent (0: rule off)'),
    psiFullThreshold: Percent(10, 'PSI memory "full" avg10 in percent (0: rule off)'),
    directReclaimThreshold: Type.Number({
      default: 5000,
      minimum: 0,
      description: 'pages scanned by direct reclaim per second, /proc/vmstat pgscan_direct (0: rule off)',
    }),
    allocStallThreshold: Type.Number({
      default: 5,
      minimum: 0,
      description: 'allocation stalls per second, /proc/vmstat allocstall_* (0: rule off)',
    }),
    topProcesses: Count(10, 1, 1000, 'processes reported in the capture (by growth)'),
    allocSamplePeriod: Size('1MiB', {
      min: '4KiB',
      max: '1GiB',
      description:
        'allocation flame graph: one sampled page allocation per this many bytes allocated (values scaled back up)',
    }),
  },
  { additionalProperties: false }
);

export const IotracingSchema = Type.Object(
  {
    ...commonKeys({ holdSamples: 2, cooldown: '5m', duration: '10s' }),
    utilThreshold: Percent(90, 'device utilisation (time busy) in percent'),
    awaitThreshold: Duration('100ms', { max: '1h', description: 'read or write await (average request latency)' }),
    nvmeReadThreshold: Rate('2000MiB/s', 'NVMe: utilisation counts only with reads above this'),
    nvmeWriteThreshold: Rate('1500MiB/s', 'NVMe: ... or writes above this'),
    stallThreshold: Duration('100ms', {
      min: '1ms',
      max: '1h',
      description: 'report tasks waiting in io_schedule longer than this',
    }),
    includeDevices: Type.Array(Type.String({ [UNIT]: 'glob' }), {
      default: [],
      maxItems: 256,
      description: 'device name globs to watch (empty: all)',
    }),
    excludeDevices: Type.Array(Type.String({ [UNIT]: 'glob' }), {
      default: ['ram*', 'zram*', 'sr*', 'fd*'],
      maxItems: 256,
      description: 'device name globs to ignore (wins over include)',
    }),
    topProcesses: Count(10, 1, 1000, 'processes reported in the capture'),
    topFiles: Count(5, 1, 1000, 'files reported per process'),
    utilDeltaThreshold: Percent(10, 'utilisation must also be this many points above its baseline (0: any amount)'),
    awaitDeltaThreshold: Duration('50ms', {
      max: '1h',
      description: 'await must also be this much above its baseline (0: any amount)',
    }),
    histogramBuckets: Type.Union([Type.Literal('log2'), Type.Literal('log2/2'), Type.Literal('log2/4')], {
      default: 'log2',
      description:
        'latency histogram buckets in the event: one per power of two, or 2 or 4 per power of two (the kernel keeps quarter octaves)',
    }),
    writebackAttribution: Type.Boolean({
      default: true,
      description:
        'charge writeback to the process that dirtied the file during the window (off: to the flusher, labelled writeback)',
    }),
    fsAccounting: Type.Boolean({
      default: true,
      description:
        'count filesystem-level bytes per process and file (page-cache reads, pages dirtied); costs a little per page',
    }),
  },
  { additionalProperties: false }
);

export const TracersSchema = Type.Object(
  {
    cpusys: CpusysSchema,
    cpuidle: CpuidleSchema,
    dload: DloadSchema,
    memburst: MemburstSchema,
    iotracing: IotracingSchema,
  },
  { additionalProperties: false }
);

const TokenList = (description: string) =>
  Type.Array(Type.String({ [UNIT]: 'token', minLength: 16, maxLength: 512 }), {
    default: [],
    maxItems: 1000,
    description,
  });

export const TokensSchema = Type.Object(
  {
    read: TokenList('bearer tokens allowed to read'),
    admin: TokenList('bearer tokens allowed to read and to change (captures, tracer settings)'),
  },
  { additionalProperties: false }
);
export type Tokens = Static<typeof TokensSchema>;

export const ApiSchema = Type.Object(
  {
    listen: Type.String({
      [UNIT]: 'listen',
      default: '127.0.0.1:19704',
      description: 'host:port or [v6]:port; port 0 picks a free port',
    }),
    tokens: TokensSchema,
    tokenFile: NullablePath('YAML file with {read: [...], admin: [...]}, read at (re)load; exclusive with api.tokens'),
    tls: Type.Object(
      {
        cert: NullablePath('PEM certificate chain; with key, serve HTTPS'),
        key: NullablePath('PEM private key'),
      },
      { additionalProperties: false }
    ),
    openHealth: Type.Boolean({ default: true, description: '/healthz and /readyz without a token' }),
    openMetrics: Type.Boolean({ default: true, description: '/metrics without a token' }),
    bodyLimit: Size('64KiB', { min: '1KiB', max: '64MiB', description: 'largest request body' }),
    maxPageSize: Count(1000, 1, 10000, 'largest `limit` of a list request'),
    defaultPageSize: Count(100, 1, 10000, '`limit` when the request gives none'),
    rateLimit: Type.Object(
      {
        max: Count(600, 0, 1_000_000, 'requests per client per window (0: no limit)'),
        window: Duration('1m', { min: '1s', max: '1d', description: 'rate-limit window' }),
      },
      { additionalProperties: false }
    ),
  },
  { additionalProperties: false }
);

export const StoreSchema = Type.Object(
  {
    retention: Duration('7d', { min: '1m', max: '3650d', description: 'delete events older than this' }),
    maxSize: Size('1GiB', {
      min: '1MiB',
      description: 'keep the database (with its WAL) under this; oldest events go first',
    }),
  },
  { additionalProperties: false }
);

export const CaptureSchema = Type.Object(
  {
    maxConcurrent: Count(2, 1, 64, 'captures running at once, all tracers together'),
    budgetPerHour: Duration('5m', {
      min: '1s',
      max: '1h',
      description: 'total capture time allowed in any rolling hour',
    }),
    lookback: Duration('10s', {
      max: '60s',
      description:
        'keep a host-wide on-CPU profile of this many seconds running, so cpusys/cpuidle captures also store the seconds before their trigger (0: off)',
    }),
  },
  { additionalProperties: false }
);

export const LogSchema = Type.Object(
  {
    level: Type.Union(
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info', description: 'pino log level' }
    ),
  },
  { additionalProperties: false }
);

export const ConfigSchema = Type.Object(
  {
    host: Type.String({
      [UNIT]: 'host',
      default: 'auto',
      description: 'host name events carry; "auto" = os.hostname()',
    }),
    dataDir: Type.String({
      [UNIT]: 'path',
      minLength: 1,
      default: './data',
      description: 'database directory; the default is relative to the working directory',
    }),
    log: LogSchema,
    api: ApiSchema,
    store: StoreSchema,
    capture: CaptureSchema,
    tracers: TracersSchema,
  },
  { additionalProperties: false }
);

export type AgentConfig = Static<typeof ConfigSchema>;
export type ApiConfig = Static<typeof ApiSchema>;
export type StoreConfig = Static<typeof StoreSchema>;
export type CaptureConfig = Static<typeof CaptureSchema>;
export type LogLevel = Static<typeof LogSchema>['level'];
export type TracersConfig = Static<typeof TracersSchema>;
export type CpusysConfig = Static<typeof CpusysSchema>;
export type CpuidleConfig = Static<typeof CpuidleSchema>;
export type DloadConfig = Static<typeof DloadSchema>;
export type MemburstConfig = Static<typeof MemburstSchema>;
export type IotracingConfig = Static<typeof IotracingSchema>;

export const TRACER_SCHEMAS = {
  cpusys: CpusysSchema,
  cpuidle: CpuidleSchema,
  dload: DloadSchema,
  memburst: MemburstSchema,
  iotracing: IotracingSchema,
} as const satisfies Record<TracerType, TSchema>;

/** Keys every tracer has; every other key of a tracer is one of its thresholds or capture settings. */
export const COMMON_TRACER_KEYS = [
  'enabled',
  'interval',
  'cooldown',
  'duration',
  'holdSamples',
  'baselineWindow',
] as const;
