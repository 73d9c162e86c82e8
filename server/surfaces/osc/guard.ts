// Who may play over OSC, and how fast: a source allowlist of IPs/CIDRs (loopback always allowed)
// and a token bucket per source address, and a log that a flood cannot flood.
import { BlockList, isIP } from 'node:net';
import type { Logger } from 'pino';

/** '::ffff:10.0.0.1' -> '10.0.0.1'; zone ids dropped. */
export function normalizeIp(ip: string): string {
  const bare = ip.split('%')[0];
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  return m ? m[1] : bare;
}

export function isLoopbackIp(ip: string): boolean {
  const a = normalizeIp(ip);
  return a === '::1' || a.startsWith('127.');
}

export class Allowlist {
  private list = new BlockList();
  readonly entries: string[];

  /** Entries: "10.0.0.5", "192.168.1.0/24", "fd00::/8". Throws naming the bad entry. */
  constructor(entries: string[] = []) {
    this.entries = entries.map((e) => e.trim()).filter(Boolean);
    for (const entry of this.entries) {
      const [addr, bits, ...rest] = entry.split('/');
      const family = isIP(addr);
      if (!family || rest.length) throw new Error(`bad OSC allow entry "${entry}": expected an IP address or CIDR like 192.168.1.0/24`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) {
        this.list.addAddress(addr, type);
        continue;
      }
      const prefix = Number(bits);
      const max = family === 4 ? 32 : 128;
      if (!/^\d+$/.test(bits) || prefix > max) throw new Error(`bad OSC allow entry "${entry}": prefix must be 0-${max}`);
      this.list.addSubnet(addr, prefix, type);
    }
  }

  allows(ip: string): boolean {
    const a = normalizeIp(ip);
    if (isLoopbackIp(a)) return true;
    const family = isIP(a);
    if (!family) return false;
    return this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** Classic token bucket: `burst` tokens, refilled at `rate` per second. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    private now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(n = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** True when the bucket has refilled completely (the source has been quiet). */
  get idle(): boolean {
    return this.tokens + ((this.now() - this.last) / 1000) * this.rate >= this.burst;
  }
}

/** One bucket per key (source IP), forgetting idle ones so a flood of sources cannot grow it. */
export class RateLimiter {
  private buckets = new Map<string, TokenBucket>();

  constructor(
    readonly rate: number,
    readonly burst: number,
    private now: () => number = () => performance.now(),
    private maxKeys = 4096,
  ) {}

  take(key: string, n = 1): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.sweep();
      if (this.buckets.size >= this.maxKeys) return false;
      b = new TokenBucket(this.rate, this.burst, this.now);
      this.buckets.set(key, b);
    }
    return b.take(n);
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(): void {
    for (const [k, b] of this.buckets) if (b.idle) this.buckets.delete(k);
  }
}

/** Log at most once per 5 s per kind, saying how many were suppressed. */
export function limitedLog(log: Logger) {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return (kind: string, obj: object, msg: string) => {
    const now = Date.now();
    const e = seen.get(kind);
    if (e && now - e.at < 5000) {
      e.suppressed++;
      return;
    }
    log.warn({ ...obj, suppressed: e?.suppressed ?? 0 }, msg);
    if (seen.size >= 1024) seen.clear(); // many sources: forget, never grow without bound
    seen.set(kind, { at: now, suppressed: 0 });
  };
}
