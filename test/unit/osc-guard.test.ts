import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Allowlist, TokenBucket, RateLimiter, normalizeIp, isLoopbackIp } from '../../server/surfaces/osc/guard.ts';

describe('OSC allowlist', () => {
  test('CIDRs and single addresses, IPv4 and IPv6', () => {
    const a = new Allowlist(['192.168.1.0/24', '10.0.0.5', 'fd00::/8', '2001:db8::1']);
    assert.ok(a.allows('192.168.1.1'));
    assert.ok(a.allows('192.168.1.255'));
    assert.ok(!a.allows('192.168.2.1'));
    assert.ok(a.allows('10.0.0.5'));
    assert.ok(!a.allows('10.0.0.6'));
    assert.ok(a.allows('fd12:3456::1'));
    assert.ok(!a.allows('fe80::1'));
    assert.ok(a.allows('2001:db8::1'));
    assert.ok(!a.allows('2001:db8::2'));
  });

  test('IPv4-mapped IPv6 sources match IPv4 entries', () => {
    assert.equal(normalizeIp('::ffff:192.168.1.7'), '192.168.1.7');
    assert.ok(new Allowlist(['192.168.1.0/24']).allows('::ffff:192.168.1.7'));
  });

  test('loopback is always allowed, everything else only when listed', () => {
    const empty = new Allowlist();
    assert.ok(empty.allows('127.0.0.1'));
    assert.ok(empty.allows('127.5.6.7'));
    assert.ok(empty.allows('::1'));
    assert.ok(empty.allows('::ffff:127.0.0.1'));
    assert.ok(!empty.allows('192.168.1.1'));
    assert.ok(!empty.allows('not an ip'));
    assert.ok(isLoopbackIp('127.0.0.1') && !isLoopbackIp('128.0.0.1'));
  });

  test('/0 allows everyone of that family', () => {
    const a = new Allowlist(['0.0.0.0/0']);
    assert.ok(a.allows('8.8.8.8'));
    assert.ok(!a.allows('2001:db8::1'));
  });

  test('bad entries are rejected, naming the entry', () => {
    assert.throws(() => new Allowlist(['192.168.1.0/33']), /"192\.168\.1\.0\/33".*0-32/);
    assert.throws(() => new Allowlist(['fd00::/129']), /"fd00::\/129".*0-128/);
    assert.throws(() => new Allowlist(['myhost']), /"myhost".*IP address or CIDR/);
    assert.throws(() => new Allowlist(['10.0.0.0/8/1']), /"10\.0\.0\.0\/8\/1"/);
    assert.throws(() => new Allowlist(['10.0.0.0/x']), /"10\.0\.0\.0\/x"/);
  });
});

describe('token bucket', () => {
  test('allows a burst, then refills at the rate', () => {
    let now = 0;
    const b = new TokenBucket(100, 10, () => now);
    for (let i = 0; i < 10; i++) assert.ok(b.take(), `burst ${i}`);
    assert.ok(!b.take(), 'empty after the burst');
    now += 50; // 5 tokens
    let n = 0;
    while (b.take()) n++;
    assert.equal(n, 5);
    now += 10_000;
    n = 0;
    while (b.take()) n++;
    assert.equal(n, 10, 'never holds more than the burst');
    assert.ok(!b.idle);
    now += 100;
    assert.ok(b.idle);
  });

  test('one bucket per source; idle sources are forgotten when the table fills', () => {
    let now = 0;
    const r = new RateLimiter(10, 2, () => now, 3);
    assert.ok(r.take('a') && r.take('a'));
    assert.ok(!r.take('a'), 'a is limited');
    assert.ok(r.take('b'), 'b has its own bucket');
    assert.ok(r.take('c'));
    assert.equal(r.size, 3);
    assert.ok(!r.take('d'), 'table full of busy sources: new sources wait');
    now += 1000; // all refilled: idle
    assert.ok(r.take('d'));
    assert.equal(r.size, 1);
  });
});
