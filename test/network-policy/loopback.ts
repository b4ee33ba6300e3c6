import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A loopback HTTP receiver that counts TCP connections (accepted sockets, not requests). */
export type CountingReceiver = {
  readonly host: string;
  readonly port: number;
  readonly connections: () => number;
  /** Bytes of the first packet of each connection (for TLS ClientHello inspection). */
  readonly firstBytes: Buffer[];
  close(): Promise<void>;
};

function listen(server: Server, host: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function track(server: Server, host: string, port: number, firstBytes: Buffer[]): CountingReceiver {
  let connections = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    host,
    port,
    connections: () => connections,
    firstBytes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * HTTP receiver answering 200 "ok" on `host` (a loopback address) and `port` (0: any free port),
 * or null if it cannot bind there.
 */
export async function startHttpReceiver(host: string, port = 0): Promise<CountingReceiver | null> {
  const server = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  try {
    const bound = await listen(server, host, port);
    return track(server, host, bound, []);
  } catch {
    return null;
  }
}

/** Raw TCP receiver that records the first chunk of each connection and then hangs up. */
export async function startRawReceiver(host: string): Promise<CountingReceiver> {
  const firstBytes: Buffer[] = [];
  const server = createTcpServer((socket) => {
    socket.once('data', (chunk: Buffer) => {
      firstBytes.push(chunk);
      socket.destroy();
    });
  });
  const port = await listen(server, host);
  return track(server, host, port, firstBytes);
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.') || ip.startsWith('::ffff:7f');
}

/**
 * Safety net for the tests, independent of the code under test: every plain-TCP connection
 * attempt made by this process is inspected just before its connect(2) (Node's
 * `connectionAttempt` event), and one aimed anywhere but loopback throws there, so no packet
 * leaves the machine even if the policy under test is broken (the throw surfaces as an unhandled
 * error, which fails the run). Node publishes no such channel for `tls.connect`, so TLS tests must
 * only ever be given loopback answers. Returns the violations seen and a function to remove it.
 */
export function guardLoopbackOnly(): { violations: string[]; remove: () => void } {
  const violations: string[] = [];
  const onSocket = (message: unknown): void => {
    const { socket } = message as { socket: Socket };
    socket.on('connectionAttempt', (ip: string, port: number) => {
      if (isLoopback(ip)) return;
      violations.push(`${ip}:${port}`);
      const error = new Error(`test tried to connect to non-loopback ${ip}:${port}`);
      socket.destroy(error); // fails the request now instead of leaving it hanging
      throw error; // and aborts this attempt before connect(2) (Node emits the event just before it)
    });
  };
  subscribe('net.client.socket', onSocket);
  return { violations, remove: () => unsubscribe('net.client.socket', onSocket) };
}
