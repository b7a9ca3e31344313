/**
 * Fault switches for tests (`leader ehr --faults`, `POST /ehr/faults`): counters used up by the
 * next event deliveries (backport event-notifications and classic POST/PUTs; handshakes and
 * heartbeats are never altered, so a heartbeat cannot use up a counter), and by the next FHIR
 * requests for `fhirErrors`.
 */
export interface FaultState {
  /** Deliver the next N event notifications twice. */
  duplicate: number;
  /** Hold the next N event notifications, each until the following one of its Subscription was sent (or its next heartbeat was due). */
  reorder: number;
  /** Skip the next N event notifications (the events stay in `$events`). */
  drop: number;
  /** The next N event notifications carry wrong `channel.header` values and a wrong `X-Signature`. */
  wrongSecret: number;
  /** The FHIR API answers `status` to the next `count` requests (of `methods`, or any method). */
  fhirErrors: { count: number; status: number; methods?: string[] };
}

const COUNTERS = ['duplicate', 'reorder', 'drop', 'wrongSecret'] as const;
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

export class FaultSwitches {
  private state: FaultState = empty();

  snapshot(): FaultState {
    return { ...this.state, fhirErrors: { ...this.state.fhirErrors } };
  }

  reset(): void {
    this.state = empty();
  }

  /** Sets the counters named in `body` (others keep their value); a problem is thrown as a readable Error. */
  set(body: unknown): FaultState {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('expected a JSON object such as {"duplicate": 1}');
    const input = body as Record<string, unknown>;
    const next = this.snapshot();
    for (const key of Object.keys(input)) {
      if (!(COUNTERS as readonly string[]).includes(key) && key !== 'fhirErrors') throw new Error(`${key}: unknown fault (expected ${[...COUNTERS, 'fhirErrors'].join(', ')})`);
    }
    for (const key of COUNTERS) if (key in input) next[key] = count(input[key], key);
    if ('fhirErrors' in input) {
      const f = input.fhirErrors as Record<string, unknown> | null;
      if (f === null || typeof f !== 'object' || Array.isArray(f)) throw new Error('fhirErrors: expected {"count": N, "status": 503, "methods": ["POST"]}');
      const status = f.status ?? 503;
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) throw new Error(`fhirErrors.status ${String(status)}: expected an HTTP error status 400-599`);
      let methods: string[] | undefined;
      if (f.methods !== undefined) {
        if (!Array.isArray(f.methods) || f.methods.some((m) => typeof m !== 'string' || !METHODS.has(m.toUpperCase()))) throw new Error('fhirErrors.methods: expected HTTP methods such as ["POST", "GET"]');
        methods = (f.methods as string[]).map((m) => m.toUpperCase());
      }
      next.fhirErrors = { count: count(f.count, 'fhirErrors.count'), status, ...(methods ? { methods } : {}) };
    }
    this.state = next;
    return this.snapshot();
  }

  /** Uses up one of `counter` if any is left. */
  take(counter: (typeof COUNTERS)[number]): boolean {
    if (this.state[counter] <= 0) return false;
    this.state[counter]--;
    return true;
  }

  /** The status to answer this FHIR request with instead of handling it, if a fhirErrors counter applies. */
  fhirError(method: string): number | undefined {
    const f = this.state.fhirErrors;
    if (f.count <= 0 || (f.methods && !f.methods.includes(method.toUpperCase()))) return undefined;
    f.count--;
    return f.status;
  }
}

function empty(): FaultState {
  return { duplicate: 0, reorder: 0, drop: 0, wrongSecret: 0, fhirErrors: { count: 0, status: 503 } };
}

function count(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1_000_000) throw new Error(`${name} ${String(value)}: expected a whole number 0-1000000`);
  return value;
}
