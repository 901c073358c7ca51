// A free TCP port on 127.0.0.1, found by letting the OS pick one.

import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyPort();
    // Never hand out the standard ports: a system server may be about to bind them.
    if (port !== 0 && port !== 5432 && port !== 3306) return port;
  }
}

function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
