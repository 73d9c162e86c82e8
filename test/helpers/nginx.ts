// nginx with the RTMP module (Debian: nginx-light + libnginx-mod-rtmp), for the streaming tests.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

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
