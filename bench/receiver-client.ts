/** The bench side of the receiver child process: starts it and calls it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Lookup, ReceiverCommand, ReceiverReply, ReceiverStats, ServerSpec } from './receiver-protocol.js';

type Pending = { resolve: (reply: ReceiverReply) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };
type Command = ReceiverCommand extends infer C ? (C extends { seq: number } ? Omit<C, 'seq'> : never) : never;

export class ReceiverClient {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  private constructor(readonly child: ChildProcess) {
    child.on('message', (reply: ReceiverReply) => {
      const p = this.pending.get(reply.seq);
      if (!p) return;
      this.pending.delete(reply.seq);
      clearTimeout(p.timer);
      if (reply.error) p.reject(new Error(`receiver: ${reply.error}`));
      else p.resolve(reply);
    });
    child.on('exit', () => {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error('receiver exited'));
      }
      this.pending.clear();
    });
  }

  static start(): ReceiverClient {
    const child = fork(path.join(import.meta.dirname, 'receiver.js'), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new ReceiverClient(child);
  }

  private call(command: Command, timeoutMs = 30_000): Promise<ReceiverReply> {
    const seq = ++this.seq;
    return new Promise<ReceiverReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`receiver did not answer ${command.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { resolve, reject, timer });
      this.child.send({ ...command, seq } as ReceiverCommand);
    });
  }

  /** Starts one server per spec on 127.0.0.1; answers their base URLs. */
  async listen(specs: ServerSpec[]): Promise<string[]> {
    const reply = await this.call({ cmd: 'listen', specs });
    return reply.ports!.map((port) => `http://127.0.0.1:${port}`);
  }

  async stats(): Promise<ReceiverStats> {
    return (await this.call({ cmd: 'stats' })).stats!;
  }

  async lookup(ids: string[]): Promise<Lookup> {
    return (await this.call({ cmd: 'lookup', ids }, 120_000)).lookup!;
  }

  async reset(): Promise<void> {
    await this.call({ cmd: 'reset' });
  }

  async closeServers(): Promise<void> {
    await this.call({ cmd: 'close' });
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.call({ cmd: 'exit' }, 10_000).catch(() => this.child.kill('SIGKILL'));
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
