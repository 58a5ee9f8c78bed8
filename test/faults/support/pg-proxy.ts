// A TCP proxy between worker processes and a PostgreSQL server, run by the test (node:net), for network faults:
//
//   forward     bytes pass both ways unchanged (the default)
//   black-hole  nothing passes either way, but no connection is closed: what arrives is held, as the network holds
//               unacknowledged segments, and delivered in order when the partition heals (connections opened meanwhile
//               wait too). From the worker's side the server is silent; from the server's, the client is.
//   lost reply  it reads just enough of PostgreSQL's protocol to see which named prepared statement a client executes
//               (`pg` names them, e.g. `transact_record_step@dbos`, in Parse and Bind messages): asked to, it lets the
//               server execute and commit the Nth execution of one of the given statements, then closes the client's
//               connection before the reply reaches it. The server did the work; the client never hears.
//
// The protocol, as far as it is read here: every message but the first of a connection is a type byte and an int32
// length (which counts itself, not the type); the first (startup) message has no type byte, and so has the one after
// an SSLRequest or GSSENCRequest, which the server answers with a single byte. Bind is `B`, portal name, statement
// name (NUL-terminated strings), ...; ReadyForQuery is `Z` with one status byte: `I` idle (the statement's implicit
// transaction, or the transaction it ended, has committed), `T` in a transaction, `E` in a failed one. A statement
// executed inside an explicit transaction is let through until the transaction ends, and the reply to that end is the
// one lost.

import net from 'node:net';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/** Splits one direction of a connection into messages without copying their bodies (except those asked for). */
class Framer {
  private header = Buffer.alloc(0);
  private remaining = 0;
  private type = 0;
  private body: Buffer[] | undefined;
  /** Bytes consumed since the start of the stream. */
  offset = 0;
  /** Raw bytes to skip before the next message (the server's one-byte answer to an SSLRequest). */
  raw = 0;

  constructor(
    /** Untyped messages expected next (the startup packet). */
    public untyped: boolean,
    private readonly wants: (type: number) => boolean,
    /** Called at the end of each message with its type (0 if untyped), body if wanted, and the stream offset after it. */
    private readonly onMessage: (type: number, body: Buffer | undefined, end: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.raw > 0) {
        const take = Math.min(this.raw, chunk.length - at);
        this.raw -= take;
        at += take;
        this.offset += take;
        continue;
      }
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        this.body?.push(chunk.subarray(at, at + take));
        this.remaining -= take;
        at += take;
        this.offset += take;
        if (this.remaining === 0) this.finish();
        continue;
      }
      const headerLength = this.untyped ? 4 : 5;
      const take = Math.min(headerLength - this.header.length, chunk.length - at);
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + take)]);
      at += take;
      this.offset += take;
      if (this.header.length < headerLength) continue;
      this.type = this.untyped ? 0 : this.header[0]!;
      this.remaining = this.header.readInt32BE(this.untyped ? 0 : 1) - 4;
      this.header = Buffer.alloc(0);
      this.body = this.wants(this.type) ? [] : undefined;
      if (this.remaining <= 0) {
        this.remaining = 0;
        this.finish();
      }
    }
  }

  private finish(): void {
    const body = this.body ? Buffer.concat(this.body) : undefined;
    this.body = undefined;
    this.onMessage(this.type, body, this.offset);
  }
}

/** A NUL-terminated string at `at`, and the offset after it. */
function cstring(buffer: Buffer, at: number): [string, number] {
  const end = buffer.indexOf(0, at);
  const stop = end < 0 ? buffer.length : end;
  return [buffer.toString('utf8', at, stop), stop + 1];
}

export interface LostReply {
  statement: string;
  /** Which execution of the statements asked for it was (1-based, over all connections of this proxy). */
  nth: number;
  /** When the client's Bind of it was seen, and when the connection was closed without the reply. */
  boundAtMs: number;
  cutAtMs: number;
  /** The transaction state the server reported in the withheld ReadyForQuery (`I`: committed). */
  status: string;
  /** The statement's parameters as bound (text format; null for NULL or a binary one). */
  params: (string | null)[];
  /** The rows of the reply the client never got (text columns). */
  rows: (string | null)[][];
}

export interface LoseReplyOptions {
  /** Which qualifying execution's reply to lose, counted from the arming (default 1). */
  nth?: number;
  /**
   * Whether an execution qualifies, judged once it has committed, from its reply's rows: one that does not is let
   * through as usual and not counted (e.g. a claim that took nothing). Default: every execution qualifies.
   */
  when?: (rows: (string | null)[][], params: (string | null)[]) => boolean;
}

interface Arming {
  statements: ReadonlySet<string>;
  nth: number;
  seen: number;
  when: (rows: (string | null)[][], params: (string | null)[]) => boolean;
  resolve: (lost: LostReply) => void;
}

/** Bind: portal, statement, parameter format codes, then the parameters (int32 length, -1 for NULL, and bytes). */
function bindParams(body: Buffer, at: number): (string | null)[] {
  const formats: number[] = [];
  const nFormats = body.readInt16BE(at);
  at += 2;
  for (let i = 0; i < nFormats; i++, at += 2) formats.push(body.readInt16BE(at));
  const n = body.readInt16BE(at);
  at += 2;
  const params: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    const length = body.readInt32BE(at);
    at += 4;
    const format = nFormats === 0 ? 0 : nFormats === 1 ? formats[0] : formats[i];
    params.push(length < 0 || format !== 0 ? null : body.toString('utf8', at, at + length));
    if (length > 0) at += length;
  }
  return params;
}

/** DataRow: int16 column count, then each column (int32 length, -1 for NULL, and bytes). */
function dataRow(body: Buffer): (string | null)[] {
  const n = body.readInt16BE(0);
  let at = 2;
  const columns: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    const length = body.readInt32BE(at);
    at += 4;
    columns.push(length < 0 ? null : body.toString('utf8', at, at + length));
    if (length > 0) at += length;
  }
  return columns;
}

class Pipe {
  /** Set once this connection's reply is to be lost: the server→client bytes are held from then on. */
  private dropping?: { statement: string; params: (string | null)[]; boundAtMs: number; rows: (string | null)[][] };
  private held: Buffer[] = [];
  /** The server→client stream offset where `held` starts. */
  private heldFrom = 0;
  private readonly toServer: Framer;
  private readonly toClient: Framer;
  private readonly waitingUp: Buffer[] = [];
  private readonly waitingDown: Buffer[] = [];
  private closed = false;

  constructor(
    private readonly proxy: PgProxy,
    private readonly client: net.Socket,
    private readonly server: net.Socket,
  ) {
    this.toServer = new Framer(true, (t) => t === 0 || t === 0x42 /* B */, (type, body) => this.fromClient(type, body));
    this.toClient = new Framer(
      false,
      (t) => t === 0x5a /* Z: ReadyForQuery */ || (t === 0x44 /* D: DataRow */ && this.dropping !== undefined),
      (type, body, end) => this.fromServer(type, body, end),
    );
    client.on('data', (chunk: Buffer) => this.up(chunk));
    server.on('data', (chunk: Buffer) => this.down(chunk));
    const close = () => this.close();
    client.on('error', close);
    server.on('error', close);
    client.on('close', close);
    server.on('close', close);
  }

  private up(chunk: Buffer): void {
    if (this.proxy.blackholed) {
      this.waitingUp.push(chunk);
      return;
    }
    this.toServer.push(chunk); // may arm this connection before the statement reaches the server
    this.server.write(chunk);
  }

  private down(chunk: Buffer): void {
    if (this.proxy.blackholed) {
      this.waitingDown.push(chunk);
      return;
    }
    if (!this.dropping) {
      this.toClient.push(chunk);
      this.client.write(chunk);
      return;
    }
    if (this.held.length === 0) this.heldFrom = this.toClient.offset;
    this.held.push(chunk);
    this.toClient.push(chunk);
  }

  /** The partition healed: what was held goes through, in order. */
  heal(): void {
    for (const chunk of this.waitingUp.splice(0)) this.up(chunk);
    for (const chunk of this.waitingDown.splice(0)) this.down(chunk);
  }

  private fromClient(type: number, body: Buffer | undefined): void {
    if (!body) return; // not a message this proxy reads
    if (type === 0) {
      const code = body.length >= 4 ? body.readInt32BE(0) : 0;
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        this.toServer.untyped = true; // the real startup packet follows
        this.toClient.raw += 1; // after the server's one-byte answer
      } else {
        this.toServer.untyped = false;
      }
      return;
    }
    // Bind: portal name, then the prepared statement's name, then its parameters.
    const [, next] = cstring(body, 0);
    const [statement, after] = cstring(body, next);
    if (this.proxy.executed(statement) && !this.dropping) {
      // Held from here until the execution has committed; then lost, or (not the one) let through.
      this.dropping = { statement, params: bindParams(body, after), boundAtMs: Date.now(), rows: [] };
    }
  }

  private fromServer(type: number, body: Buffer | undefined, end: number): void {
    if (!this.dropping || !body) return;
    if (type === 0x44) {
      this.dropping.rows.push(dataRow(body));
      return;
    }
    const status = String.fromCharCode(body[0]!);
    if (status !== 'I') {
      // Inside an explicit transaction: let this reply through; the transaction's end is the reply to lose.
      this.release(end);
      return;
    }
    const { statement, params, boundAtMs, rows } = this.dropping;
    const cut = this.proxy.committed(rows, params);
    if (!cut) {
      this.dropping = undefined;
      this.release(end);
      return;
    }
    this.held = [];
    this.client.destroy();
    this.server.destroy();
    cut.resolve({ statement, nth: cut.nth, boundAtMs, cutAtMs: Date.now(), status, params, rows });
  }

  /** Lets the held server→client bytes through up to stream offset `end`. */
  private release(end: number): void {
    const all = Buffer.concat(this.held);
    const upTo = end - this.heldFrom;
    this.client.write(all.subarray(0, upTo));
    this.held = upTo < all.length ? [all.subarray(upTo)] : [];
    this.heldFrom = end;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.server.destroy();
    this.proxy.forget(this);
  }
}

export class PgProxy {
  private readonly pipes = new Set<Pipe>();
  private arming?: Arming;
  private blackhole = false;
  /** Executions seen per statement name (Bind messages), over all connections. */
  readonly executions = new Map<string, number>();

  private constructor(
    private readonly listener: net.Server,
    private readonly upstream: { host: string; port: number },
  ) {}

  /** A proxy on an ephemeral port of 127.0.0.1 in front of `upstream` (host and port of a postgres:// URL). */
  static async start(upstreamUrl: string): Promise<PgProxy> {
    const u = new URL(upstreamUrl);
    const upstream = { host: u.hostname, port: Number(u.port || 5432) };
    let proxy!: PgProxy;
    const listener = net.createServer((client) => proxy.accept(client));
    proxy = new PgProxy(listener, upstream);
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.listener.address() as net.AddressInfo).port;
  }

  /** `url` (a postgres:// URL of the upstream server) with this proxy's address instead. */
  via(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  get blackholed(): boolean {
    return this.blackhole;
  }

  get connections(): number {
    return this.pipes.size;
  }

  private accept(client: net.Socket): void {
    client.setNoDelay(true);
    const server = net.connect(this.upstream.port, this.upstream.host);
    server.setNoDelay(true);
    this.pipes.add(new Pipe(this, client, server));
  }

  forget(pipe: Pipe): void {
    this.pipes.delete(pipe);
  }

  /** Stops forwarding in both directions, closing nothing; held bytes go through at heal(). */
  blackHole(): void {
    this.blackhole = true;
  }

  heal(): void {
    this.blackhole = false;
    for (const pipe of [...this.pipes]) pipe.heal();
  }

  /**
   * Arms the proxy: the `nth` qualifying execution (from now, over all connections) of any of `statements` (full
   * prepared statement names, e.g. `transact_claim@dbos`) is let through and committed, and its client connection is
   * closed before the reply. Resolves once that has happened. One at a time.
   */
  loseReply(statements: readonly string[], options: LoseReplyOptions = {}): Promise<LostReply> {
    if (this.arming) throw new Error('the proxy is already armed');
    return new Promise<LostReply>((resolve) => {
      this.arming = {
        statements: new Set(statements),
        nth: options.nth ?? 1,
        seen: 0,
        when: options.when ?? (() => true),
        resolve: (lost) => {
          this.arming = undefined;
          resolve(lost);
        },
      };
    });
  }

  /** Called for every Bind: counts it, and says whether it is one of the statements whose reply may be lost. */
  executed(statement: string): boolean {
    this.executions.set(statement, (this.executions.get(statement) ?? 0) + 1);
    return this.arming?.statements.has(statement) ?? false;
  }

  /** Called when a held execution has committed: whether its reply is the one to lose. */
  committed(rows: (string | null)[][], params: (string | null)[]): { nth: number; resolve: (lost: LostReply) => void } | undefined {
    const a = this.arming;
    if (!a || a.seen >= a.nth || !a.when(rows, params)) return undefined;
    a.seen++;
    return a.seen === a.nth ? { nth: a.seen, resolve: a.resolve } : undefined;
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    for (const pipe of [...this.pipes]) pipe.close();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }
}
