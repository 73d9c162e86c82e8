// nginx with the RTMP module (Debian: nginx-light + libnginx-mod-rtmp), for the streaming tests.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';
export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
/** Why an nginx-rtmp test skips, or false when it can run. */
export const nginxSkip: string | false = !NGINX || !existsSync(RTMP_MODULE) ? 'nginx with libnginx-mod-rtmp is not installed' : false;

/** A TCP port on loopback that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start nginx-rtmp (no daemon, no master) listening on 127.0.0.1:`port` with one `live`
 * application; resolves once the port is taken. Kill it by the child's pid.
 */
export async function startNginxRtmp(dir: string, port: number): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `load_module ${RTMP_MODULE};\ndaemon off;\nmaster_process off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/nginx-error.log warn;\n` +
      `events { worker_connections 64; }\nrtmp { server { listen 127.0.0.1:${port}; application live { live on; record off; } } }\n`,
  );
  const nginx = spawn(NGINX!, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  nginx.stderr!.on('data', (d) => (err += d));
  const end = Date.now() + 10_000;
  while (Date.now() < end && nginx.exitCode === null) {
    const taken = await new Promise<boolean>((resolve) => {
      const sock = createServer().listen(port, '127.0.0.1');
      sock.once('error', () => resolve(true));
      sock.once('listening', () => sock.close(() => resolve(false)));
    });
    if (taken) return nginx;
    await new Promise((r) => setTimeout(r, 50));
  }
  nginx.kill('SIGKILL');
  throw new Error(`nginx did not start listening on ${port}: ${err}`);
}
