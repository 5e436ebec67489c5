// `api.listen`: "host:port", "[v6addr]:port". Without tokens only a loopback address is allowed
// (DESIGN.md), so this also decides what "loopback" means: 127.0.0.0/8, ::1, ::ffff:127.x.y.z and
// the name "localhost". Any other name could resolve anywhere, so it counts as wide.
import { isIP } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(s: string): ListenAddress | { error: string } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]\s]*)):(\d{1,5})$/.exec(s.trim());
  if (!m) return { error: 'expected host:port (e.g. 127.0.0.1:19704, [::1]:19704, 0.0.0.0:19704)' };
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port > 65535) return { error: 'port must be between 0 and 65535' };
  if (host === '') return { error: 'the host part is empty; write 0.0.0.0:PORT to listen on every interface' };
  if (m[1] !== undefined && isIP(host) !== 6) return { error: 'not an IPv6 address inside [ ]' };
  if (m[2] !== undefined && /^[0-9.]+$/.test(host) && isIP(host) !== 4) return { error: 'not an IPv4 address' };
  if (m[2] !== undefined && !/^[A-Za-z0-9.-]+$/.test(host)) return { error: 'not a valid host name' };
  return { host, port };
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === 'localhost.' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h) ?? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped) return mapped[1]!.startsWith('127.');
    // ::1 spelled out, e.g. 0:0:0:0:0:0:0:1
    return /^(?:0{1,4}:){7}0{0,3}1$/.test(h);
  }
  return false;
}
