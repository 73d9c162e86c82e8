// Shared helpers for the benchmarks: percentiles, a server child process, model choice.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { DEFAULT_MODEL, ROOT } from '../../server/server.ts';
import { readManifest } from '../../server/model/manifest.ts';

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** $BENCH_MODEL, else the default model when it is installed, else a fixture of the same size. */
export async function benchModel(): Promise<{ dir: string; name: string }> {
  const chosen = process.env.BENCH_MODEL;
  if (chosen) return { dir: chosen, name: (await readManifest(chosen)).id };
  try {
    const m = await readManifest(DEFAULT_MODEL);
    return { dir: DEFAULT_MODEL, name: m.id };
  } catch {
    // not installed (or incomplete): fall back to a fixture
  }
  const dir = writeFixtureModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-bench-')), 'fixture'));
  return { dir, name: 'fixture (default model not installed)' };
}

export interface ServerChild {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Run `latentstage serve` in a child process (so its CPU and memory are its own); `root` runs
 * another checkout (e.g. an earlier commit, for before/after ratios in one run).
 */
export async function serveChild(args: string[], root = ROOT): Promise<ServerChild> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server/cli.ts'), 'serve', '--port', '0', ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/control page\s+(http:\/\/\S+?)\/\s/);
      if (m) resolve(m[1]);
    });
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  proc.stdout!.resume();
  return {
    url,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/**
 * Several Prometheus sample values from one /metrics scrape (first match each; NaN when absent).
 * Names are regex source. One scrape matters: a scrape resets the event-loop delay window.
 */
export async function metrics(url: string, names: string[]): Promise<number[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return names.map((name) => {
    const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm'));
    return m ? Number(m[1]) : Number.NaN;
  });
}

/** Read one Prometheus sample value by name (first match). */
export async function metric(url: string, name: string): Promise<number> {
  return (await metrics(url, [name]))[0]!;
}
