/**
 * Per-target tallies of `pinger probe` and how they print: sent, received, loss, and RTT min/avg/max/stddev in
 * milliseconds with three decimals (microsecond precision).
 */
import type { ProbeOutcome } from '../agent/probes/types.js';
import { kernelTimed } from '../contract/index.js';
import { formatTiming } from './commands/results.js';
import { EMPTY } from './format.js';

/** Tally of one target's outcomes. */
export class TargetStats {
  sent = 0;
  /** Probes that got any answer (reply, reset, ttl-exceeded, unreachable): loss counts only silence. */
  received = 0;
  /** Whether the target itself answered at least once (reply, reset, or its own port-unreachable). */
  answered = false;
  /** Answers whose RTT is not timed by the kernel on both ends (the stats' `processTimed`). */
  processTimed = 0;
  #n = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;
  #mean = 0;
  #m2 = 0;

  constructor(
    readonly label: string,
    readonly protocol: string,
  ) {}

  add(o: ProbeOutcome): void {
    this.sent++;
    if (o.status === 'timeout' || o.status === 'error') return;
    this.received++;
    if (
      o.status === 'reply' ||
      o.status === 'reset' ||
      (o.status === 'unreachable' && o.address === o.target)
    ) {
      this.answered = true;
    }
    if (o.rtt === null) return;
    if (!kernelTimed(o)) this.processTimed++;
    // Welford's running mean and variance: stable over millions of probes.
    this.#n++;
    const delta = o.rtt - this.#mean;
    this.#mean += delta / this.#n;
    this.#m2 += delta * (o.rtt - this.#mean);
    if (o.rtt < this.#min) this.#min = o.rtt;
    if (o.rtt > this.#max) this.#max = o.rtt;
  }

  /** Loss in percent of the probes sent. */
  get loss(): number {
    return this.sent === 0 ? 0 : (100 * (this.sent - this.received)) / this.sent;
  }

  /** RTT statistics in microseconds, or null without any answer. */
  rtt(): { min: number; avg: number; max: number; stddev: number } | null {
    if (this.#n === 0) return null;
    return { min: this.#min, avg: this.#mean, max: this.#max, stddev: Math.sqrt(this.#m2 / this.#n) };
  }

  /** Summary as text, ping style. */
  text(): string {
    const timed = this.processTimed > 0 ? `, ${this.processTimed} timed by the process` : '';
    const head = `--- ${this.label} ${this.protocol} ---\n${this.sent} sent, ${this.received} received, ${this.loss.toFixed(1)}% loss${timed}`;
    const r = this.rtt();
    if (!r) return `${head}\n`;
    const ms = (us: number) => (us / 1000).toFixed(3);
    return `${head}, rtt min/avg/max/stddev = ${ms(r.min)}/${ms(r.avg)}/${ms(r.max)}/${ms(r.stddev)} ms\n`;
  }

  /** Summary as one JSON object (microseconds). */
  json(): object {
    return {
      summary: {
        target: this.label,
        protocol: this.protocol,
        sent: this.sent,
        received: this.received,
        loss: this.loss,
        processTimed: this.processTimed,
        rtt: this.rtt(),
      },
    };
  }
}

/**
 * ` timed=process-send` (or `-receive`, or `process` for both ends) after an RTT not timed by the kernel on both
 * ends; nothing for a kernel-timed one, the usual case, so that ping-like lines stay as they are.
 */
function timedMark(o: ProbeOutcome): string {
  if (o.rtt === null || kernelTimed(o)) return '';
  const which = formatTiming(o.timing);
  return ` timed=${which === EMPTY ? 'process' : which.replace(' ', '-')}`;
}

/** One outcome as a line of text. */
export function outcomeLine(label: string, o: ProbeOutcome): string {
  const time = o.rtt === null ? '' : ` time=${(o.rtt / 1000).toFixed(3)} ms${timedMark(o)}`;
  const ttl = o.ttl === null ? '' : ` ttl=${o.ttl}`;
  const icmp = o.rtype === null ? '' : ` (type ${o.rtype} code ${o.rcode})`;
  const head = `${label} seq=${o.rseq}:`;
  switch (o.status) {
    case 'reply':
      return `${head} reply from ${o.address}${ttl}${time}${o.datamatch === false ? ' DATA MISMATCH' : ''}\n`;
    case 'reset':
      return `${head} reset (port closed) from ${o.address}${ttl}${time}\n`;
    case 'ttl-exceeded':
    case 'unreachable':
      return `${head} ${o.status} from ${o.address}${icmp}${time}\n`;
    case 'timeout':
      return `${head} timeout\n`;
    case 'error':
      return `${head} error: ${o.detail ?? 'send failed'}\n`;
  }
}
