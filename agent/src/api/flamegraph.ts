// Flame graphs over HTTP: pick the stored profile of an event, decode it (profiles/codec) and render it
// as nested-set rows (JSON), folded text, gzipped pprof or a self-contained SVG; and merge the
// profiles of many events into one for range queries.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AutotracingEvent, FlamegraphRef } from '../events/event';
import { decode } from '../profiles/codec';
import { toFolded } from '../profiles/folded';
import { Profile } from '../profiles/model';
import { toNestedFlamegraph } from '../profiles/nested';
import { toPprof } from '../profiles/pprof';
import { toSvg } from '../profiles/svg';
import type { Store } from '../store';
import { notFound } from './errors';
import type { MergeInfo } from './schemas';

export type FlamegraphFormat = 'nested' | 'folded' | 'pprof' | 'svg';

export interface Rendered {
  contentType: string;
  body: string | Buffer | object;
  headers: Record<string, string>;
}

/** The flame graphs an event lists in data.flamegraphs (FlamegraphRef[]), tolerating junk. */
export function flamegraphRefs(e: AutotracingEvent): FlamegraphRef[] {
  const refs = e.data.flamegraphs;
  if (!Array.isArray(refs)) return [];
  return refs.filter(
    (r): r is FlamegraphRef => typeof r === 'object' && r !== null && typeof (r as FlamegraphRef).name === 'string'
  );
}

/** The profile name to serve: the one asked for, else the first flame graph of the event, else the first stored profile. */
export function chooseEventProfile(store: Store, e: AutotracingEvent, wanted: string | undefined): string {
  if (wanted !== undefined) return wanted;
  const first = flamegraphRefs(e)[0]?.name ?? store.listProfiles(e.id)[0]?.name;
  if (first === undefined) {
    throw notFound(
      e.status === 'capturing'
        ? `event ${e.id} is still capturing; its flame graph is stored when the capture ends`
        : `event ${e.id} has no flame graph`
    );
  }
  return first;
}

/** Loads and decodes one stored profile; 404 when the event has no profile of that name. */
export function loadProfile(store: Store, e: AutotracingEvent, name: string): Profile {
  const blob = store.getProfile(e.id, name);
  if (blob === null) {
    const names = store.listProfiles(e.id).map((p) => p.name);
    throw notFound(`event ${e.id} has no profile "${name}"${names.length ? ` (it has: ${names.join(', ')})` : ''}`);
  }
  return decode(blob);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** "cpusys on node-1 at 2024-05-01T10:00:00Z: sys 62% > 45% …" — what the SVG title says. */
export function eventTitle(e: AutotracingEvent, profileName: string): string {
  const where = e.container ? ` in ${e.container.name ?? e.container.id.slice(0, 12)}` : '';
  return `${e.type}${where} on ${e.host} at ${iso(e.time)} (${profileName}): ${e.trigger.reason}`;
}

export function render(
  profile: Profile,
  format: FlamegraphFormat,
  o: { name: string; title: string; fileBase: string; comments?: string[] }
): Rendered {
  switch (format) {
    case 'nested':
      return { contentType: 'application/json; charset=utf-8', body: toNestedFlamegraph(profile, o.name), headers: {} };
    case 'folded':
      return { contentType: 'text/plain; charset=utf-8', body: toFolded(profile), headers: {} };
    case 'pprof':
      return {
        contentType: 'application/octet-stream',
        body: toPprof(profile, { comments: o.comments ?? [o.title] }),
        headers: { 'content-disposition': `attachment; filename="${o.fileBase}.pb.gz"` },
      };
    case 'svg':
      return {
        contentType: 'image/svg+xml; charset=utf-8',
        body: toSvg(profile, { title: o.title }),
        headers: { 'content-disposition': `inline; filename="${o.fileBase}.svg"` },
      };
  }
}

export interface MergeResult {
  profile: Profile;
  info: MergeInfo;
}

/**
 * Merges the flame graphs of the events (newest first) into one: the profile `wanted`, else "cpu" when
 * any event has it, else the most common name. Profiles in another unit than the first one merged (or,
 * for samples, another sampling period) are skipped and counted. At most `limit` are merged.
 */
export async function mergeProfiles(
  store: Store,
  events: readonly AutotracingEvent[],
  wanted: string | undefined,
  limit: number,
  moreMatched: boolean
): Promise<MergeResult> {
  let name: string | null = wanted ?? null;
  if (name === null) {
    const counts = new Map<string, number>();
    for (const e of events) for (const r of flamegraphRefs(e)) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
    if (counts.has('cpu')) name = 'cpu';
    else name = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? null;
  }
  const withIt = name === null ? [] : events.filter((e) => flamegraphRefs(e).some((r) => r.name === name));
  const chosen = withIt.slice(0, limit);
  let merged: Profile | null = null;
  let skipped = 0;
  const ids: string[] = [];
  for (let i = 0; i < chosen.length; i++) {
    const e = chosen[i]!;
    const blob = store.getProfile(e.id, name!);
    let p: Profile;
    try {
      if (blob === null) throw new Error('missing');
      p = decode(blob);
    } catch {
      skipped++;
      continue;
    }
    if (merged === null) merged = Profile.like(p);
    try {
      merged.merge(p);
      ids.push(e.id);
    } catch {
      skipped++; // another unit or sampling period
    }
    // decoding hundreds of large profiles must not starve the other requests
    if (i % 8 === 7) await yieldToLoop();
  }
  return {
    profile: merged ?? new Profile({ unit: 'samples' }),
    info: {
      profile: name,
      events: ids.length,
      matched: withIt.length,
      skipped,
      truncated: withIt.length > chosen.length || moreMatched,
      eventIds: ids,
    },
  };
}
