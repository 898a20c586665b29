/** The browser's EventSource as a test drives it: numbers-api's events arrive when the test sends them. */
export class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];

  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private readonly listeners = new Map<string, ((message: MessageEvent<string>) => void)[]>();

  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }

  addEventListener(type: string, listener: (message: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.readyState = FakeEventSource.CLOSED;
  }

  /** Deliver one CloudEvent under its subject, as `GET /events` writes it. */
  send(subject: string, event: { id: string; type: string; subject: string; data: unknown }): void {
    const message = new MessageEvent<string>(subject, { data: JSON.stringify(event) });
    for (const listener of this.listeners.get(subject) ?? []) listener(message);
  }
}
