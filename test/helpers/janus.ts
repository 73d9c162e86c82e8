// Janus (Debian package `janus`) started from the repo's config (server/record/janus/), on free
// ports, for the WebRTC tests and bench. Its PID is kept and only that process is ever killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './nginx.ts';

export const JANUS = ['/usr/bin/janus', '/usr/local/bin/janus'].find((p) => existsSync(p));
export const JANUS_CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'server', 'record', 'janus');
/** Why a Janus test skips, or false when it can run. */
export const janusSkip: string | false = JANUS ? false : 'janus is not installed (Debian package janus)';

export interface RunningJanus {
  /** The HTTP API viewers use, e.g. http://127.0.0.1:PORT/janus */
  api: string;
  /** Where the mountpoint takes RTP: stream.start {url: rtpUrl}. */
  rtpUrl: string;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

/** Replace `key = <number>` in one jcfg file of the copied config. */
function setPort(dir: string, file: string, key: string, port: number): void {
  const p = path.join(dir, file);
  const text = readFileSync(p, 'utf8');
  const re = new RegExp(`(\\b${key}\\s*=\\s*)\\d+`);
  if (!re.test(text)) throw new Error(`${file} has no ${key} = ... line`);
  writeFileSync(p, text.replace(re, `$1${port}`));
}

export async function startJanus(): Promise<RunningJanus> {
  if (!JANUS) throw new Error(String(janusSkip));
  const dir = mkdtempSync(path.join(tmpdir(), 'latentstage-janus-'));
  cpSync(JANUS_CONFIG, dir, { recursive: true });
  const httpPort = await freePort();
  const rtpPort = await freePort(); // a TCP port free a moment ago: UDP of the same number almost always is
  setPort(dir, 'janus.transport.http.jcfg', 'port', httpPort);
  setPort(dir, 'janus.plugin.streaming.jcfg', 'port', rtpPort);
  // the config names Debian's amd64 library folder; use this machine's
  const lib = ['/usr/lib/x86_64-linux-gnu/janus', '/usr/lib/aarch64-linux-gnu/janus', '/usr/lib/janus'].find((p) => existsSync(path.join(p, 'plugins')));
  if (lib) {
    const core = path.join(dir, 'janus.jcfg');
    writeFileSync(core, readFileSync(core, 'utf8').replaceAll('/usr/lib/x86_64-linux-gnu/janus', lib));
  }
  let out = '';
  const proc: ChildProcess = spawn(JANUS, ['-F', dir, '-C', path.join(dir, 'janus.jcfg'), '-o', '-d', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (out = (out + d).slice(-20000)));
  proc.stderr!.on('data', (d) => (out = (out + d).slice(-20000)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const api = `http://127.0.0.1:${httpPort}/janus`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + 15000;
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`janus exited at start-up: ${out.trim().split('\n').slice(-5).join(' | ')}`);
    }
    try {
      const res = await fetch(api, { method: 'POST', body: JSON.stringify({ janus: 'info', transaction: 'ready' }) });
      if (res.ok && out.includes('Streaming plugin initialized')) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) {
      await stop();
      throw new Error(`janus did not answer at ${api} within 15 s: ${out.trim().split('\n').slice(-5).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { api, rtpUrl: `webrtc://127.0.0.1:${rtpPort}`, pid: proc.pid!, log: () => out, stop };
}
