/** A server-sent-events client for tests: a real HTTP connection, its messages and comments as they arrive. */
import { request } from 'undici';

export interface SseMessage {
  event: string;
  id: string | null;
  data: string;
}

export interface SseClient {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  messages: SseMessage[];
  comments: string[];
  /** Resolves once `count` messages arrived (rejects after timeoutMs). */
  waitForMessages(count: number, timeoutMs?: number): Promise<SseMessage[]>;
  waitForComment(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends or cuts the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function connectSse(url: string, token: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const response = await request(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  let buffer = '';
  let current: { event: string; id: string | null; data: string[] } = { event: 'message', id: null, data: [] };
  const ended = new Promise<void>((resolve) => {
    response.body.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          if (current.data.length > 0) messages.push({ event: current.event, id: current.id, data: current.data.join('\n') });
          current = { event: 'message', id: null, data: [] };
        } else if (line.startsWith(':')) comments.push(line.slice(1).trim());
        else {
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') current.event = value;
          else if (field === 'id') current.id = value;
          else if (field === 'data') current.data.push(value);
        }
      }
      notify();
    });
    response.body.on('end', () => resolve());
    response.body.on('error', () => resolve());
    response.body.on('close', () => resolve());
  });
  void ended.then(notify);
  let done = false;
  void ended.then(() => (done = true));
  const waitUntil = (check: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const listener = () => {
        if (check()) {
          clearTimeout(timer);
          listeners.delete(listener);
          resolve();
        } else if (done) {
          clearTimeout(timer);
          listeners.delete(listener);
          reject(new Error(`the stream ended before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`${what} did not arrive in ${timeoutMs} ms (${messages.length} messages, comments ${JSON.stringify(comments)})`));
      }, timeoutMs);
      listeners.add(listener);
      listener();
    });
  return {
    status: response.statusCode,
    headers: response.headers,
    messages,
    comments,
    async waitForMessages(count, timeoutMs = 10_000) {
      await waitUntil(() => messages.length >= count, `${count} message(s)`, timeoutMs);
      return messages;
    },
    waitForComment: (text, timeoutMs = 10_000) => waitUntil(() => comments.includes(text), `the comment "${text}"`, timeoutMs),
    ended,
    close: () => controller.abort(),
  };
}
